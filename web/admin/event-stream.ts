/** Reads the admin event stream (Server-Sent Events over fetch, so the credential travels in headers). */
import type { AdminApi } from './admin-api.js';

/** One event of the stream: its name and its JSON data. */
export interface StreamEvent {
  readonly event: string;
  readonly data: unknown;
}

/**
 * Opens `GET /api/admin/events` with the filters and calls `onEvent` for each event until
 * `signal` aborts; resolves when the stream ends, rejects when it cannot open.
 */
export async function readEventStream(
  api: AdminApi,
  filter: { readonly channel?: string; readonly user?: string },
  onEvent: (e: StreamEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const url = new URL('api/admin/events', api.base);
  if (filter.channel) url.searchParams.set('channel', filter.channel);
  if (filter.user) url.searchParams.set('user', filter.user);
  const res = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...api.headers() },
    credentials: 'omit',
    signal,
  });
  if (!res.ok || res.body === null) {
    const data = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    throw new Error(data?.error?.message ?? `HTTP ${res.status}`);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    let end = pending.indexOf('\n\n');
    while (end >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      try {
        onEvent({ event, data: JSON.parse(data) as unknown });
      } catch {
        // A block that is not JSON is not one of ours.
      }
      end = pending.indexOf('\n\n');
    }
  }
}
