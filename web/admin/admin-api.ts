/** The HTTP API (docs/api.md) as the admin console uses it: the server API and /api/admin. */

/** How the console signs its requests: a server admin's bearer token, or the server API key. */
export type Credential =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'key'; readonly key: string };

/** An error answer of the API, with its status and code. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }

  /** True when the server has no such endpoint (a feature this server does not have). */
  get unavailable(): boolean {
    return this.status === 404 && this.message.startsWith('no route');
  }
}

/** Calls the API under `base` (the server's root) with one credential. */
export class AdminApi {
  constructor(
    readonly base: URL,
    readonly credential: Credential,
  ) {}

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    return this.request('GET', url);
  }

  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.request(method, new URL(path, this.base), body);
  }

  /** `GET path` answered with text (an NDJSON export), as a Blob of its type. */
  async blob(path: string): Promise<Blob> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), { headers: this.headers(), credentials: 'omit' });
    } catch {
      throw new AdminApiError(0, 'unavailable', 'Parley cannot be reached.');
    }
    if (!res.ok) {
      const data = (await res.json().catch(() => undefined)) as
        | { error?: { code?: string; message?: string } }
        | undefined;
      throw new AdminApiError(
        res.status,
        data?.error?.code ?? 'internal',
        data?.error?.message ?? `HTTP ${res.status}`,
      );
    }
    return res.blob();
  }

  /** The headers that carry the credential. */
  headers(): Record<string, string> {
    return this.credential.kind === 'token'
      ? { Authorization: `Bearer ${this.credential.token}` }
      : { 'X-Api-Key': this.credential.key };
  }

  async request<T>(method: string, url: URL, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json', ...this.headers() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        credentials: 'omit',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new AdminApiError(0, 'unavailable', 'Parley cannot be reached.');
    }
    if (res.status === 204) return undefined as T;
    const data: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new AdminApiError(res.status, error?.code ?? 'internal', error?.message ?? `HTTP ${res.status}`);
    }
    return data as T;
  }
}

/** A path of the API with each segment escaped: `path('api/server/users', id, 'ban')`. */
export function path(...parts: string[]): string {
  return parts.map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/');
}

/** What an action's failure says to the admin. */
export function failure(err: unknown): string {
  if (err instanceof AdminApiError) return err.unavailable ? 'Not available on this server.' : err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Saves `blob` as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
