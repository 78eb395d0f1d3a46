import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { RouteParams } from './router.js';

/** What a route handler is given: the request, its parsed URL, path parameters and client IP. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: RouteParams;
  /** The client's address (from `X-Forwarded-For` only behind a trusted proxy). */
  readonly ip: string;
  /**
   * Reads and parses the JSON body (at most `httpBodyMaxBytes`); an empty one is `{}` when
   * `emptyAllowed`, else `bad_request`.
   */
  body(emptyAllowed?: boolean): Promise<unknown>;
  /** A path parameter of the matched route (percent-decoded). */
  param(name: string): string;
}

/** A handler's answer: a status and a JSON body (none for 204), a stream of NDJSON lines, or a file. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  /**
   * Instead of a body, a stream the handler writes itself (the admin console's events, #17):
   * called with the response once the API has set its common headers.
   */
  readonly stream?: (res: ServerResponse) => void;
  /**
   * Streamed as `application/x-ndjson` instead of `body`: one JSON value per line, written as
   * the peer reads them (a slow reader holds the iteration, not memory).
   */
  readonly lines?: AsyncIterable<unknown>;
  /** A download (attachments): its bytes, their count and its own headers. */
  readonly file?: {
    readonly body: Readable;
    readonly size: number;
    readonly headers: Readonly<Record<string, string>>;
  };
}

/** A route handler: it answers or throws a `ParleyError`, which the API turns into the body. */
export type Handler = (ctx: RequestContext) => Promise<Reply>;

/** A JSON answer (200 unless told otherwise). */
export function ok(body: unknown, status = 200): Reply {
  return { status, body };
}

/** The answer without a body. */
export const NO_CONTENT: Reply = { status: 204 };
