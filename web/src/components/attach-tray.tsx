import { useRef, useState } from 'preact/hooks';
import type { Attachment } from '../../../src/client/index.js';
import { formatBytes } from '../attachment-files.js';
import type { ChatModel } from '../chat-model.js';
import { Icon } from './icon.js';

/** One file on its way: its progress, then its record, or why it failed. */
export interface Upload {
  readonly key: number;
  readonly name: string;
  readonly size: number;
  readonly progress: number;
  readonly attachment?: Attachment;
  readonly error?: string;
}

/** The composer's uploads: the files added, and how to add and remove them. */
export interface UploadsState {
  readonly uploads: readonly Upload[];
  readonly add: (files: Iterable<File>) => void;
  readonly remove: (key: number) => void;
  readonly clear: () => void;
  /** True while a file is still on its way. */
  readonly busy: boolean;
}

let nextKey = 1;

/** The uploads of one composer (issue 16): each file starts uploading as soon as it is added. */
export function useUploads(model: ChatModel, channelId: string): UploadsState {
  const [uploads, setUploads] = useState<readonly Upload[]>([]);
  const update = (key: number, patch: Partial<Upload>) =>
    setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...patch } : u)));
  const add = (files: Iterable<File>) => {
    for (const file of files) {
      const key = nextKey++;
      setUploads((list) => [
        ...list,
        { key, name: file.name || 'pasted image', size: file.size, progress: 0 },
      ]);
      model.files
        .upload(channelId, file, (progress) => update(key, { progress }))
        .then(
          (attachment) => update(key, { attachment, progress: 1 }),
          (err: unknown) => update(key, { error: (err as Error).message || 'upload failed' }),
        );
    }
  };
  return {
    uploads,
    add,
    remove: (key) => setUploads((list) => list.filter((u) => u.key !== key)),
    clear: () => setUploads([]),
    busy: uploads.some((u) => u.attachment === undefined && u.error === undefined),
  };
}

/** The attach button (a file picker) of the composer. */
export function AttachButton({ state }: { state: UploadsState }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        class="icon attach"
        aria-label="Attach files"
        title="Attach files"
        onClick={() => input.current?.click()}
      >
        <Icon name="attach" />
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="attach-input"
        onChange={(e) => {
          const files = e.currentTarget.files;
          if (files !== null) state.add(Array.from(files));
          e.currentTarget.value = '';
        }}
      />
    </>
  );
}

/** The files added to the composer, with their progress or error, each removable. */
export function UploadList({ state }: { state: UploadsState }) {
  if (state.uploads.length === 0) return null;
  return (
    <ul class="uploads" aria-label="Files to send">
      {state.uploads.map((u) => (
        <li key={u.key} class={u.error !== undefined ? 'upload failed' : 'upload'}>
          <span class="file-name">{u.name}</span> <span class="file-size">{formatBytes(u.size)}</span>{' '}
          {u.error !== undefined ? (
            <span class="error">{u.error}</span>
          ) : u.attachment === undefined ? (
            <progress max={1} value={u.progress} aria-label={`Uploading ${u.name}`} />
          ) : (
            <span class="ready">ready</span>
          )}
          <button
            type="button"
            class="icon"
            aria-label={`Remove ${u.name}`}
            onClick={() => state.remove(u.key)}
          >
            <Icon name="close" />
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Drag-and-drop and paste handlers that add the files they carry to `state`. */
export function fileDropHandlers(state: UploadsState) {
  return {
    onDragOver: (e: DragEvent) => {
      if (e.dataTransfer?.types.includes('Files') === true) e.preventDefault();
    },
    onDrop: (e: DragEvent) => {
      const files = e.dataTransfer?.files;
      if (files === undefined || files.length === 0) return;
      e.preventDefault();
      state.add(Array.from(files));
    },
    onPaste: (e: ClipboardEvent) => {
      const files = e.clipboardData?.files;
      if (files === undefined || files.length === 0) return;
      e.preventDefault();
      state.add(Array.from(files));
    },
  };
}
