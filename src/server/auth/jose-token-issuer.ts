import { SignJWT } from 'jose';
import type { UserInfo } from '../../protocol/frames.js';
import type { JwtConfig } from '../config.js';
import type { IssuedToken, TokenIssuer } from './token-issuer.js';

/**
 * Signs tokens with `jose` using the node's JWT secret and the first allowed HMAC algorithm:
 * the configured user-id and username claims, `iat`, `exp` after `ttlSeconds`, and `iss`/`aud`
 * when configured, so `HmacTokenVerifier` accepts them.
 */
export class JoseTokenIssuer implements TokenIssuer {
  readonly #config: JwtConfig;
  readonly #ttlSeconds: number;
  readonly #now: () => number;

  constructor(config: JwtConfig, ttlSeconds: number, now: () => number = Date.now) {
    this.#config = config;
    this.#ttlSeconds = ttlSeconds;
    this.#now = now;
  }

  async issue(user: UserInfo, options: { readonly notBefore?: number } = {}): Promise<IssuedToken> {
    const iat = Math.max(Math.floor(this.#now() / 1000), Math.ceil((options.notBefore ?? 0) / 1000));
    const exp = iat + this.#ttlSeconds;
    let jwt = new SignJWT({
      [this.#config.userIdClaim]: user.id,
      [this.#config.usernameClaim]: user.username,
    })
      .setProtectedHeader({ alg: this.#config.algorithms[0] ?? 'HS256', typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(exp);
    if (this.#config.issuer !== undefined) jwt = jwt.setIssuer(this.#config.issuer);
    if (this.#config.audience !== undefined) jwt = jwt.setAudience(this.#config.audience);
    return { token: await jwt.sign(this.#config.secret), expiresAt: exp * 1000 };
  }
}
