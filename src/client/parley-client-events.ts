/**
 * The events of a {@link ParleyClient}, the payload each carries, and the DTOs its calls
 * resolve with: the server's frames without their `type` and `ref`.
 */
import type {
  AckFrame,
  ChannelUpdatedFrame,
  HistoryPageFrame,
  MemberFrame,
  Message,
  MessageDeletedFrame,
  MessageEditedFrame,
  ModerationFrame,
  PresenceEventFrame,
  ReactionFrame,
  ReadPositionFrame,
  SubscribedFrame,
  TypingEventFrame,
  UnsubscribedFrame,
  WelcomeFrame,
} from '../protocol/frames.js';
import type { ParleyClientError } from './parley-client-error.js';

/**
 * Where a client is in its life: `idle` until `connect()`, `connecting` until the first
 * `welcome`, `open` while authenticated, `reconnecting` between a lost connection and the next
 * `welcome`, `closed` for good (after `close()` or a terminal close code).
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What the server said when the session was accepted. */
export type Welcome = Omit<WelcomeFrame, 'type' | 'ref'>;
/** A committed publish. */
export type Ack = Omit<AckFrame, 'type' | 'ref'>;
/** A channel subscription as the server confirmed it: its position, epoch and first messages. */
export type SubscribeResult = Omit<SubscribedFrame, 'type' | 'ref'>;
/**
 * A channel's stream restarted: a resume was not recovered (the epoch changed, or the gap was
 * too large). Drop what is shown for the channel; `messages` (also emitted as `message`
 * events right after) are its latest history.
 */
export type ResetEvent = SubscribeResult;
/** A page of history. */
export type HistoryPage = Omit<HistoryPageFrame, 'type' | 'ref'>;
/** A user came online in, or left, a channel. */
export type PresenceEvent = Omit<PresenceEventFrame, 'type'>;
/** Someone is typing in a channel. */
export type TypingEvent = Omit<TypingEventFrame, 'type'>;
/** A membership change (`role` null when the user was removed). */
export type MemberEvent = Omit<MemberFrame, 'type' | 'ref'>;
/** The client stopped receiving a channel, by request or because access was lost. */
export type UnsubscribedEvent = Omit<UnsubscribedFrame, 'type' | 'ref'>;

/** A connection was lost and another will be tried. */
export interface DisconnectedEvent {
  /** The WebSocket close code (1006 when the client gave up on the socket itself). */
  readonly code: number;
  readonly reason: string;
  /** The backoff delay before the next attempt. */
  readonly reconnectInMs: number;
}

/** The client stopped for good. */
export interface ClosedEvent {
  /** The close code: the server's terminal code, or 1000 after `close()`. */
  readonly code: number;
  readonly reason: string;
  /** Why, as a catalogue error (e.g. `auth_failed` for 4501). */
  readonly error: ParleyClientError;
}

/** The frames of a {@link ParleyClientEvents.update} event. */
export type UpdateEvent =
  | MessageEditedFrame
  | MessageDeletedFrame
  | ReactionFrame
  | ReadPositionFrame
  | ChannelUpdatedFrame
  | ModerationFrame;

/** The events of a {@link ParleyClient} and the payload each carries. */
export interface ParleyClientEvents {
  /** The connection state changed. */
  readonly state: ConnectionState;
  /**
   * A message of a subscribed channel: per channel strictly ascending by seq and each seq
   * once, history included (the messages of a subscribe result and of a reset come here too).
   */
  readonly message: Message;
  readonly reset: ResetEvent;
  readonly presence: PresenceEvent;
  readonly typing: TypingEvent;
  /** A membership change pushed by the server (replies to `addMember` etc. are not repeated). */
  readonly member: MemberEvent;
  readonly unsubscribed: UnsubscribedEvent;
  /**
   * A change to something already delivered, pushed by the server: a message edited or deleted,
   * a reaction toggled, the user's read position moved (on another connection too), a channel
   * renamed or archived.
   */
  readonly update: UpdateEvent;
  /** Something failed that no pending call could be told about. */
  readonly error: ParleyClientError;
  readonly disconnected: DisconnectedEvent;
  readonly closed: ClosedEvent;
}
