import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { UserInfo } from '../../protocol/frames.js';
import type { ApiConfig, Limits } from '../config.js';
import type { ChatService } from '../core/chat-service.js';
import type { Store } from '../store/store.js';
import { TokenBucket } from '../token-bucket.js';
import type { PasswordHasher } from './password-hasher.js';
import type { TokenIssuer } from './token-issuer.js';

/** What `Accounts` runs on. */
export interface AccountsDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly issuer: TokenIssuer;
  /** Closes a revoked user's connections on every node. */
  readonly chat: Pick<ChatService, 'disconnectUser'>;
  readonly api: Pick<ApiConfig, 'registration' | 'refreshTokenTtlSeconds'>;
  readonly limits: Pick<Limits, 'loginPerMinutePerIp' | 'loginPerMinutePerUsername'>;
  /** Told the reason of every refused login, refresh or throttled attempt (for the metrics). */
  readonly onFailure?: (reason: 'bad_password' | 'banned' | 'bad_refresh_token' | 'login_throttled') => void;
  readonly logger?: Logger;
}

/** A login name and password, as a client sent them (their form already checked). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** A signed-in session: an access token and a refresh token for the user (times in ms). */
export interface AccountSession {
  readonly user: UserInfo;
  readonly token: string;
  readonly expiresAt: number;
  readonly refreshToken: string;
  readonly refreshExpiresAt: number;
}

declare const admitted: unique symbol;

/**
 * Proof that an attempt passed the login throttle: registering, logging in and refreshing take
 * one, so no password is hashed for an attempt over the limits. Only `Accounts` makes them.
 */
export interface Admission {
  readonly [admitted]: true;
}

const ADMISSION = {} as Admission;
const REFRESH_TOKEN_BYTES = 32;
// The per-username bucket is keyed by at most this much of what the client sent.
const THROTTLE_NAME_MAX = 64;

/**
 * Local accounts (standalone mode) and revocation: registering, logging in (an unknown user
 * costs one hash too, so timing tells no one who has an account), refreshing and logging out
 * sessions, and revoking a user's tokens and connections (log out everywhere, ban, unban).
 * Attempts are throttled per IP and per login name before any password is hashed. Throws
 * `ParleyError`: `forbidden` (registration closed), `conflict` (name taken), `auth_failed`,
 * `rate_limited` (with `retry_after_ms`), `not_found` (revoking an unknown user).
 */
export class Accounts {
  readonly #d: AccountsDeps;
  readonly #logins: LoginLimiter;
  #dummyHash: Promise<string> | undefined;

  constructor(deps: AccountsDeps) {
    this.#d = deps;
    this.#logins = new LoginLimiter(deps.limits.loginPerMinutePerIp, deps.limits.loginPerMinutePerUsername);
  }

  /** Admits a registration from `ip`: `forbidden` when registration is closed, else throttled. */
  admitRegistration(ip: string): Admission {
    if (!this.#d.api.registration)
      throw new ParleyError('forbidden', 'registration is closed on this server');
    return this.#admit(ip);
  }

  /**
   * Admits a login from `ip` for the name the client sent, whatever its form (checked later:
   * a malformed attempt counts against the limits too).
   */
  admitLogin(ip: string, username: unknown): Admission {
    return this.#admit(ip, typeof username === 'string' ? username.slice(0, THROTTLE_NAME_MAX) : '');
  }

  /** Admits a refresh from `ip`. */
  admitRefresh(ip: string): Admission {
    return this.#admit(ip);
  }

  /** Creates an account (user id `local:<lowercased name>`) and signs it in. */
  async register(_admission: Admission, credentials: Credentials): Promise<AccountSession> {
    const { store, hasher, logger } = this.#d;
    const login = credentials.username.toLowerCase();
    const passwordHash = await hasher.hash(credentials.password);
    const user = await store.createAccount({
      login,
      userId: `local:${login}`,
      username: credentials.username,
      passwordHash,
    });
    logger?.info({ user: user.id }, 'account created');
    return this.#session({ id: user.id, username: user.username });
  }

  /** Signs a user in with their password; `auth_failed` when it is wrong or they are banned. */
  async login(_admission: Admission, credentials: Credentials): Promise<AccountSession> {
    const { store, hasher } = this.#d;
    const account = await store.getAccount(credentials.username.toLowerCase());
    // An unknown user costs one hash too, so timing does not tell who has an account.
    const hash = account?.passwordHash ?? (await this.#dummy());
    const matches = await hasher.verify(hash, credentials.password);
    if (account === undefined || !matches) {
      this.#d.onFailure?.('bad_password');
      throw new ParleyError('auth_failed', 'wrong username or password');
    }
    const status = await store.getUserStatus(account.userId);
    if (status?.banned === true) {
      this.#d.onFailure?.('banned');
      throw new ParleyError('auth_failed', 'this user is banned');
    }
    const user = await store.getUser(account.userId);
    return this.#session({ id: account.userId, username: user?.username ?? credentials.username });
  }

  /** Uses up a refresh token and signs its user in again. */
  async refresh(_admission: Admission, refreshToken: string): Promise<AccountSession> {
    const { store } = this.#d;
    const id = await store.takeRefreshToken(refreshId(refreshToken), Date.now());
    const status = id === undefined ? undefined : await store.getUserStatus(id);
    const user = id === undefined ? undefined : await store.getUser(id);
    if (user === undefined || status === undefined || status.banned) {
      this.#d.onFailure?.('bad_refresh_token');
      throw new ParleyError('auth_failed', 'refresh token is invalid, expired or already used');
    }
    return this.#session({ id: user.id, username: user.username });
  }

  /** Revokes one refresh token (the access token lives until it expires); unknown ones are ignored. */
  async logout(refreshToken: string): Promise<void> {
    await this.#d.store.takeRefreshToken(refreshId(refreshToken), Date.now());
  }

  /**
   * Logs the user out everywhere (and bans them with `banned`): tokens issued until now and all
   * refresh tokens are refused, and every connection of the user closes on every node.
   */
  async revoke(
    userId: string,
    options: { readonly reason: string; readonly banned?: boolean },
  ): Promise<void> {
    const { store, chat, logger } = this.#d;
    // The next whole second: `iat` has a resolution of one second (see JoseTokenIssuer).
    const cutoff = Math.ceil(Date.now() / 1000) * 1000;
    await store.setUserStatus(userId, {
      tokensValidAfter: cutoff,
      ...(options.banned === true ? { banned: true } : {}),
    });
    await store.deleteRefreshTokens(userId);
    await chat.disconnectUser(userId, options.reason);
    logger?.info({ user: userId, banned: options.banned === true }, 'user disconnected everywhere');
  }

  /** Lifts a ban; tokens revoked by it stay revoked. */
  async unban(userId: string): Promise<void> {
    await this.#d.store.setUserStatus(userId, { banned: false });
  }

  /** An access token and a fresh refresh token for the user. */
  async #session(user: UserInfo): Promise<AccountSession> {
    const { store, issuer, api } = this.#d;
    const status = await store.getUserStatus(user.id);
    const access = await issuer.issue(user, { notBefore: status?.tokensValidAfter ?? 0 });
    const refresh = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
    const refreshExpiresAt = Date.now() + api.refreshTokenTtlSeconds * 1000;
    await store.saveRefreshToken({ id: refreshId(refresh), userId: user.id, expiresAt: refreshExpiresAt });
    return {
      user,
      token: access.token,
      expiresAt: access.expiresAt,
      refreshToken: refresh,
      refreshExpiresAt,
    };
  }

  #admit(ip: string, username?: string): Admission {
    const wait = this.#logins.take(ip, username);
    if (wait > 0) {
      this.#d.onFailure?.('login_throttled');
      throw new ParleyError('rate_limited', 'too many attempts; wait and try again', {
        details: { retry_after_ms: wait },
      });
    }
    return ADMISSION;
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= this.#d.hasher.hash(randomBytes(16).toString('hex'));
    return this.#dummyHash;
  }
}

/** How a refresh token is stored: its SHA-256 (a database leak reveals no usable token). */
function refreshId(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

// Forgetting buckets past this many only ever errs towards letting an attempt through.
const MAX_KEYS = 100_000;

/**
 * Rate limits of login and registration, checked before any password is hashed: a bucket per
 * IP address and one per username (lowercased), each refilling `perMinute` attempts a minute.
 */
class LoginLimiter {
  readonly #perIp: number;
  readonly #perUsername: number;
  readonly #ips = new Map<string, TokenBucket>();
  readonly #usernames = new Map<string, TokenBucket>();

  constructor(perMinutePerIp: number, perMinutePerUsername: number) {
    this.#perIp = perMinutePerIp;
    this.#perUsername = perMinutePerUsername;
  }

  /**
   * Takes one attempt for the IP and (when given) the username. Returns the milliseconds to
   * wait when either is exhausted, or 0 when the attempt may go ahead.
   */
  take(ip: string, username?: string): number {
    const byIp = bucket(this.#ips, ip, this.#perIp);
    if (!byIp.take()) return byIp.retryAfterMs();
    if (username === undefined) return 0;
    const byName = bucket(this.#usernames, username.toLowerCase(), this.#perUsername);
    if (!byName.take()) return byName.retryAfterMs();
    return 0;
  }
}

function bucket(map: Map<string, TokenBucket>, key: string, perMinute: number): TokenBucket {
  let found = map.get(key);
  if (found === undefined) {
    if (map.size >= MAX_KEYS) {
      for (const [k, b] of map) if (b.isFull()) map.delete(k);
      if (map.size >= MAX_KEYS) map.clear();
    }
    found = new TokenBucket(perMinute / 60, perMinute);
    map.set(key, found);
  }
  return found;
}
