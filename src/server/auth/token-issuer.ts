import type { UserInfo } from '../../protocol/frames.js';

/** A token Parley signed, and when it expires (ms since the epoch). */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Signs access tokens for local accounts: the same kind of JWT the WebSocket and the HTTP API
 * accept from the app. `notBefore` (ms) raises the token's `iat` to at least that time, so a
 * token issued right after a "log out everywhere" is not refused by it.
 */
export interface TokenIssuer {
  issue(user: UserInfo, options?: { readonly notBefore?: number }): Promise<IssuedToken>;
}
