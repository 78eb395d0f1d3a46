import type { UserInfo } from '../../protocol/frames.js';

/** A user present in a channel, with what the app said of them (Pusher's `user_info`). */
export interface PresenceUser extends UserInfo {
  /** JSON text the app attached to the user for this channel; kept and returned as is. */
  readonly info?: string;
}

/**
 * Who is online in each channel, counted per connection so that a user with two tabs leaves
 * only when the last one goes. Entries of a node that dies expire (implementations that span
 * nodes); the memory implementation serves one node.
 */
export interface Presence {
  /**
   * Records the connection; true when the user was not present in the channel before. The
   * user's first connection decides their `info`.
   */
  join(channel: string, connectionId: string, user: PresenceUser): Promise<boolean>;
  /** Forgets the connection; returns the user when it was their last one in the channel. */
  leave(channel: string, connectionId: string): Promise<PresenceUser | undefined>;
  /** The users present in the channel, each once, ordered by id. */
  list(channel: string): Promise<readonly PresenceUser[]>;
  /** The number of users present in the channel (each once, as `list` would give them). */
  count(channel: string): Promise<number>;
  close(): Promise<void>;
}
