import type { Message, Role, UserInfo } from '../../protocol/frames.js';
import type { PresenceUser } from '../presence/presence.js';

// Field names follow the stored objects they travel with (`Message` has `user_id`): one shape
// for the bus, the encoders and the HTTP views.

/** A message was committed to a channel (also re-published for a retried duplicate). */
export interface MessagePosted {
  readonly kind: 'message';
  readonly message: Message;
  /** A connection (a Recipient's id) that must not be sent it: its sender's, which has it. */
  readonly except?: string | undefined;
}

/** A message's text was replaced. */
export interface MessageEdited {
  readonly kind: 'edited';
  readonly channel: string;
  readonly id: string;
  readonly seq: number;
  readonly text: string;
  readonly edited_at: number;
  /** Who edited it. */
  readonly by: string;
}

/** A message was deleted (its text is gone from storage and search). */
export interface MessageDeleted {
  readonly kind: 'deleted';
  readonly channel: string;
  readonly id: string;
  readonly seq: number;
  readonly by: string;
}

/** A user's reaction to a message was added or taken back. */
export interface ReactionToggled {
  readonly kind: 'reaction';
  readonly channel: string;
  readonly id: string;
  readonly seq: number;
  readonly emoji: string;
  readonly user_id: string;
  readonly added: boolean;
  /** How many users react with `emoji` now. */
  readonly count: number;
}

/** A user came online in a channel (their first subscription) or left it (their last). */
export interface PresenceChanged {
  readonly kind: 'presence';
  readonly channel: string;
  readonly event: 'join' | 'leave';
  readonly user: PresenceUser;
}

/** A user is typing in a channel; never delivered back to that user. */
export interface UserTyping {
  readonly kind: 'typing';
  readonly channel: string;
  readonly user: UserInfo;
}

/** A channel's title, topic or archived flag changed. */
export interface ChannelUpdated {
  readonly kind: 'channel_updated';
  readonly channel: string;
  readonly title: string;
  readonly topic: string;
  readonly archived: boolean;
}

/**
 * An ephemeral event one connection sent to the channel's other subscribers (Pusher's client
 * events): relayed, never stored, never sent back to the connection it came from.
 */
export interface ChannelSignal {
  readonly kind: 'signal';
  readonly channel: string;
  readonly name: string;
  /** The payload as the sender gave it (JSON text). */
  readonly data: string;
  /** The sender's user, when it is known (presence channels). */
  readonly user_id: string | undefined;
  /** The connection (Recipient id) it came from. */
  readonly from: string;
}

/** A moderator banned, unbanned, muted or unmuted a user, or changed slow mode (issue 17). */
export interface ChannelModerated {
  readonly kind: 'moderated';
  readonly channel: string;
  readonly action: 'banned' | 'unbanned' | 'muted' | 'unmuted' | 'slow_mode';
  /** The user banned or muted (null for slow mode). */
  readonly user_id: string | null;
  /** When the ban or mute ends (null: until lifted, or not one). */
  readonly until: number | null;
  /** Who did it. */
  readonly by: string;
  /** The new slow mode, for `slow_mode`. */
  readonly slow_mode_seconds?: number;
}

/** What every subscriber of one channel receives. */
export type ChannelEvent =
  | MessagePosted
  | MessageEdited
  | MessageDeleted
  | ReactionToggled
  | PresenceChanged
  | UserTyping
  | ChannelUpdated
  | ChannelSignal
  | ChannelModerated;

/** A user's membership of a channel changed: `role` null = removed. */
export interface MemberChanged {
  readonly kind: 'member';
  readonly channel: string;
  readonly user_id: string;
  readonly role: Role | null;
}

/** The user's read position in a channel moved (on one of their devices). */
export interface ReadPositionMoved {
  readonly kind: 'read_position';
  readonly channel: string;
  readonly seq: number;
}

/** One of the user's subscriptions ended without their asking (they were removed). */
export interface SubscriptionEnded {
  readonly kind: 'unsubscribed';
  readonly channel: string;
  readonly reason: 'removed' | 'banned';
}

/** What every connection of one user receives. */
export type UserEvent = MemberChanged | ReadPositionMoved | SubscriptionEnded;

/** Every event the core delivers to a connection. */
export type DeliveryEvent = ChannelEvent | UserEvent;

/** The admin console's events (#17), on the bus beside the others. */
export type { AdminBusEvent } from './admin-events.js';
