import type { UserInfo } from '../../protocol/frames.js';
import type { Recipient } from './delivery.js';
import type { Subscription } from './hub.js';

/**
 * One authenticated connection of any wire as the core sees it: who it is, what it subscribed
 * to, and the recipient its events are written to. Implemented by each wire's session.
 */
export interface Session extends Recipient {
  readonly user: UserInfo;
  /** Channel id → this session's subscription. */
  readonly subscriptions: Map<string, Subscription>;
  /** Channel id → time of the last relayed typing event. */
  readonly typingAt: Map<string, number>;
  /**
   * When the credential it last authenticated with was issued (its token's `iat`), in ms; the
   * re-checks of live sessions compare it with the user's cut-off. Undefined when it has none:
   * the time the session opened on this node counts instead.
   */
  readonly issuedAt?: number | undefined;
}
