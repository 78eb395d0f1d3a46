import WebSocket from 'ws';
import { ParleyClient } from '../client/parley-client.js';
import { ParleyClientError } from '../client/parley-client-error.js';
import type { CliIo } from './cli-io.js';
import { UsageError } from './usage-error.js';

/** The connection flags shared by the commands that talk to a server. */
export interface ConnectFlags {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  /** How long the first connection may take. */
  readonly timeoutMs: number;
  /** Gives up connecting (the promise rejects, the client is closed). */
  readonly signal?: AbortSignal;
}

/**
 * Creates a client for `--url`/`--token` (or `PARLEY_URL`/`PARLEY_TOKEN`) and resolves once
 * it is authenticated. Rejects with the server's refusal (e.g. `auth_failed`) or with
 * `timeout` naming the last failure; the client is closed when it rejects.
 */
export async function connectClient(flags: ConnectFlags, io: CliIo, usage: string): Promise<ParleyClient> {
  const rawUrl = flags.url ?? io.env.PARLEY_URL;
  const token = flags.token ?? io.env.PARLEY_TOKEN;
  if (rawUrl === undefined || rawUrl === '') throw new UsageError('--url (or PARLEY_URL) is required', usage);
  if (token === undefined || token === '')
    throw new UsageError('--token (or PARLEY_TOKEN) is required', usage);
  const url = socketUrl(rawUrl, usage);
  const client = new ParleyClient({ url, token, WebSocket });
  let lastFailure = '';
  const dispose = client.on('disconnected', (event) => {
    lastFailure =
      event.reason === '' ? ` (last attempt closed with ${event.code})` : ` (last attempt: ${event.reason})`;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ParleyClientError(
                'timeout',
                `could not connect to ${url} within ${flags.timeoutMs} ms${lastFailure}`,
              ),
            ),
          flags.timeoutMs,
        );
        onAbort = () => reject(new ParleyClientError('unavailable', 'stopped before connecting'));
        if (flags.signal?.aborted === true) onAbort();
        flags.signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    return client;
  } catch (err) {
    await client.close();
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) flags.signal?.removeEventListener('abort', onAbort);
    dispose();
  }
}

/** The socket URL for `raw`: `http(s)` becomes `ws(s)`, and a URL without a path gets `/ws`. */
function socketUrl(raw: string, usage: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be a URL like ws://localhost:8080/ws, got "${raw}"`, usage);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(`--url must be a ws:// or wss:// URL, got "${raw}"`, usage);
  }
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/ws';
  return url.href;
}
