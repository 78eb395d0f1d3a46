import { createHash, timingSafeEqual } from 'node:crypto';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { UserInfo } from '../../protocol/frames.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { Limits } from '../config.js';
import type { Actor } from '../core/actor.js';
import type { ChatService } from '../core/chat-service.js';
import { TokenBucket } from '../token-bucket.js';
import type { Handler, Reply, RequestContext } from './request-context.js';

/** What `RequestAuth` runs on. */
export interface RequestAuthDeps {
  /** Verifies bearer tokens (revocations included). */
  readonly verifier: TokenVerifier;
  /** Makes sure a user first seen through a token is stored. */
  readonly chat: Pick<ChatService, 'sessions'>;
  readonly limits: Pick<Limits, 'httpPerSecond' | 'httpBurst'>;
  /** The key of the server API; undefined = that API is off. */
  readonly apiKey: string | undefined;
  /**
   * Whether a user is a server admin (#17), who may use the server API with their bearer token
   * instead of the key; none = only the key.
   */
  readonly isAdmin?: (userId: string) => Promise<boolean>;
  /** Told the reason of every refused API key (for the metrics). */
  readonly onFailure?: (reason: 'bad_api_key') => void;
}

// Users whose row was made sure of recently, and rate-limit buckets kept; forgetting one only
// costs an upsert or lets a burst through.
const SEEN_MAX = 10_000;

/**
 * Who is calling: users by `Authorization: Bearer <token>` (rate-limited per user, and per IP
 * while they send no token), the app's backend by `X-Api-Key` (compared in constant time).
 * Wraps handlers so each route says once which of the two it serves.
 */
export class RequestAuth {
  readonly #d: RequestAuthDeps;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #seen = new Set<string>();
  readonly #apiKeyDigest: Buffer | undefined;

  constructor(deps: RequestAuthDeps) {
    this.#d = deps;
    this.#apiKeyDigest = deps.apiKey === undefined ? undefined : digest(deps.apiKey);
  }

  /** A handler for users: it runs as the token's user, after the per-user rate limit. */
  asUser(fn: (actor: Actor, ctx: RequestContext) => Promise<Reply>): Handler {
    return async (ctx) => fn(await this.user(ctx), ctx);
  }

  /**
   * A handler for the app's backend: it runs only with the right API key, or with the bearer
   * token of a server admin (sent without a key).
   */
  asServer(fn: (ctx: RequestContext) => Promise<Reply>): Handler {
    return async (ctx) => {
      await this.requireServer(ctx);
      return fn(ctx);
    };
  }

  /**
   * Who may use the server API: the key's holder (`'api_key'`), or a server admin by their
   * bearer token when no key is sent (their user); `forbidden` for a user who is not one.
   */
  async requireServer(ctx: RequestContext): Promise<Actor | 'api_key'> {
    const isAdmin = this.#d.isAdmin;
    if (
      isAdmin !== undefined &&
      ctx.req.headers['x-api-key'] === undefined &&
      ctx.req.headers.authorization !== undefined
    ) {
      const actor = await this.user(ctx);
      if (!(await isAdmin(actor.user.id))) throw new ParleyError('forbidden', 'you are not a server admin');
      return actor;
    }
    this.requireApiKey(ctx);
    return 'api_key';
  }

  /** The request's user, from its bearer token; `not_authenticated`, `auth_failed` or `rate_limited`. */
  async user(ctx: RequestContext): Promise<Actor> {
    const header = ctx.req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null) {
      this.#throttle(`ip:${ctx.ip}`);
      throw new ParleyError('not_authenticated', 'send "Authorization: Bearer <token>"');
    }
    const identity = await this.#d.verifier.verify(match[1] as string);
    this.#throttle(`user:${identity.userId}`);
    const user: UserInfo = { id: identity.userId, username: identity.username };
    const seenKey = `${user.id}\u0000${user.username}`;
    if (!this.#seen.has(seenKey)) {
      await this.#d.chat.sessions.seen(user);
      if (this.#seen.size >= SEEN_MAX) this.#seen.clear();
      this.#seen.add(seenKey);
    }
    return { user };
  }

  /** Refuses the request unless it carries the server API's key (`forbidden` when that API is off). */
  requireApiKey(ctx: RequestContext): void {
    if (this.#apiKeyDigest === undefined) {
      throw new ParleyError('forbidden', 'the server API is off: set PARLEY_API_KEY to use it');
    }
    const given = ctx.req.headers['x-api-key'];
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), this.#apiKeyDigest)) {
      this.#d.onFailure?.('bad_api_key');
      throw new ParleyError('auth_failed', 'missing or wrong X-Api-Key');
    }
  }

  #throttle(key: string): void {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= SEEN_MAX) {
        for (const [k, b] of this.#buckets) if (b.isFull()) this.#buckets.delete(k);
      }
      bucket = new TokenBucket(this.#d.limits.httpPerSecond, this.#d.limits.httpBurst);
      this.#buckets.set(key, bucket);
    }
    if (!bucket.take()) {
      throw new ParleyError('rate_limited', 'too many requests', {
        details: { retry_after_ms: bucket.retryAfterMs() },
      });
    }
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
