import type { ChannelDetail, Message, UserInfo } from '../../src/client/index.js';
import { mentions } from './text.js';

/** A message of this user not yet stored, or whose send failed. */
export interface PendingMessage {
  readonly clientMsgId: string;
  readonly text: string;
  readonly replyTo: string | undefined;
  /** Ids of the uploads it carries (issue 16). */
  readonly attachments?: readonly string[];
  readonly state: 'sending' | 'failed';
  readonly error?: string;
  readonly createdAt: number;
}

/** One channel as the page shows it. */
export interface ChannelState {
  readonly summary: ChannelDetail;
  /** Ascending by seq, no gaps, the last one the latest delivered. */
  readonly messages: readonly Message[];
  /** The latest page was loaded (or everything since the channel was empty). */
  readonly loaded: boolean;
  readonly hasMoreBefore: boolean;
  readonly loadingOlder: boolean;
  readonly pending: readonly PendingMessage[];
  /** Who is online, as far as told (only oneself in channels above the server's presenceMax). */
  readonly presence: readonly UserInfo[];
  /** How many are online (the server's count at subscribe, then joins and leaves as told). */
  readonly onlineCount: number;
  /**
   * Whether `presence` and `onlineCount` are the server's: false before the first subscribe,
   * and from a disconnection until they are asked again (the joins and leaves of meanwhile
   * were never told).
   */
  readonly presenceKnown: boolean;
  readonly typing: readonly UserInfo[];
}

/** A channel just listed: nothing of it loaded yet. */
export function freshChannel(summary: ChannelDetail): ChannelState {
  return {
    summary,
    messages: [],
    loaded: false,
    hasMoreBefore: summary.last_seq > 0,
    loadingOlder: false,
    pending: [],
    presence: [],
    onlineCount: 0,
    presenceKnown: false,
    typing: [],
  };
}

/** Who is online after a subscribe, this user included (listed or not, depending on timing). */
export function online(
  result: { readonly presence: readonly UserInfo[]; readonly presence_count: number },
  me: UserInfo,
): Pick<ChannelState, 'presence' | 'onlineCount' | 'presenceKnown'> {
  const presence = [...result.presence.filter((u) => u.id !== me.id), me];
  return { presence, onlineCount: Math.max(result.presence_count, presence.length), presenceKnown: true };
}

/**
 * `state` after message `m` of its channel was delivered: appended to the run, counted as
 * unread unless it is this user's or `seen` (the channel is on screen and visible), and no
 * longer typing or pending.
 */
export function withMessage(state: ChannelState, m: Message, me: UserInfo, seen: boolean): ChannelState {
  const last = state.messages[state.messages.length - 1];
  // Keep the run gap-free: a message that does not follow it starts it over (the SDK delivers
  // every seq in order, so this only happens before the latest page was loaded).
  const messages =
    last === undefined || m.seq === last.seq + 1
      ? [...state.messages, m]
      : m.seq <= last.seq
        ? state.messages
        : [m];
  const fromOther = m.user_id !== me.id;
  const summary: ChannelDetail = {
    ...state.summary,
    last_seq: Math.max(state.summary.last_seq, m.seq),
    ...(fromOther && !seen && m.seq > state.summary.last_read_seq
      ? {
          unread: state.summary.unread + 1,
          mentions: state.summary.mentions + (mentions(m.text, me.username) ? 1 : 0),
        }
      : {}),
  };
  const typing = state.typing.filter((u) => u.id !== m.user_id);
  const pending =
    m.client_msg_id === null || fromOther
      ? state.pending
      : state.pending.filter((p) => p.clientMsgId !== m.client_msg_id);
  return {
    ...state,
    summary,
    messages,
    loaded: state.loaded || (last === undefined && m.seq === 1),
    hasMoreBefore: messages === state.messages ? state.hasMoreBefore : (messages[0]?.seq ?? 1) > 1,
    typing,
    pending,
  };
}
