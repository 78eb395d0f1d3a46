import type { Message, Role, UserInfo } from '../../protocol/frames.js';
import type { PresenceUser } from '../presence/presence.js';

/** What the core reports to logs, metrics and webhooks. Every hook but `error` is optional. */
export interface ChatObserver {
  error(err: unknown, what: string): void;
  /** A message was committed (not called for a retried duplicate). */
  messageCreated?(message: Message): void;
  /** A membership changed: `role` null = removed, `previous` undefined = added. */
  memberChanged?(channel: string, userId: string, role: Role | null, previous: Role | undefined): void;
  /** The user's first connection on this node opened (not after a reconnect within the grace period). */
  userOnline?(user: UserInfo): void;
  /** The user's last connection on this node closed `offlineGraceMs` ago and none came back. */
  userOffline?(user: UserInfo): void;
  /**
   * A user came online in a channel (their first subscription there on any node) or went
   * (their last): called once per change, on the node that made it.
   */
  presenceChanged?(channel: string, event: 'join' | 'leave', user: PresenceUser): void;
  /** A counted subscription made the channel occupied (its first on any node), or vacated it. */
  occupancyChanged?(channel: string, occupied: boolean): void;
}
