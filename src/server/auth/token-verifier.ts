/** Who a verified token says the caller is, and until when. */
export interface Identity {
  /** Normalized to a string (PHP apps often put an integer in the token). */
  readonly userId: string;
  readonly username: string;
  /** When the token stops being valid, ms since the epoch. */
  readonly expiresAt: number;
  /** When the token was issued (`iat`), ms since the epoch; undefined when it has no `iat`. */
  readonly issuedAt?: number;
}

/**
 * Turns a bearer token into an identity. Implementations throw `ParleyError` with code
 * `auth_failed` (forged, wrong algorithm, issuer, audience, not yet valid, malformed) or
 * `token_expired`; the message says why and never contains the token.
 */
export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}
