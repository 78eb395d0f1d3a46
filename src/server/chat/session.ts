import type { ServerFrame, UserInfo } from '../../protocol/frames.js';
import type { HubClient, Subscription } from '../hub.js';

/**
 * One authenticated connection as the chat services see it: who it is, what it subscribed to,
 * and how to reach it. Implemented by the transport; knows nothing of sockets here.
 */
export interface Session extends HubClient {
  readonly user: UserInfo;
  /** Channel id → this session's subscription. */
  readonly subscriptions: Map<string, Subscription>;
  /** Channel id → time of the last relayed typing event. */
  readonly typingAt: Map<string, number>;
  /** Encodes and sends one frame. */
  send(frame: ServerFrame): void;
}
