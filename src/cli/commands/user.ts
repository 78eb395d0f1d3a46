import { ParleyError } from '../../protocol/error-catalogue.js';
import type { CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-flags.js';
import { USAGE } from '../usage.js';
import { UsageError } from '../usage-error.js';

/**
 * `parley user admin USER_ID [--off]`: makes a user a server admin (who may open the admin
 * console at /admin, #17), or no longer one, through the server API with its key, and prints
 * the server's answer as one JSON line.
 */
export async function user(argv: readonly string[], io: CliIo): Promise<number> {
  const usage = USAGE.user;
  const { values, positionals } = parseFlags(
    argv,
    { url: { type: 'string' }, 'api-key': { type: 'string' }, off: { type: 'boolean' } },
    usage,
  );
  const [action, userId, ...extra] = positionals;
  if (action !== 'admin') {
    throw new UsageError(
      action === undefined ? 'a user action is required' : `unknown user action "${action}"`,
      usage,
    );
  }
  if (userId === undefined || userId === '') throw new UsageError('the USER_ID is required', usage);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, usage);
  const key = values['api-key'] ?? io.env.PARLEY_API_KEY;
  if (key === undefined || key === '')
    throw new UsageError('--api-key (or PARLEY_API_KEY) is required', usage);
  const base = httpUrl(values.url ?? io.env.PARLEY_URL, usage);
  const url = new URL(`api/server/users/${encodeURIComponent(userId)}/admin`, base);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': key },
      body: JSON.stringify({ admin: values.off !== true }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ParleyError('unavailable', `could not reach ${base.origin}`, { cause: err });
  }
  const body = (await res.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string } }
    | undefined;
  if (!res.ok) {
    const code = body?.error?.code;
    throw new ParleyError(
      code === 'not_found' || code === 'auth_failed' || code === 'forbidden' || code === 'bad_request'
        ? code
        : 'internal',
      body?.error?.message ?? `HTTP ${res.status}`,
    );
  }
  io.out(JSON.stringify(body));
  return 0;
}

/** The server's HTTP base for `raw`, a socket URL (`ws://HOST:PORT/ws`) or an HTTP one. */
function httpUrl(raw: string | undefined, usage: string): URL {
  if (raw === undefined || raw === '') throw new UsageError('--url (or PARLEY_URL) is required', usage);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be a URL like http://localhost:8080, got "${raw}"`, usage);
  }
  if (url.protocol === 'ws:') url.protocol = 'http:';
  else if (url.protocol === 'wss:') url.protocol = 'https:';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s):// or ws(s):// URL, got "${raw}"`, usage);
  }
  // The socket's path (/ws) is not the API's: the API lives at the server's root.
  if (url.pathname.endsWith('/ws')) url.pathname = url.pathname.slice(0, -2);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  return url;
}
