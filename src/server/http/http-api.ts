import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from '../../protocol/error-catalogue.js';

/** What the HTTP API reports on. */
export interface HttpApiDeps {
  /** True when the store answers and migrations are done. */
  readonly ready: () => Promise<boolean>;
}

/**
 * Parley's HTTP endpoints on the WebSocket's port: health and readiness (the rest of the API
 * grows here). Every error is `{ "error": { "code", "message" } }` with the catalogue's status.
 */
export class HttpApi {
  readonly #deps: HttpApiDeps;

  constructor(deps: HttpApiDeps) {
    this.#deps = deps;
  }

  /** Handles one request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendError(res, 'bad_request', 'method not allowed', 405);
    switch (url.pathname) {
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        const ok = await this.#deps.ready().catch(() => false);
        return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable' });
      }
      case '/':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Parley is running. WebSocket endpoint: /ws. See docs/protocol.md.\n');
        return;
      default:
        return sendError(res, 'not_found', `no route ${url.pathname}`);
    }
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(data);
}

/** Sends a catalogue error as JSON. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, status?: number): void {
  sendJson(res, status ?? ERRORS[code].status, { error: { code, message } });
}
