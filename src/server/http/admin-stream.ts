import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeReport, TraceEntry } from '../core/admin-events.js';
import type { AdminConsole, AdminFeed } from '../core/admin-feed.js';

/** What one console's stream is given. */
export interface AdminStreamOptions {
  readonly feed: AdminFeed;
  readonly channel?: string | undefined;
  readonly user?: string | undefined;
  /** Bytes waiting on the socket beyond which events are dropped (`adminConsoleBufferBytes`). */
  readonly bufferBytes: number;
}

/**
 * Streams the admin feed to one console as Server-Sent Events (#17): `hello` first (this node,
 * the filters), then `nodes` every watch period and `trace` with the debug events that pass the
 * filters. Bounded: while more than `bufferBytes` wait unsent (a slow console), events are
 * dropped, and the next `trace` says how many (`dropped`: those and the nodes' own). Ends when
 * the console goes away.
 */
export async function streamAdminFeed(
  req: IncomingMessage,
  res: ServerResponse,
  options: AdminStreamOptions,
): Promise<void> {
  let dropped = 0;
  // Nothing goes before `hello` (its nodes are those the feed sends on opening).
  let live = false;
  const send = (event: string, data: unknown): boolean => {
    if (res.destroyed || (!live && event !== 'hello')) return false;
    if (res.writableLength > options.bufferBytes) return false;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return true;
  };
  const console: AdminConsole = {
    channel: options.channel,
    user: options.user,
    trace(entries: readonly TraceEntry[], nodeDropped: number): void {
      const total = dropped + nodeDropped;
      if (send('trace', { entries, dropped: total })) dropped = 0;
      else dropped += entries.length + nodeDropped;
    },
    nodes(reports: readonly NodeReport[]): void {
      send('nodes', { nodes: reports });
    },
  };
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    // A proxy must pass events on as they come, not gather the response.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  let stop: (() => void) | undefined;
  let gone = false;
  req.socket.once('close', () => {
    gone = true;
    stop?.();
  });
  try {
    stop = await options.feed.open(console);
  } catch (err) {
    res.end(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
    return;
  }
  if (gone) {
    stop();
    return;
  }
  live = true;
  send('hello', {
    node: options.feed.node,
    channel: options.channel ?? null,
    user: options.user ?? null,
    nodes: options.feed.nodes(),
  });
}
