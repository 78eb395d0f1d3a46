import type { Message } from '../../protocol/frames.js';
import type { CliIo } from '../cli-io.js';
import { connectClient } from '../connect-client.js';
import { parseDuration } from '../parse-duration.js';
import { parseCount, parseFlags } from '../parse-flags.js';
import { USAGE } from '../usage.js';
import { UsageError } from '../usage-error.js';

/**
 * `parley listen`: prints a channel's messages as JSON lines, each once and in seq order —
 * those after `--since` (or the last `--history`) first, then live ones — until SIGINT or
 * SIGTERM (exit 0). Lost connections are resumed from the last seq printed.
 */
export async function listen(argv: readonly string[], io: CliIo): Promise<number> {
  const usage = USAGE.listen;
  const { values, positionals } = parseFlags(
    argv,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      channel: { type: 'string' },
      since: { type: 'string' },
      history: { type: 'string' },
      timeout: { type: 'string', default: '10s' },
    },
    usage,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, usage);
  const channel = values.channel;
  if (channel === undefined || channel === '') throw new UsageError('--channel is required', usage);
  const since = values.since === undefined ? undefined : parseCount(values.since, '--since', usage);
  const history = values.history === undefined ? undefined : parseCount(values.history, '--history', usage);
  const timeoutMs = parseDuration(values.timeout, '--timeout', usage) * 1000;

  let finish!: (exitCode: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const stop = new AbortController();
  const disposeStop = io.onStop(() => {
    stop.abort();
    finish(0);
  });
  try {
    let client: Awaited<ReturnType<typeof connectClient>>;
    try {
      client = await connectClient(
        { url: values.url, token: values.token, timeoutMs, signal: stop.signal },
        io,
        usage,
      );
    } catch (err) {
      if (stop.signal.aborted) return 0;
      throw err;
    }
    try {
      client.on('message', (m) => {
        if (m.channel === channel) io.out(messageLine(m));
      });
      client.on('reset', (r) =>
        io.err(`parley: ${r.channel} was reset (epoch ${r.epoch}); continuing at seq ${r.last_seq}`),
      );
      client.on('disconnected', (d) =>
        io.err(`parley: disconnected (${d.code}${d.reason === '' ? '' : ` ${d.reason}`}); reconnecting`),
      );
      client.on('error', (e) => io.err(`parley: ${e.code}: ${e.message}`));
      client.on('unsubscribed', (u) => {
        if (u.channel !== channel || u.reason !== 'removed') return;
        io.err(`parley: forbidden: no longer subscribed to ${channel}`);
        finish(4);
      });
      client.on('closed', (c) => {
        if (c.code === 1000) return;
        io.err(`parley: ${c.error.code}: ${c.error.message}`);
        finish(c.error.exitCode);
      });
      // 'history' recovery pages through every missed message rather than skipping to the latest.
      const subscribed = client.subscribe(channel, {
        recover: 'history',
        history: history ?? (since === undefined ? 0 : 50),
        ...(since === undefined ? {} : { since }),
      });
      try {
        await Promise.race([subscribed, finished]);
      } catch (err) {
        // A terminal close rejects the subscribe too; the closed listener already reported it.
        if (client.state === 'closed') return await finished;
        throw err;
      }
      return await finished;
    } finally {
      await client.close();
    }
  } finally {
    disposeStop();
  }
}

/** One message as the JSON line `listen` prints. */
function messageLine(m: Message): string {
  return JSON.stringify({
    id: m.id,
    seq: m.seq,
    channel: m.channel,
    user_id: m.user_id,
    username: m.username,
    text: m.text,
    ts: m.ts,
  });
}
