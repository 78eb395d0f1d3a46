import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Accounts } from '../auth/accounts.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { clientIp } from '../client-ip.js';
import type { ApiConfig, Limits } from '../config.js';
import type { ChatService } from '../core/chat-service.js';
import type { ParleyMetrics } from '../metrics/parley-metrics.js';
import type { PushService } from '../push/push-service.js';
import { RequestAuth } from './request-auth.js';
import type { Handler, Reply, RequestContext } from './request-context.js';
import { Router } from './router.js';
import { accountsRoutes } from './routes/accounts-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { attachmentRoutes } from './routes/attachment-routes.js';
import { moderationRoutes } from './routes/moderation-routes.js';
import { pushRoutes } from './routes/push-routes.js';
import { type RetentionRoutesDeps, retentionRoutes } from './routes/retention-routes.js';
import { serverRoutes, type WebhookAdmin } from './routes/server-routes.js';
import { userRoutes } from './routes/user-routes.js';
import { userSearchRoutes } from './routes/user-search-routes.js';
import type { WebPage } from './web-page.js';

/** What `/readyz` answers (see `HttpApiDeps.ready`). */
export type Readiness = 'ready' | 'degraded' | 'unavailable';

/** The default of `HttpApiDeps.readyTimeoutMs`. */
export const DEFAULT_READY_TIMEOUT_MS = 2000;

/** What the HTTP API runs on. */
export interface HttpApiDeps {
  /**
   * `ready`; `degraded` when the node serves but its bus to other nodes is down (acks and local
   * delivery go on, other nodes catch up later); `unavailable` when the store is not reachable.
   */
  readonly ready: () => Promise<Readiness>;
  /**
   * How long `/readyz` waits for `ready` before it answers `unavailable` (503): a database
   * behind a dead link does not answer its probe until the store's deadline. Default
   * `DEFAULT_READY_TIMEOUT_MS`.
   */
  readonly readyTimeoutMs?: number;
  readonly chat: ChatService;
  /** The webhook outbox, for the server API's list and replay; none without webhooks. */
  readonly webhooks?: WebhookAdmin;
  /** Exports and erasure (issue 17); none = those routes answer 404. */
  readonly retention?: Omit<RetentionRoutesDeps, 'auth'>;
  /** Local accounts and revocation (login, refresh, log out everywhere, ban). */
  readonly accounts: Accounts;
  /** Web Push (`PARLEY_PUSH=on`); none = its routes answer not_found. */
  readonly push?: PushService | undefined;
  /** Verifies bearer tokens (revocations included). */
  readonly verifier: TokenVerifier;
  readonly api: Pick<ApiConfig, 'apiKey'>;
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

/**
 * Parley's HTTP API on the WebSocket's port (docs/api.md): accounts, channels, members, DMs,
 * messages, reactions, threads, search, read positions, the server API for the app's backend,
 * health, readiness and metrics. JSON in and out; every error is
 * `{ "error": { "code", "message" } }` with the catalogue's status, written in one place
 * (`#sendError`). The routes (routes/) only parse, call the core or `Accounts`, and shape the
 * JSON, so HTTP and WebSocket share one set of permission rules.
 */
export class HttpApi {
  readonly #deps: HttpApiDeps;
  readonly #router = new Router<Handler>();
  readonly #trusted: ReadonlySet<string>;
  /** The readiness check in flight, which concurrent `/readyz` requests share. */
  #readyCheck: Promise<Readiness> | undefined;

  constructor(deps: HttpApiDeps) {
    this.#deps = deps;
    this.#trusted = deps.trustedProxies ?? new Set();
    const { chat, accounts, metrics } = deps;
    const auth = new RequestAuth({
      verifier: deps.verifier,
      chat,
      limits: deps.limits,
      apiKey: deps.api.apiKey,
      onFailure: (reason) => metrics.authFailures.inc({ reason }),
      isAdmin: (userId) => chat.adminDirectory.isAdmin(userId),
    });
    accountsRoutes(this.#router, { accounts, auth });
    userRoutes(this.#router, { chat, auth });
    userSearchRoutes(this.#router, { chat, auth });
    serverRoutes(this.#router, { chat, accounts, auth, webhooks: deps.webhooks });
    moderationRoutes(this.#router, { chat, auth });
    if (deps.retention !== undefined) retentionRoutes(this.#router, { auth, ...deps.retention });
    adminRoutes(this.#router, { chat, auth, metrics, limits: deps.limits });
    if (chat.attachments !== undefined)
      attachmentRoutes(this.#router, { attachments: chat.attachments, auth });
    pushRoutes(this.#router, { push: deps.push, auth });
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
      return this.#sendError(res, method, new ParleyError('bad_request', 'bad request URL'));
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
        const status = await this.#readiness();
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
      const error = new ParleyError('not_found', `no route ${url.pathname.slice(0, 100)}`);
      return this.#sendError(res, method, error);
    }
    if (found.kind === 'method_not_allowed') {
      res.setHeader('Allow', found.allowed.join(', '));
      const error = new ParleyError('bad_request', `method ${method} not allowed here`);
      return this.#sendError(res, method, error, 405);
    }
    const params = found.params;
    const ctx: RequestContext = {
      req,
      url,
      params,
      ip: clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.#trusted),
      body: (emptyAllowed = false) => readJsonBody(req, this.#deps.limits.httpBodyMaxBytes, emptyAllowed),
      param: (name) => params[name] as string,
    };
    try {
      const reply = await found.handler(ctx);
      if (reply.stream !== undefined) {
        this.#deps.metrics.httpRequests.inc({ method, status: String(reply.status) });
        reply.stream(res);
        return;
      }
      if (reply.file !== undefined) return this.#sendFile(res, method, reply.status, reply.file);
      if (reply.lines !== undefined) await this.#stream(res, method, reply.status, reply.lines);
      else this.#send(res, method, reply.status, reply.body);
    } catch (err) {
      this.#sendError(res, method, this.#toParleyError(err));
    }
  }

  /**
   * `ready()`'s answer, or `unavailable` when it fails or is late. Requests share the check in
   * flight, so that a prober polling a node whose database does not answer adds no more than
   * one waiting query.
   */
  async #readiness(): Promise<Readiness> {
    this.#readyCheck ??= this.#deps
      .ready()
      .catch(() => 'unavailable' as const)
      .finally(() => {
        this.#readyCheck = undefined;
      });
    const check = this.#readyCheck;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Readiness>((resolve) => {
      timer = setTimeout(() => resolve('unavailable'), this.#deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    });
    try {
      return await Promise.race([check, late]);
    } finally {
      clearTimeout(timer);
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

  // The one place an error becomes a body: the catalogue's status (405 for a wrong method),
  // `Retry-After` for `rate_limited`, and the error's details beside its code and message.
  #sendError(res: ServerResponse, method: string, error: ParleyError, status = error.status): void {
    if (error.code === 'rate_limited' && typeof error.details?.retry_after_ms === 'number') {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.details.retry_after_ms / 1000))));
    }
    this.#send(res, method, status, {
      error: { code: error.code, message: error.message, ...(error.details ?? {}) },
    });
  }

  // NDJSON, a line at a time, waiting for the socket to drain. An error once the head is sent
  // can only cut the response short: the peer sees no final `end` record.
  async #stream(
    res: ServerResponse,
    method: string,
    status: number,
    lines: AsyncIterable<unknown>,
  ): Promise<void> {
    if (res.destroyed) return;
    this.#deps.metrics.httpRequests.inc({ method, status: String(status) });
    res.writeHead(status, { 'Content-Type': 'application/x-ndjson; charset=utf-8' });
    if (method === 'HEAD') {
      res.end();
      return;
    }
    try {
      for await (const line of lines) {
        if (res.destroyed) return;
        if (!res.write(`${JSON.stringify(line)}\n`)) await drained(res);
      }
      res.end();
    } catch (err) {
      this.#deps.logger.error({ err }, 'http stream failed');
      res.destroy();
    }
  }

  // A download: its own headers (type, disposition, CSP, caching) over the defaults.
  #sendFile(res: ServerResponse, method: string, status: number, file: NonNullable<Reply['file']>): void {
    if (res.destroyed) {
      file.body.destroy();
      return;
    }
    this.#deps.metrics.httpRequests.inc({ method, status: String(status) });
    res.writeHead(status, { ...file.headers, 'Content-Length': file.size });
    if (method === 'HEAD') {
      file.body.destroy();
      res.end();
      return;
    }
    file.body.on('error', (err) => {
      this.#deps.logger.warn({ err }, 'attachment download failed');
      res.destroy();
    });
    res.on('close', () => file.body.destroy());
    file.body.pipe(res);
  }

  #send(res: ServerResponse, method: string, status: number, body: unknown): void {
    // Nothing reaches a peer whose socket is gone (Node may have answered 408 itself).
    if (res.destroyed) return;
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
}

/** Resolves when `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Reads and parses a JSON body (at most `max` bytes); an empty one is `{}` when allowed. */
async function readJsonBody(req: IncomingMessage, max: number, emptyAllowed: boolean): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new ParleyError('payload_too_large', `body is larger than ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > max) throw new ParleyError('payload_too_large', `body is larger than ${max} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ParleyError) throw err;
    // The peer went away, or sent the body too slowly and Node answered 408 and closed the
    // socket (httpRequestTimeoutMs): a peer's doing, not a server failure to log.
    throw new ParleyError('bad_request', 'the request body did not arrive', { cause: err });
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw.trim() === '') {
    if (emptyAllowed) return {};
    throw new ParleyError('bad_request', 'send a JSON body');
  }
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new ParleyError('bad_request', 'send the body as Content-Type: application/json');
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ParleyError('invalid_json', 'body is not valid JSON');
  }
}
