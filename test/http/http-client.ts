/** A JSON answer of the HTTP API. */
export interface ApiReply {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  readonly body: any;
  readonly headers: Headers;
}

/** Calls the HTTP API of a test server with fetch: JSON in and out. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: {
    readonly token?: string;
    readonly apiKey?: string;
    readonly body?: unknown;
    readonly headers?: Record<string, string>;
  } = {},
): Promise<ApiReply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  if (options.apiKey !== undefined) headers['X-Api-Key'] = options.apiKey;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const raw = await response.text();
  let body: unknown = raw;
  if ((response.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(raw);
  return { status: response.status, body, headers: response.headers };
}
