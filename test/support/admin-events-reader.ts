/** An admin console's event stream (`GET /api/admin/events`) read by a test, as the console reads it. */
export interface AdminEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** A test's reader of the admin event stream: every event and the raw text, and waits for one. */
export class AdminEventsReader {
  readonly events: AdminEvent[] = [];
  /** Everything the stream sent, as text (to check what it must never contain). */
  raw = '';
  readonly #abort = new AbortController();
  #waiters: { pred: (e: AdminEvent) => boolean; resolve: (e: AdminEvent) => void }[] = [];
  #ended: Promise<void> = Promise.resolve();

  private constructor() {}

  /** Opens the stream with `headers` (the credential) and `query` (the filters); resolves after `hello`. */
  static async open(
    httpUrl: string,
    headers: Record<string, string>,
    query: Record<string, string> = {},
  ): Promise<AdminEventsReader> {
    const reader = new AdminEventsReader();
    const url = new URL('/api/admin/events', httpUrl);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const res = await fetch(url, { headers, signal: reader.#abort.signal });
    if (!res.ok || res.body === null) throw new Error(`stream refused: ${res.status} ${await res.text()}`);
    const body = res.body.pipeThrough(new TextDecoderStream()).getReader();
    reader.#ended = (async () => {
      let pending = '';
      try {
        for (;;) {
          const { value, done } = await body.read();
          if (done) return;
          reader.raw += value;
          pending += value;
          for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
            const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as Record<string, unknown>;
            reader.#push({ event, data });
          }
        }
      } catch {
        // Aborted by close().
      }
    })();
    await reader.next((e) => e.event === 'hello');
    return reader;
  }

  /** The first event (already received or to come) that `pred` accepts; rejects after `timeoutMs`. */
  next(pred: (e: AdminEvent) => boolean, timeoutMs = 10_000): Promise<AdminEvent> {
    const seen = this.events.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no such admin event in time')), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** The debug events received so far (every `trace` event's entries). */
  entries(): Record<string, unknown>[] {
    return this.events
      .filter((e) => e.event === 'trace')
      .flatMap((e) => e.data.entries as Record<string, unknown>[]);
  }

  /** Waits for a debug event that `pred` accepts. */
  async entry(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const event = await this.next(
      (e) => e.event === 'trace' && (e.data.entries as Record<string, unknown>[]).some(pred),
      timeoutMs,
    );
    return (event.data.entries as Record<string, unknown>[]).find(pred) as Record<string, unknown>;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#ended;
  }

  #push(e: AdminEvent): void {
    this.events.push(e);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred(e)) return true;
      w.resolve(e);
      return false;
    });
  }
}
