import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Message, UserInfo } from '../../../src/client/index.js';
import type { ChannelState, ChatModel, PendingMessage } from '../chat-model.js';
import { dayLabel, dayStart } from '../format.js';
import { MembersPanel } from './members-panel.js';
import { MessageItem } from './message-item.js';
import { NotificationsControl } from './notifications-control.js';
import { RichText } from './rich-text.js';

// A run of messages by one author shows its header once, unless they are this far apart.
const GROUP_MS = 5 * 60_000;
// Load older messages when scrolled this close to the top.
const LOAD_AT_PX = 200;
// Keep following new messages when this close to the bottom.
const STICK_PX = 80;

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
  const title = s.kind === 'dm' ? s.title : `${s.kind === 'private' ? '🔒 ' : '#'}${s.title || s.id}`;

  return (
    <section class="channel" aria-label={title}>
      <header class="channel-header">
        {onMenu !== undefined && (
          <button type="button" class="icon menu" aria-label="Show channels" onClick={onMenu}>
            ☰
          </button>
        )}
        <div class="titles">
          <h1>{title}</h1>
          {s.topic !== '' && <p class="topic">{s.topic}</p>}
        </div>
        <NotificationsControl api={model.api} channel={s.id} />
        <button
          type="button"
          class="presence-button"
          aria-expanded={showMembers}
          aria-label={`${state.onlineCount} online; show members`}
          onClick={() => setShowMembers(!showMembers)}
        >
          <span class="dot online" aria-hidden="true" /> {state.onlineCount}
        </button>
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

function MessageList({
  model,
  state,
  canPost,
  canModerate,
  onReply,
}: {
  model: ChatModel;
  state: ChannelState;
  canPost: boolean;
  canModerate: boolean;
  onReply: (m: Message) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const fromBottom = useRef(0);
  const firstSeq = useRef<number | undefined>(undefined);
  const pendingCount = useRef(0);
  const id = state.summary.id;
  const messages = state.messages;

  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    // One's own send brings the view down to it, wherever the reader had scrolled.
    if (state.pending.length > pendingCount.current) stick.current = true;
    pendingCount.current = state.pending.length;
    const first = messages[0]?.seq;
    const prepended = first !== undefined && firstSeq.current !== undefined && first < firstSeq.current;
    firstSeq.current = first;
    if (prepended && !stick.current) el.scrollTop = el.scrollHeight - fromBottom.current;
    else if (stick.current) el.scrollTop = el.scrollHeight;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    // Not enough to scroll yet: fetch more so the reader can.
    if (el.scrollHeight <= el.clientHeight && state.hasMoreBefore && state.loaded) void model.loadOlder(id);
  }, [messages, state.pending, state.loaded]);

  useEffect(() => {
    const onFocus = () => model.noteVisible();
    window.addEventListener('focus', onFocus);
    document.addEventListener('visibilitychange', onFocus);
    return () => {
      window.removeEventListener('focus', onFocus);
      document.removeEventListener('visibilitychange', onFocus);
    };
  }, [model]);

  const onScroll = () => {
    const el = ref.current;
    if (el === null) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    if (el.scrollTop < LOAD_AT_PX) void model.loadOlder(id);
    if (stick.current) model.noteVisible();
  };

  const byId = new Map(messages.map((m) => [m.id, m]));
  const items: preact.JSX.Element[] = [];
  let prev: Message | undefined;
  if (!state.hasMoreBefore && state.loaded) {
    items.push(
      <li key="start" class="channel-start">
        This is the beginning of{' '}
        {state.summary.kind === 'dm' ? 'your conversation' : `#${state.summary.title || id}`}.
      </li>,
    );
  } else if (state.loadingOlder || state.hasMoreBefore) {
    items.push(
      <li key="loading" class="loading-older" aria-hidden={!state.loadingOlder}>
        {state.loadingOlder ? 'Loading older messages…' : ''}
      </li>,
    );
  }
  for (const m of messages) {
    const newDay = prev === undefined || dayStart(prev.ts) !== dayStart(m.ts);
    if (newDay) {
      items.push(
        <li key={`day-${m.seq}`} class="day">
          <span>{dayLabel(m.ts)}</span>
        </li>,
      );
    }
    const showHeader =
      newDay ||
      prev === undefined ||
      prev.user_id !== m.user_id ||
      m.ts - prev.ts > GROUP_MS ||
      m.reply_to !== undefined;
    items.push(
      <MessageItem
        key={m.id}
        m={m}
        model={model}
        showHeader={showHeader}
        parent={m.reply_to === undefined ? undefined : byId.get(m.reply_to)}
        canPost={canPost}
        canModerate={canModerate}
        onReply={onReply}
      />,
    );
    prev = m;
  }
  for (const p of state.pending)
    items.push(<PendingItem key={p.clientMsgId} p={p} model={model} channelId={id} />);

  return (
    <div
      class="messages"
      ref={ref}
      onScroll={onScroll}
      role="log"
      aria-label="Messages"
      aria-busy={state.loadingOlder}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the scrolling log must be reachable by keyboard to scroll it
      tabIndex={0}
    >
      <ol>{!state.loaded && messages.length === 0 ? <li class="loading-older">Loading…</li> : items}</ol>
    </div>
  );
}

function PendingItem({ p, model, channelId }: { p: PendingMessage; model: ChatModel; channelId: string }) {
  return (
    <li class={`message pending ${p.state}`} data-client-msg-id={p.clientMsgId}>
      <span class="gutter-time" />
      <div class="body">
        <p class="text">
          <RichText text={p.text} me={model.me.username} />
        </p>
        {p.state === 'sending' ? (
          <span class="status">Sending…</span>
        ) : (
          <span class="status failed" role="alert">
            Not sent: {p.error}{' '}
            <button type="button" class="small" onClick={() => model.retry(channelId, p.clientMsgId)}>
              Retry
            </button>{' '}
            <button type="button" class="small link" onClick={() => model.discard(channelId, p.clientMsgId)}>
              Discard
            </button>
          </span>
        )}
      </div>
    </li>
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

  const send = () => {
    const value = text.trim();
    if (value === '') return;
    model.send(channelId, value, replyTo?.id);
    setText('');
    onCancelReply();
  };

  return (
    <form
      class="composer"
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
            ×
          </button>
        </div>
      )}
      <div class="row">
        <textarea
          ref={ref}
          aria-label={`Message ${title}`}
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
        <button type="submit" class="primary" disabled={text.trim() === ''}>
          Send
        </button>
      </div>
    </form>
  );
}
