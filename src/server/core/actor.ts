import type { UserInfo } from '../../protocol/frames.js';

/**
 * Who performs a chat action: a user (a WebSocket session or an HTTP request with their
 * token), or, with `system: true`, the app's backend through the server API, which bypasses
 * channel permissions and rate limits (it holds the API key) and acts as `user`.
 */
export interface Actor {
  readonly user: UserInfo;
  readonly system?: boolean;
}

/** The sender of messages the server API posts without naming a user. */
export const SYSTEM_USER: UserInfo = { id: 'system', username: 'System' };
