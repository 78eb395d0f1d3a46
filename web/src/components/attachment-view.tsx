import { useEffect, useState } from 'preact/hooks';
import type { Attachment } from '../../../src/client/index.js';
import { formatBytes } from '../attachment-files.js';
import type { ChatModel } from '../chat-model.js';
import { Icon } from './icon.js';

/**
 * A message's attachments (issue 16): images as previews (their thumbnail) that open a
 * lightbox, every other file as a card with its name and size that downloads it. URLs carry the
 * channel's download ticket, so `<img>` and links work without a header.
 */
export function AttachmentView({
  model,
  channelId,
  attachments,
}: {
  model: ChatModel;
  channelId: string;
  attachments: readonly Attachment[];
}) {
  const [open, setOpen] = useState<Attachment | undefined>(undefined);
  return (
    <div class="attachments">
      {attachments.map((a) =>
        a.thumbnail_url !== undefined ? (
          <button
            type="button"
            key={a.id}
            class="attachment-image"
            aria-label={`Open ${a.name}`}
            onClick={() => setOpen(a)}
          >
            <SignedImage model={model} channelId={channelId} path={a.thumbnail_url} alt={a.name} />
          </button>
        ) : (
          <FileCard key={a.id} model={model} channelId={channelId} attachment={a} />
        ),
      )}
      {open !== undefined && (
        <div
          class="lightbox"
          role="dialog"
          aria-modal="true"
          aria-label={open.name}
          onClick={() => setOpen(undefined)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(undefined);
          }}
        >
          <SignedImage model={model} channelId={channelId} path={open.url} alt={open.name} />
          <button type="button" class="icon close" aria-label="Close" onClick={() => setOpen(undefined)}>
            <Icon name="close" />
          </button>
        </div>
      )}
    </div>
  );
}

function useSigned(model: ChatModel, channelId: string, path: string): string | undefined {
  const [src, setSrc] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    model.files.signed(channelId, path).then(
      (url) => live && setSrc(url),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [model, channelId, path]);
  return src;
}

function SignedImage({
  model,
  channelId,
  path,
  alt,
}: {
  model: ChatModel;
  channelId: string;
  path: string;
  alt: string;
}) {
  const src = useSigned(model, channelId, path);
  return src === undefined ? (
    <span class="image-loading">{alt}</span>
  ) : (
    <img src={src} alt={alt} loading="lazy" />
  );
}

function FileCard({
  model,
  channelId,
  attachment,
}: {
  model: ChatModel;
  channelId: string;
  attachment: Attachment;
}) {
  const href = useSigned(model, channelId, attachment.url);
  return (
    <a class="file-card" href={href} download={attachment.name} rel="noopener">
      <span class="file-name">{attachment.name}</span>
      <span class="file-size">{formatBytes(attachment.size)}</span>
    </a>
  );
}
