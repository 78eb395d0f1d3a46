import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Message } from '../../../src/client/index.js';
import type { ChannelState, ChatModel, PendingMessage } from '../chat-model.js';
import { dayLabel, dayStart } from '../format.js';
import { nextWindowEnd, spacerHeight, windowRange } from '../message-window.js';
import { Avatar } from './avatar.js';
import { MessageItem } from './message-item.js';
import { RichText } from './rich-text.js';
import '../message-list.css';

// A run of messages by one author shows its header once, unless they are this far apart.
const GROUP_MS = 5 * 60_000;
// Load older messages when scrolled this close to the top.
const LOAD_AT_PX = 200;
// Keep following new messages when this close to the bottom.
const STICK_PX = 80;

/** A message on screen and where its top was in the scroller, to keep it there across a re-render. */
interface Anchor {
  readonly seq: number;
  readonly offset: number;
}

/**
 * The channel's messages, pending ones last. Only a window of them is in the DOM (see
 * message-window.ts): it moves as the reader scrolls, keeping the message at the top of the
 * view where it was; paging back, following the latest and "Jump to latest" work across it.
 */
export function MessageList({
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
  const heights = useRef(new Map<number, number>());
  const anchor = useRef<Anchor | undefined>(undefined);
  // The seq of the window's last message; undefined: it ends at the latest.
  const [endSeq, setEndSeq] = useState<number | undefined>(undefined);
  const [away, setAway] = useState(false);
  const id = state.summary.id;
  const messages = state.messages;
  const seqs = messages.map((m) => m.seq);
  const range = windowRange(messages.length, messages[0]?.seq ?? 1, endSeq);
  const atLatest = range.end === messages.length;

  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    for (const li of el.querySelectorAll<HTMLElement>('li.message[data-seq]'))
      heights.current.set(Number(li.dataset.seq), li.offsetHeight);
    // One's own send brings the view down to it, wherever the reader had scrolled.
    if (state.pending.length > pendingCount.current) {
      stick.current = true;
      if (!atLatest) {
        pendingCount.current = state.pending.length;
        setEndSeq(undefined);
        return;
      }
    }
    pendingCount.current = state.pending.length;
    const first = messages[0]?.seq;
    const prepended = first !== undefined && firstSeq.current !== undefined && first < firstSeq.current;
    firstSeq.current = first;
    const held = anchor.current;
    anchor.current = undefined;
    const li = held === undefined ? null : el.querySelector<HTMLElement>(`li[data-seq="${held.seq}"]`);
    if (held !== undefined && li !== null && !stick.current) {
      // The window moved: keep the message the reader looked at where it was.
      el.scrollTop += li.getBoundingClientRect().top - el.getBoundingClientRect().top - held.offset;
    } else if (prepended && !stick.current) el.scrollTop = el.scrollHeight - fromBottom.current;
    else if (stick.current) el.scrollTop = el.scrollHeight;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    // Not enough to scroll yet, or the window just reached the top of what is loaded: fetch more.
    const needMore = el.scrollHeight <= el.clientHeight || (range.start === 0 && el.scrollTop < LOAD_AT_PX);
    if (needMore && state.hasMoreBefore && state.loaded) void model.loadOlder(id);
  }, [messages, state.pending, state.loaded, endSeq]);

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
    stick.current = atLatest && el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    setAway(!stick.current);
    if (range.start === 0 && el.scrollTop < LOAD_AT_PX) void model.loadOlder(id);
    if (stick.current) model.noteVisible();
    moveWindow(el);
  };

  // Which drawn messages are visible; when near an edge of the window, move it.
  const moveWindow = (el: HTMLDivElement) => {
    const top = el.getBoundingClientRect().top;
    const bottom = top + el.clientHeight;
    let first: { seq: number; offset: number } | undefined;
    let last: number | undefined;
    for (const li of el.querySelectorAll<HTMLElement>('li.message[data-seq]')) {
      const box = li.getBoundingClientRect();
      if (box.bottom < top || box.top > bottom) continue;
      const seq = Number(li.dataset.seq);
      first ??= { seq, offset: box.top - top };
      last = seq;
    }
    const base = messages[0]?.seq;
    if (base === undefined) return;
    // Nothing drawn is visible (a jump through a spacer): place the window by the scroll position.
    const firstIndex = first === undefined ? guessIndex(el.scrollTop) : first.seq - base;
    const lastIndex = last === undefined ? firstIndex : last - base;
    const end = nextWindowEnd(messages.length, range, firstIndex, lastIndex);
    if (end === null) return;
    if (first !== undefined) anchor.current = first;
    setEndSeq(end === messages.length ? undefined : messages[end - 1]?.seq);
  };

  // The index of the message at `scrollTop`, from the measured and average heights.
  const guessIndex = (scrollTop: number): number => {
    let y = 0;
    for (let i = 0; i < messages.length; i++) {
      y += spacerHeight(seqs, i, i + 1, heights.current);
      if (y > scrollTop) return i;
    }
    return messages.length - 1;
  };

  const jumpToLatest = () => {
    stick.current = true;
    setAway(false);
    anchor.current = undefined;
    if (endSeq === undefined) {
      const el = ref.current;
      if (el !== null) el.scrollTop = el.scrollHeight;
    } else setEndSeq(undefined);
    model.noteVisible();
  };

  const byId = new Map(messages.map((m) => [m.id, m]));
  const items: preact.JSX.Element[] = [];
  if (range.start > 0) {
    items.push(
      <li
        key="above"
        class="spacer"
        aria-hidden="true"
        style={{ height: `${spacerHeight(seqs, 0, range.start, heights.current)}px` }}
      />,
    );
  } else if (!state.hasMoreBefore && state.loaded) {
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
  let prev: Message | undefined = messages[range.start - 1];
  for (const m of messages.slice(range.start, range.end)) {
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
  if (!atLatest) {
    items.push(
      <li
        key="below"
        class="spacer"
        aria-hidden="true"
        style={{ height: `${spacerHeight(seqs, range.end, messages.length, heights.current)}px` }}
      />,
    );
  } else {
    // One's own pending messages carry one's name, as the stored ones will: the first after
    // someone else's message starts a run with a header.
    let after: { readonly user_id: string; readonly ts: number } | undefined = prev;
    for (const p of state.pending) {
      const showHeader =
        after === undefined ||
        after.user_id !== model.me.id ||
        p.createdAt - after.ts > GROUP_MS ||
        p.replyTo !== undefined;
      items.push(
        <PendingItem key={p.clientMsgId} p={p} model={model} channelId={id} showHeader={showHeader} />,
      );
      after = { user_id: model.me.id, ts: p.createdAt };
    }
  }

  return (
    <div class="messages-frame">
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
      {(away || !atLatest) && (
        <button type="button" class="jump-latest small" onClick={jumpToLatest}>
          Jump to latest
        </button>
      )}
    </div>
  );
}

function PendingItem({
  p,
  model,
  channelId,
  showHeader,
}: {
  p: PendingMessage;
  model: ChatModel;
  channelId: string;
  showHeader: boolean;
}) {
  return (
    <li
      class={`message pending ${p.state}${showHeader ? ' with-header' : ''} mine`}
      data-client-msg-id={p.clientMsgId}
    >
      {showHeader ? <Avatar userId={model.me.id} name={model.me.username} /> : <span class="gutter-time" />}
      <div class="body">
        {showHeader && (
          <div class="meta">
            <span class="author" title={model.me.id}>
              {model.me.username}
            </span>
          </div>
        )}
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
