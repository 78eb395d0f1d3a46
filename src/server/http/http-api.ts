import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ERRORS, type ErrorCode, ParleyError } from '../../protocol/error-catalogue.js';
import {
  CHANNEL_ID_PATTERN,
  CHANNEL_NAME_PATTERN,
  CLIENT_MSG_ID_PATTERN,
  isClientMsgId,
  isEmoji,
  LOGIN_NAME_PATTERN,
  MAX_CLIENT_MSG_ID,
  MAX_DISPLAY_NAME,
  MAX_EMOJI,
  MAX_PASSWORD,
  MAX_TITLE,
  MAX_TOPIC,
  MAX_USER_ID,
  MESSAGE_ID_PATTERN,
  MIN_PASSWORD,
  messageTextProblem,
  NO_CONTROL_PATTERN,
} from '../../protocol/field-rules.js';
import { ROLES, type UserInfo } from '../../protocol/frames.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import type { IssuedToken, TokenIssuer } from '../auth/token-issuer.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { clientIp } from '../client-ip.js';
import type { ApiConfig, Limits } from '../config.js';
import { type Actor, SYSTEM_USER } from '../core/actor.js';
import type { ChatService } from '../core/chat-service.js';
import type { ParleyMetrics } from '../metrics/parley-metrics.js';
import type { Store } from '../store/store.js';
import { TokenBucket } from '../token-bucket.js';
import { LoginLimiter } from './login-limiter.js';
import { type RouteParams, Router } from './router.js';
import type { WebPage } from './web-page.js';

/** What the HTTP API runs on. */
export interface HttpApiDeps {
  /** True when the store answers and migrations are done. */
  /**
   * `ready`; `degraded` when the node serves but its bus to other nodes is down (acks and local
   * delivery go on, other nodes catch up later); `unavailable` when the store is not reachable.
   */
  readonly ready: () => Promise<'ready' | 'degraded' | 'unavailable'>;
  readonly chat: ChatService;
  readonly store: Store;
  /** Verifies bearer tokens (revocations included). */
  readonly verifier: TokenVerifier;
  readonly issuer: TokenIssuer;
  readonly hasher: PasswordHasher;
  readonly api: ApiConfig;
  readonly limits: Limits;
  readonly metrics: ParleyMetrics;
  readonly logger: Logger;
  /** The browser chat page; undefined when it is off or was not built. */
  readonly web?: WebPage | undefined;
  /**
   * Other sites whose pages may call the user API from the browser (CORS): the WebSocket's
   * `PARLEY_ALLOWED_ORIGINS`. `any` in `--dev`.
   */
  readonly corsOrigins?: readonly string[] | 'any';
  /** Proxies whose `X-Forwarded-For` names the client (for the per-IP login limits). */
  readonly trustedProxies?: ReadonlySet<string>;
}

/** A handler's answer: a status and a JSON body (none for 204). */
interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

interface Context {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: RouteParams;
  readonly ip: string;
}

type Handler = (ctx: Context) => Promise<Reply>;

// ─── request bodies ─────────────────────────────────────────────────────────────────────────

const text = z.string().superRefine((t, ctx) => {
  const problem = messageTextProblem(t);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});
const clientMsgId = z
  .string()
  .min(1)
  .max(MAX_CLIENT_MSG_ID)
  .regex(CLIENT_MSG_ID_PATTERN, 'must be visible ASCII');
const userId = z
  .string()
  .min(1)
  .max(MAX_USER_ID)
  .regex(NO_CONTROL_PATTERN, 'must not contain control characters');
const displayName = z
  .string()
  .min(1)
  .max(MAX_DISPLAY_NAME)
  .regex(NO_CONTROL_PATTERN, 'must not contain control characters');
const title = z
  .string()
  .min(1)
  .max(MAX_TITLE)
  .regex(NO_CONTROL_PATTERN, 'must not contain control characters');
const topic = z.string().max(MAX_TOPIC);
const role = z.enum(ROLES as [string, ...string[]]).transform((r) => r as (typeof ROLES)[number]);

const Credentials = z.strictObject({
  username: z
    .string()
    .regex(LOGIN_NAME_PATTERN, '3–32 of A-Z, a-z, 0-9, "_", "." and "-", starting with a letter or digit'),
  password: z.string().min(MIN_PASSWORD, `must be at least ${MIN_PASSWORD} characters`).max(MAX_PASSWORD),
});
const RefreshBody = z.strictObject({ refresh_token: z.string().min(1).max(200) });
const CreateChannel = z.strictObject({
  id: z.string().regex(CHANNEL_NAME_PATTERN, '1–64 of a-z, 0-9, "-" and "_"'),
  title: title.optional(),
  topic: topic.optional(),
  private: z.boolean().optional(),
});
const ServerCreateChannel = CreateChannel.extend({ owner: userId.optional() });
const PatchChannel = z
  .strictObject({ title: title.optional(), topic: topic.optional(), archived: z.boolean().optional() })
  .refine((p) => Object.keys(p).length > 0, 'give title, topic or archived');
const SetMember = z.strictObject({ role: role.optional() });
const OpenDm = z.strictObject({ user_id: userId });
const PostMessage = z.strictObject({
  text,
  client_msg_id: clientMsgId.optional(),
  reply_to: z.string().regex(MESSAGE_ID_PATTERN, 'is not a message id').optional(),
});
const ServerPostMessage = z.strictObject({
  channel: z.string().regex(CHANNEL_ID_PATTERN, 'is not a channel id'),
  text,
  user_id: userId.optional(),
  username: displayName.optional(),
  idempotency_key: clientMsgId.optional(),
  reply_to: z.string().regex(MESSAGE_ID_PATTERN, 'is not a message id').optional(),
});
const EditMessage = z.strictObject({ text });
const React = z.strictObject({
  emoji: z.string().refine(isEmoji, `must be 1–${MAX_EMOJI} characters without spaces`),
});
const MarkRead = z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });
const PutUser = z.strictObject({ username: displayName });
const Disconnect = z.strictObject({ reason: z.string().max(100).regex(NO_CONTROL_PATTERN).optional() });

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'body' : `"${issue.path.join('.')}"`;
  throw new ParleyError('bad_request', `${where}: ${issue?.message ?? 'is invalid'}`);
}

function seqParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ParleyError('bad_request', `"${name}" must be a non-negative integer`);
  }
  return n;
}

// ─── the API ────────────────────────────────────────────────────────────────────────────────

const REFRESH_TOKEN_BYTES = 32;
// Users whose row was made sure of recently; forgetting one only costs an upsert.
const SEEN_MAX = 10_000;

/**
 * Parley's HTTP API on the WebSocket's port (docs/api.md): accounts, channels, members, DMs,
 * messages, reactions, threads, search, read positions, the server API for the app's backend,
 * health, readiness and metrics. JSON in and out; every error is
 * `{ "error": { "code", "message" } }` with the catalogue's status. Every chat action goes
 * through ChatService, so HTTP and WebSocket share one set of permission rules.
 */
export class HttpApi {
  readonly #deps: HttpApiDeps;
  readonly #router = new Router<Handler>();
  readonly #logins: LoginLimiter;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #seen = new Set<string>();
  readonly #apiKeyDigest: Buffer | undefined;
  readonly #trusted: ReadonlySet<string>;
  #dummyHash: Promise<string> | undefined;

  constructor(deps: HttpApiDeps) {
    this.#deps = deps;
    this.#logins = new LoginLimiter(deps.limits.loginPerMinutePerIp, deps.limits.loginPerMinutePerUsername);
    this.#apiKeyDigest = deps.api.apiKey === undefined ? undefined : digest(deps.api.apiKey);
    this.#trusted = deps.trustedProxies ?? new Set();
    this.#routes();
  }

  /** Handles one request; never rejects for a peer's bad input. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return this.#send(res, method, 400, errorBody('bad_request', 'bad request URL'));
    }
    if (this.#cors(req, res, url.pathname) && method === 'OPTIONS') {
      res.writeHead(204);
      res.end();
      return;
    }
    // Bodyless endpoints that must not need the API machinery.
    if (method === 'GET' || method === 'HEAD') {
      if (url.pathname === '/healthz') return this.#send(res, method, 200, { status: 'ok' });
      if (url.pathname === '/readyz') {
        const status = await this.#deps.ready().catch(() => 'unavailable' as const);
        return this.#send(res, method, status === 'unavailable' ? 503 : 200, { status });
      }
      if (url.pathname === '/metrics') {
        const { body, contentType } = await this.#deps.metrics.render();
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
        res.end(method === 'HEAD' ? undefined : body);
        return;
      }
      if (this.#deps.web?.serve(req, res, url.pathname) === true) return;
      if (url.pathname === '/') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(
          'Parley is running. WebSocket endpoint: /ws. HTTP API: /api (see docs/api.md). ' +
            'The chat page is off (PARLEY_WEB=off) or not built (npm run build).\n',
        );
        return;
      }
    }
    const found = this.#router.find(method, url.pathname);
    if (found.kind === 'not_found') {
      return this.#send(res, method, 404, errorBody('not_found', `no route ${url.pathname.slice(0, 100)}`));
    }
    if (found.kind === 'method_not_allowed') {
      res.setHeader('Allow', found.allowed.join(', '));
      return this.#send(res, method, 405, errorBody('bad_request', `method ${method} not allowed here`));
    }
    const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.#trusted);
    const ctx: Context = { req, url, params: found.params, ip };
    try {
      const reply = await found.handler(ctx);
      this.#send(res, method, reply.status, reply.body);
    } catch (err) {
      const error = this.#toParleyError(err);
      if (error.code === 'rate_limited' && typeof error.details?.retry_after_ms === 'number') {
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.details.retry_after_ms / 1000))));
      }
      this.#send(res, method, error.status, {
        error: { code: error.code, message: error.message, ...(error.details ?? {}) },
      });
    }
  }

  /**
   * Lets an allowed site's pages call the user API (`/api/…`, not the server API, whose key
   * never belongs in a browser). Tokens travel in `Authorization`, never in cookies, so no
   * credentials mode is needed. True when the request is a CORS request from an allowed origin.
   */
  #cors(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const origin = req.headers.origin;
    const allowed = this.#deps.corsOrigins ?? [];
    if (origin === undefined || !path.startsWith('/api/') || path.startsWith('/api/server/')) return false;
    res.setHeader('Vary', 'Origin');
    if (allowed !== 'any' && !allowed.includes(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    return true;
  }

  #toParleyError(err: unknown): ParleyError {
    if (err instanceof ParleyError) return err;
    this.#deps.logger.error({ err }, 'http request failed');
    return new ParleyError('internal', 'internal error');
  }

  #send(res: ServerResponse, method: string, status: number, body: unknown): void {
    this.#deps.metrics.httpRequests.inc({ method, status: String(status) });
    if (status === 204 || body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    const data = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(data),
    });
    res.end(method === 'HEAD' ? undefined : data);
  }

  // ─── routes ───────────────────────────────────────────────────────────────────────────────

  #routes(): void {
    const chat = this.#deps.chat;
    const r = this.#router;
    const user = (fn: (actor: Actor, ctx: Context) => Promise<Reply>): Handler => {
      return async (ctx) => fn(await this.#user(ctx), ctx);
    };
    const server = (fn: (ctx: Context) => Promise<Reply>): Handler => {
      return async (ctx) => {
        this.#requireApiKey(ctx);
        return fn(ctx);
      };
    };
    const ok = (body: unknown, status = 200): Reply => ({ status, body });
    const p = (ctx: Context, name: string) => ctx.params[name] as string;

    // Accounts.
    r.add('POST', '/api/auth/register', (ctx) => this.#register(ctx));
    r.add('POST', '/api/auth/login', (ctx) => this.#login(ctx));
    r.add('POST', '/api/auth/refresh', (ctx) => this.#refresh(ctx));
    r.add('POST', '/api/auth/logout', async (ctx) => {
      const body = parse(RefreshBody, await this.#body(ctx));
      await this.#deps.store.takeRefreshToken(refreshId(body.refresh_token), Date.now());
      return { status: 204 };
    });
    r.add(
      'GET',
      '/api/me',
      user(async (actor) => ok({ user: actor.user })),
    );

    // Channels and members.
    r.add(
      'GET',
      '/api/channels',
      user(async (actor) => ok({ channels: await chat.channels.list(actor) })),
    );
    r.add(
      'POST',
      '/api/channels',
      user(async (actor, ctx) => {
        const body = parse(CreateChannel, await this.#body(ctx));
        await chat.channels.create(actor, {
          channel: body.id,
          private: body.private,
          title: body.title,
          topic: body.topic,
        });
        return ok({ channel: await chat.channels.get(actor, body.id) }, 201);
      }),
    );
    r.add(
      'GET',
      '/api/channels/:id',
      user(async (actor, ctx) => ok({ channel: await chat.channels.get(actor, p(ctx, 'id')) })),
    );
    r.add(
      'PATCH',
      '/api/channels/:id',
      user(async (actor, ctx) => {
        const patch = parse(PatchChannel, await this.#body(ctx));
        await chat.channels.update(actor, p(ctx, 'id'), patch);
        return ok({ channel: await chat.channels.get(actor, p(ctx, 'id')) });
      }),
    );
    r.add(
      'GET',
      '/api/channels/:id/members',
      user(async (actor, ctx) =>
        ok({ members: memberList(await chat.channels.members(actor, p(ctx, 'id'))) }),
      ),
    );
    r.add(
      'PUT',
      '/api/channels/:id/members/:userId',
      user(async (actor, ctx) => {
        const body = parse(SetMember, await this.#body(ctx));
        const frame = await chat.channels.setMember(
          actor,
          p(ctx, 'id'),
          p(ctx, 'userId'),
          body.role ?? 'member',
        );
        return ok({ member: { channel: frame.channel, user_id: frame.user_id, role: frame.role } });
      }),
    );
    r.add(
      'DELETE',
      '/api/channels/:id/members/:userId',
      user(async (actor, ctx) => {
        await chat.channels.removeMember(actor, p(ctx, 'id'), p(ctx, 'userId'));
        return { status: 204 };
      }),
    );
    r.add(
      'POST',
      '/api/dms',
      user(async (actor, ctx) => {
        const body = parse(OpenDm, await this.#body(ctx));
        const dm = await chat.channels.openDm(actor, body.user_id);
        return ok({ channel: await chat.channels.get(actor, dm.id) });
      }),
    );

    // Messages.
    r.add(
      'GET',
      '/api/channels/:id/messages',
      user(async (actor, ctx) => {
        const before = seqParam(ctx.url, 'before');
        const after = seqParam(ctx.url, 'after');
        const limit = seqParam(ctx.url, 'limit');
        if (before !== undefined && after !== undefined) {
          throw new ParleyError('bad_request', 'give "before" or "after", not both');
        }
        if (limit === 0) throw new ParleyError('bad_request', '"limit" must be at least 1');
        const page = await chat.messages.history(actor, {
          channel: p(ctx, 'id'),
          ...(before === undefined ? {} : { before }),
          ...(after === undefined ? {} : { after }),
          ...(limit === undefined ? {} : { limit }),
        });
        return ok({ messages: page.messages, has_more: page.has_more });
      }),
    );
    r.add(
      'POST',
      '/api/channels/:id/messages',
      user(async (actor, ctx) => {
        const body = parse(PostMessage, await this.#body(ctx));
        const result = await chat.messages.post(actor, {
          channel: p(ctx, 'id'),
          text: body.text,
          clientMsgId: body.client_msg_id ?? null,
          replyTo: body.reply_to,
        });
        return ok({ message: result.message, duplicate: result.duplicate }, result.duplicate ? 200 : 201);
      }),
    );
    r.add(
      'GET',
      '/api/channels/:id/messages/:msgId',
      user(async (actor, ctx) =>
        ok({ message: await chat.messages.get(actor, p(ctx, 'id'), p(ctx, 'msgId')) }),
      ),
    );
    r.add(
      'PATCH',
      '/api/channels/:id/messages/:msgId',
      user(async (actor, ctx) => {
        const body = parse(EditMessage, await this.#body(ctx));
        await chat.messages.edit(actor, p(ctx, 'id'), p(ctx, 'msgId'), body.text);
        return ok({ message: await chat.messages.get(actor, p(ctx, 'id'), p(ctx, 'msgId')) });
      }),
    );
    r.add(
      'DELETE',
      '/api/channels/:id/messages/:msgId',
      user(async (actor, ctx) => {
        await chat.messages.delete(actor, p(ctx, 'id'), p(ctx, 'msgId'));
        return { status: 204 };
      }),
    );
    r.add(
      'GET',
      '/api/channels/:id/messages/:msgId/versions',
      user(async (actor, ctx) =>
        ok({ versions: await chat.messages.versions(actor, p(ctx, 'id'), p(ctx, 'msgId')) }),
      ),
    );
    r.add(
      'POST',
      '/api/channels/:id/messages/:msgId/reactions',
      user(async (actor, ctx) => {
        const body = parse(React, await this.#body(ctx));
        const frame = await chat.messages.react(actor, p(ctx, 'id'), p(ctx, 'msgId'), body.emoji);
        return ok({ emoji: frame.emoji, added: frame.added, count: frame.count });
      }),
    );
    r.add(
      'GET',
      '/api/channels/:id/messages/:msgId/thread',
      user(async (actor, ctx) =>
        ok(
          await chat.messages.thread(actor, p(ctx, 'id'), p(ctx, 'msgId'), {
            after: seqParam(ctx.url, 'after'),
            limit: seqParam(ctx.url, 'limit'),
          }),
        ),
      ),
    );
    r.add(
      'PUT',
      '/api/channels/:id/read',
      user(async (actor, ctx) => {
        const body = parse(MarkRead, await this.#body(ctx));
        const frame = await chat.messages.markRead(actor, p(ctx, 'id'), body.seq);
        return ok({ channel: frame.channel, last_read_seq: frame.seq });
      }),
    );
    r.add(
      'GET',
      '/api/search',
      user(async (actor, ctx) => {
        const q = ctx.url.searchParams.get('q') ?? '';
        if (q.length > 200) throw new ParleyError('bad_request', '"q" is longer than 200 characters');
        const channel = ctx.url.searchParams.get('channel') ?? undefined;
        return ok(
          await chat.messages.search(actor, {
            text: q,
            channel,
            limit: seqParam(ctx.url, 'limit'),
            offset: seqParam(ctx.url, 'offset'),
          }),
        );
      }),
    );

    // The server API (the app's backend, with PARLEY_API_KEY).
    r.add(
      'POST',
      '/api/server/messages',
      server(async (ctx) => {
        const body = parse(ServerPostMessage, await this.#body(ctx));
        const key = body.idempotency_key ?? headerKey(ctx.req);
        const as: UserInfo =
          body.user_id === undefined
            ? SYSTEM_USER
            : { id: body.user_id, username: body.username ?? (await this.#username(body.user_id)) };
        const result = await chat.messages.post(
          { user: as, system: true },
          { channel: body.channel, text: body.text, clientMsgId: key ?? null, replyTo: body.reply_to },
        );
        return ok({ message: result.message, duplicate: result.duplicate }, result.duplicate ? 200 : 201);
      }),
    );
    r.add(
      'PUT',
      '/api/server/users/:userId',
      server(async (ctx) => {
        const id = parse(userId, p(ctx, 'userId'));
        const body = parse(PutUser, await this.#body(ctx));
        const stored = await this.#deps.store.upsertUser({ id, username: body.username });
        return ok({ user: await this.#userView(stored.id) });
      }),
    );
    r.add(
      'GET',
      '/api/server/users/:userId',
      server(async (ctx) => ok({ user: await this.#userView(p(ctx, 'userId')) })),
    );
    r.add(
      'POST',
      '/api/server/users/:userId/logout',
      server(async (ctx) => {
        const body = parse(Disconnect, await this.#body(ctx, true));
        await this.#revoke(p(ctx, 'userId'), { reason: body.reason ?? 'logged out' });
        return ok({ user: await this.#userView(p(ctx, 'userId')) });
      }),
    );
    r.add(
      'POST',
      '/api/server/users/:userId/ban',
      server(async (ctx) => {
        const body = parse(Disconnect, await this.#body(ctx, true));
        await this.#revoke(p(ctx, 'userId'), { reason: body.reason ?? 'banned', banned: true });
        return ok({ user: await this.#userView(p(ctx, 'userId')) });
      }),
    );
    r.add(
      'POST',
      '/api/server/users/:userId/unban',
      server(async (ctx) => {
        await this.#deps.store.setUserStatus(p(ctx, 'userId'), { banned: false });
        return ok({ user: await this.#userView(p(ctx, 'userId')) });
      }),
    );
    const system: Actor = { user: SYSTEM_USER, system: true };
    r.add(
      'POST',
      '/api/server/channels',
      server(async (ctx) => {
        const body = parse(ServerCreateChannel, await this.#body(ctx));
        await chat.channels.create(system, {
          channel: body.id,
          private: body.private,
          title: body.title,
          topic: body.topic,
          owner: body.owner,
        });
        return ok({ channel: await this.#deps.store.getChannel(body.id).then(channelView) }, 201);
      }),
    );
    r.add(
      'PATCH',
      '/api/server/channels/:id',
      server(async (ctx) => {
        const patch = parse(PatchChannel, await this.#body(ctx));
        await chat.channels.update(system, p(ctx, 'id'), patch);
        return ok({ channel: await this.#deps.store.getChannel(p(ctx, 'id')).then(channelView) });
      }),
    );
    r.add(
      'GET',
      '/api/server/channels/:id/members',
      server(async (ctx) => ok({ members: memberList(await chat.channels.members(system, p(ctx, 'id'))) })),
    );
    r.add(
      'PUT',
      '/api/server/channels/:id/members/:userId',
      server(async (ctx) => {
        const body = parse(SetMember, await this.#body(ctx));
        const frame = await chat.channels.setMember(
          system,
          p(ctx, 'id'),
          p(ctx, 'userId'),
          body.role ?? 'member',
        );
        return ok({ member: { channel: frame.channel, user_id: frame.user_id, role: frame.role } });
      }),
    );
    r.add(
      'DELETE',
      '/api/server/channels/:id/members/:userId',
      server(async (ctx) => {
        await chat.channels.removeMember(system, p(ctx, 'id'), p(ctx, 'userId'));
        return { status: 204 };
      }),
    );
  }

  // ─── accounts ─────────────────────────────────────────────────────────────────────────────

  async #register(ctx: Context): Promise<Reply> {
    if (!this.#deps.api.registration) {
      throw new ParleyError('forbidden', 'registration is closed on this server');
    }
    this.#throttleLogin(ctx.ip);
    const body = parse(Credentials, await this.#body(ctx));
    const login = body.username.toLowerCase();
    const passwordHash = await this.#deps.hasher.hash(body.password);
    const user = await this.#deps.store.createAccount({
      login,
      userId: `local:${login}`,
      username: body.username,
      passwordHash,
    });
    this.#deps.logger.info({ user: user.id }, 'account created');
    return { status: 201, body: await this.#session({ id: user.id, username: user.username }) };
  }

  async #login(ctx: Context): Promise<Reply> {
    const raw = await this.#body(ctx);
    // Throttled before the body is validated or any password hashed.
    const name =
      typeof raw === 'object' && raw !== null ? (raw as { username?: unknown }).username : undefined;
    this.#throttleLogin(ctx.ip, typeof name === 'string' ? name.slice(0, 64) : '');
    const body = parse(Credentials, raw);
    const account = await this.#deps.store.getAccount(body.username.toLowerCase());
    // An unknown user costs one hash too, so timing does not tell who has an account.
    const hash = account?.passwordHash ?? (await this.#dummy());
    const matches = await this.#deps.hasher.verify(hash, body.password);
    if (account === undefined || !matches) {
      this.#deps.metrics.authFailures.inc({ reason: 'bad_password' });
      throw new ParleyError('auth_failed', 'wrong username or password');
    }
    const status = await this.#deps.store.getUserStatus(account.userId);
    if (status?.banned === true) {
      this.#deps.metrics.authFailures.inc({ reason: 'banned' });
      throw new ParleyError('auth_failed', 'this user is banned');
    }
    const user = await this.#deps.store.getUser(account.userId);
    return {
      status: 200,
      body: await this.#session({ id: account.userId, username: user?.username ?? body.username }),
    };
  }

  async #refresh(ctx: Context): Promise<Reply> {
    this.#throttleLogin(ctx.ip);
    const body = parse(RefreshBody, await this.#body(ctx));
    const id = await this.#deps.store.takeRefreshToken(refreshId(body.refresh_token), Date.now());
    const status = id === undefined ? undefined : await this.#deps.store.getUserStatus(id);
    const user = id === undefined ? undefined : await this.#deps.store.getUser(id);
    if (user === undefined || status === undefined || status.banned) {
      this.#deps.metrics.authFailures.inc({ reason: 'bad_refresh_token' });
      throw new ParleyError('auth_failed', 'refresh token is invalid, expired or already used');
    }
    return { status: 200, body: await this.#session({ id: user.id, username: user.username }) };
  }

  /** An access token and a fresh refresh token for the user. */
  async #session(user: UserInfo): Promise<{
    user: UserInfo;
    token: string;
    expires_at: number;
    refresh_token: string;
    refresh_expires_at: number;
  }> {
    const status = await this.#deps.store.getUserStatus(user.id);
    const access: IssuedToken = await this.#deps.issuer.issue(user, {
      notBefore: status?.tokensValidAfter ?? 0,
    });
    const refresh = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
    const refreshExpiresAt = Date.now() + this.#deps.api.refreshTokenTtlSeconds * 1000;
    await this.#deps.store.saveRefreshToken({
      id: refreshId(refresh),
      userId: user.id,
      expiresAt: refreshExpiresAt,
    });
    return {
      user,
      token: access.token,
      expires_at: access.expiresAt,
      refresh_token: refresh,
      refresh_expires_at: refreshExpiresAt,
    };
  }

  #throttleLogin(ip: string, username?: string): void {
    const wait = this.#logins.take(ip, username);
    if (wait > 0) {
      this.#deps.metrics.authFailures.inc({ reason: 'login_throttled' });
      throw new ParleyError('rate_limited', 'too many attempts; wait and try again', {
        details: { retry_after_ms: wait },
      });
    }
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= this.#deps.hasher.hash(randomBytes(16).toString('hex'));
    return this.#dummyHash;
  }

  // ─── auth of requests ─────────────────────────────────────────────────────────────────────

  async #user(ctx: Context): Promise<Actor> {
    const header = ctx.req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null) {
      this.#throttle(`ip:${ctx.ip}`);
      throw new ParleyError('not_authenticated', 'send "Authorization: Bearer <token>"');
    }
    const identity = await this.#deps.verifier.verify(match[1] as string);
    this.#throttle(`user:${identity.userId}`);
    const user: UserInfo = { id: identity.userId, username: identity.username };
    const seenKey = `${user.id}\u0000${user.username}`;
    if (!this.#seen.has(seenKey)) {
      await this.#deps.chat.sessions.seen(user);
      if (this.#seen.size >= SEEN_MAX) this.#seen.clear();
      this.#seen.add(seenKey);
    }
    return { user };
  }

  #throttle(key: string): void {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= SEEN_MAX) {
        for (const [k, b] of this.#buckets) if (b.isFull()) this.#buckets.delete(k);
      }
      bucket = new TokenBucket(this.#deps.limits.httpPerSecond, this.#deps.limits.httpBurst);
      this.#buckets.set(key, bucket);
    }
    if (!bucket.take()) {
      throw new ParleyError('rate_limited', 'too many requests', {
        details: { retry_after_ms: bucket.retryAfterMs() },
      });
    }
  }

  #requireApiKey(ctx: Context): void {
    if (this.#apiKeyDigest === undefined) {
      throw new ParleyError('forbidden', 'the server API is off: set PARLEY_API_KEY to use it');
    }
    const given = ctx.req.headers['x-api-key'];
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), this.#apiKeyDigest)) {
      this.#deps.metrics.authFailures.inc({ reason: 'bad_api_key' });
      throw new ParleyError('auth_failed', 'missing or wrong X-Api-Key');
    }
  }

  async #revoke(id: string, options: { readonly reason: string; readonly banned?: boolean }): Promise<void> {
    // The next whole second: `iat` has a resolution of one second (see JoseTokenIssuer).
    const cutoff = Math.ceil(Date.now() / 1000) * 1000;
    await this.#deps.store.setUserStatus(id, {
      tokensValidAfter: cutoff,
      ...(options.banned === true ? { banned: true } : {}),
    });
    await this.#deps.store.deleteRefreshTokens(id);
    await this.#deps.chat.disconnectUser(id, options.reason);
    this.#deps.logger.info({ user: id, banned: options.banned === true }, 'user disconnected everywhere');
  }

  async #username(id: string): Promise<string> {
    const user = await this.#deps.store.getUser(id);
    return user?.username ?? id;
  }

  async #userView(id: string): Promise<Record<string, unknown>> {
    const [user, status] = await Promise.all([
      this.#deps.store.getUser(id),
      this.#deps.store.getUserStatus(id),
    ]);
    if (user === undefined || status === undefined) throw new ParleyError('not_found', 'no such user');
    return {
      id: user.id,
      username: user.username,
      created_at: user.createdAt,
      banned: status.banned,
      tokens_valid_after: status.tokensValidAfter,
    };
  }

  /** Reads and parses a JSON body (at most `httpBodyMaxBytes`); an empty one is `{}` when allowed. */
  async #body(ctx: Context, emptyAllowed = false): Promise<unknown> {
    const max = this.#deps.limits.httpBodyMaxBytes;
    const declared = Number(ctx.req.headers['content-length'] ?? 0);
    if (declared > max) throw new ParleyError('payload_too_large', `body is larger than ${max} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > max) throw new ParleyError('payload_too_large', `body is larger than ${max} bytes`);
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    if (raw.trim() === '') {
      if (emptyAllowed) return {};
      throw new ParleyError('bad_request', 'send a JSON body');
    }
    const type = ctx.req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw new ParleyError('bad_request', 'send the body as Content-Type: application/json');
    }
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new ParleyError('invalid_json', 'body is not valid JSON');
    }
  }
}

function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** How a refresh token is stored: its SHA-256 (a database leak reveals no usable token). */
function refreshId(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function headerKey(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') return undefined;
  if (!isClientMsgId(key)) {
    throw new ParleyError(
      'bad_request',
      `Idempotency-Key must be 1–${MAX_CLIENT_MSG_ID} visible ASCII characters`,
    );
  }
  return key;
}

function memberList(
  members: readonly { userId: string; username: string; role: string; joinedAt: number }[],
): unknown[] {
  return members.map((m) => ({
    user_id: m.userId,
    username: m.username,
    role: m.role,
    joined_at: m.joinedAt,
  }));
}

function channelView(channel: Awaited<ReturnType<Store['getChannel']>>): Record<string, unknown> | undefined {
  if (channel === undefined) return undefined;
  return {
    id: channel.id,
    kind: channel.kind,
    title: channel.title,
    topic: channel.topic,
    archived: channel.archived,
    last_seq: channel.lastSeq,
    created_by: channel.createdBy,
    created_at: channel.createdAt,
  };
}

/** Sends a catalogue error as JSON. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, status?: number): void {
  const data = JSON.stringify(errorBody(code, message));
  res.writeHead(status ?? ERRORS[code].status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(data);
}
