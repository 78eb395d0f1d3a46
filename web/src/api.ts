/** The HTTP API (docs/api.md) as the page uses it. */

/** An error answer of the API: `{ error: { code, message } }` with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Calls the API under `base` (the page's own origin and path), with the user's token when there is one. */
export class Api {
  readonly #base: URL;
  readonly #token: (() => Promise<string>) | undefined;

  constructor(base: URL, token?: () => Promise<string>) {
    this.#base = base;
    this.#token = token;
  }

  /** The same API, authenticated with `token`. */
  withToken(token: () => Promise<string>): Api {
    return new Api(this.#base, token);
  }

  /** `GET path?query`, resolving with the JSON answer; throws ApiError. */
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
    const url = new URL(path, this.#base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return this.#request('GET', url);
  }

  /** `POST path` with a JSON body. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.#request('POST', new URL(path, this.#base), body);
  }

  /** `PUT path` with a JSON body. */
  put<T>(path: string, body: unknown): Promise<T> {
    return this.#request('PUT', new URL(path, this.#base), body);
  }

  /** `DELETE path`, with a JSON body when given. */
  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.#request('DELETE', new URL(path, this.#base), body);
  }

  /** A path of the API as an absolute URL (attachment URLs are given as `/api/…` paths). */
  resolve(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.#base);
  }

  /**
   * `POST path` with `file` as the multipart field `file`, reporting upload progress (0–1);
   * resolves with the JSON answer; throws ApiError.
   */
  async upload<T>(
    path: string,
    file: Blob,
    name: string,
    onProgress: (fraction: number) => void,
  ): Promise<T> {
    const token = this.#token === undefined ? undefined : await this.#token();
    const form = new FormData();
    form.append('file', file, name);
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', new URL(path, this.#base));
      if (token !== undefined) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () =>
        reject(new ApiError(0, 'unavailable', 'Parley cannot be reached; check your connection.'));
      xhr.onload = () => {
        let data: unknown;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = undefined;
        }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(data as T);
        const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
        reject(new ApiError(xhr.status, error?.code ?? 'internal', error?.message ?? `HTTP ${xhr.status}`));
      };
      xhr.send(form);
    });
  }

  async #request<T>(method: string, url: URL, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.#token !== undefined) headers.Authorization = `Bearer ${await this.#token()}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, 'unavailable', 'Parley cannot be reached; check your connection.');
    }
    if (res.status === 204) return undefined as T;
    const data: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, error?.code ?? 'internal', error?.message ?? `HTTP ${res.status}`);
    }
    return data as T;
  }
}

/** `/api/channels/:id…` with the id escaped. */
export function channelPath(id: string, rest = ''): string {
  return `api/channels/${encodeURIComponent(id)}${rest}`;
}
