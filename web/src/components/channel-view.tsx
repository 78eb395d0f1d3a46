import { useEffect, useRef, useState } from 'preact/hooks';
import type { Message, UserInfo } from '../../../src/client/index.js';
import type { ChannelState, ChatModel } from '../chat-model.js';
import { AttachButton, fileDropHandlers, UploadList, useUploads } from './attach-tray.js';
import { Icon } from './icon.js';
import { LengthCounter, overLimit } from './length-counter.js';
import { MembersPanel } from './members-panel.js';
import { MessageList } from './message-list.js';
import { NotificationsControl } from './notifications-control.js';

/** The open channel: header, messages, typing line and composer. */
export function ChannelView({
  model,
  state,
  onMenu,
  compact,
}: {
  model: ChatModel;
  state: ChannelState;
  onMenu: (() => void) | undefined;
  compact: boolean;
}) {
  const [replyTo, setReplyTo] = useState<Message | undefined>(undefined);
  const [showMembers, setShowMembers] = useState(false);
  const s = state.summary;
  const isMember = s.role !== null;
  const canPost = isMember && s.role !== 'readonly' && !s.archived;
  const canModerate = s.role === 'owner' || s.role === 'admin';
  const isPrivate = s.kind === 'private';
  const title = s.kind === 'dm' ? s.title : `${isPrivate ? '' : '#'}${s.title || s.id}`;

  return (
    <section class="channel" aria-label={isPrivate ? `${title} (private)` : title}>
      <header class="channel-header">
        {onMenu !== undefined && (
          <button type="button" class="icon menu" aria-label="Show channels" onClick={onMenu}>
            <Icon name="menu" />
          </button>
        )}
        <div class="titles">
          <h1>
            {isPrivate && (
              <span class="private-mark" title="Private channel">
                <Icon name="lock" /> <span class="sr-only">Private:</span>{' '}
              </span>
            )}
            {title}
          </h1>
          {s.topic !== '' && <p class="topic">{s.topic}</p>}
        </div>
        <NotificationsControl api={model.api} channel={s.id} />
        <PresenceButton
          known={state.presenceKnown && model.connection === 'open'}
          count={state.onlineCount}
          expanded={showMembers}
          onClick={() => setShowMembers(!showMembers)}
        />
      </header>
      <div class="channel-main">
        <div class="channel-column">
          <MessageList
            key={s.id}
            model={model}
            state={state}
            canPost={canPost}
            canModerate={canModerate}
            onReply={setReplyTo}
          />
          <TypingLine users={state.typing} />
          {canPost ? (
            <Composer
              key={s.id}
              model={model}
              channelId={s.id}
              title={title}
              replyTo={replyTo}
              onCancelReply={() => setReplyTo(undefined)}
            />
          ) : !isMember && s.kind === 'public' ? (
            <div class="composer-note">
              You are looking at #{s.title || s.id}.{' '}
              <button type="button" class="primary" onClick={() => void model.join(s.id)}>
                Join channel
              </button>
            </div>
          ) : (
            <div class="composer-note">
              {s.archived
                ? 'This channel is archived: it keeps its history and takes no new messages.'
                : 'You can read this channel but not post in it.'}
            </div>
          )}
        </div>
        {showMembers && !compact && (
          <MembersPanel model={model} state={state} onClose={() => setShowMembers(false)} />
        )}
      </div>
      {showMembers && compact && (
        <MembersPanel model={model} state={state} onClose={() => setShowMembers(false)} />
      )}
    </section>
  );
}

/** How many are online, or that it is unknown (disconnected, or not yet told); opens the members. */
function PresenceButton({
  known,
  count,
  expanded,
  onClick,
}: {
  known: boolean;
  count: number;
  expanded: boolean;
  onClick: () => void;
}) {
  return (
    <button
      type="button"
      class={`presence-button${known ? '' : ' unknown'}`}
      aria-expanded={expanded}
      aria-label={
        known ? `${count} online; show members` : 'Who is online is unknown (offline); show members'
      }
      title={known ? undefined : 'Offline: who is online is not known'}
      onClick={onClick}
    >
      <span class={`dot${known ? ' online' : ''}`} aria-hidden="true" /> {known ? count : '?'}
    </button>
  );
}

function TypingLine({ users }: { users: readonly UserInfo[] }) {
  const names = users.map((u) => u.username);
  const text =
    names.length === 0
      ? ''
      : names.length === 1
        ? `${names[0]} is typing…`
        : names.length === 2
          ? `${names[0]} and ${names[1]} are typing…`
          : 'Several people are typing…';
  return (
    <div class="typing" aria-live="polite">
      {text}
    </div>
  );
}

function Composer({
  model,
  channelId,
  title,
  replyTo,
  onCancelReply,
}: {
  model: ChatModel;
  channelId: string;
  title: string;
  replyTo: Message | undefined;
  onCancelReply: () => void;
}) {
  const [text, setText] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (replyTo !== undefined) ref.current?.focus();
  }, [replyTo]);
  // A text the server refused for its length comes back here, to shorten.
  const given = model.takeDraft(channelId);
  useEffect(() => {
    if (given === undefined) return;
    setText((now) => (now.trim() === '' ? given : `${given}\n${now}`));
    ref.current?.focus();
  }, [given]);
  const tooLong = overLimit(text, model.maxMessageChars);

  const files = useUploads(model, channelId);
  const ready = files.uploads.flatMap((u) => (u.attachment === undefined ? [] : [u.attachment]));
  const send = () => {
    if (files.busy) return;
    // A message of files alone says their names.
    const value = text.trim() === '' ? ready.map((a) => a.name).join(', ') : text.trim();
    // Over the limit the text stays here to edit: the server would refuse it.
    if (value === '' || tooLong) return;
    model.send(
      channelId,
      value,
      replyTo?.id,
      ready.map((a) => a.id),
    );
    setText('');
    files.clear();
    onCancelReply();
  };

  return (
    <form
      class="composer"
      {...fileDropHandlers(files)}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {replyTo !== undefined && (
        <div class="replying">
          Replying to <strong>{replyTo.username}</strong>:{' '}
          <span class="quote-text">{replyTo.text.slice(0, 80)}</span>
          <button type="button" class="icon" aria-label="Cancel reply" onClick={onCancelReply}>
            <Icon name="close" />
          </button>
        </div>
      )}
      <UploadList state={files} />
      <div class="row">
        <AttachButton state={files} />
        <textarea
          ref={ref}
          aria-label={`Message ${title}`}
          aria-invalid={tooLong}
          aria-describedby={tooLong ? `length-${channelId}` : undefined}
          placeholder={`Message ${title}`}
          rows={Math.min(8, text.split('\n').length)}
          value={text}
          onInput={(e) => {
            setText(e.currentTarget.value);
            if (e.currentTarget.value !== '') model.typing(channelId);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            } else if (e.key === 'Escape' && replyTo !== undefined) {
              onCancelReply();
            }
          }}
        />
        <LengthCounter text={text} max={model.maxMessageChars} id={`length-${channelId}`} />
        <button
          type="submit"
          class="primary"
          disabled={files.busy || tooLong || (text.trim() === '' && ready.length === 0)}
        >
          Send
        </button>
      </div>
    </form>
  );
}
