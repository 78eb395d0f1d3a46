import type { CliIo } from '../cli-io.js';
import { connectClient } from '../connect-client.js';
import { parseDuration } from '../parse-duration.js';
import { parseFlags } from '../parse-flags.js';
import { USAGE } from '../usage.js';
import { UsageError } from '../usage-error.js';

/**
 * `parley send`: publishes one message and prints its ack as one JSON line. Retries after a
 * lost connection reuse the same `client_msg_id`, so the message is stored once.
 */
export async function send(argv: readonly string[], io: CliIo): Promise<number> {
  const usage = USAGE.send;
  const { values, positionals } = parseFlags(
    argv,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      channel: { type: 'string' },
      'client-msg-id': { type: 'string' },
      timeout: { type: 'string', default: '30s' },
    },
    usage,
  );
  const channel = values.channel;
  if (channel === undefined || channel === '') throw new UsageError('--channel is required', usage);
  const text = positionals.join(' ');
  if (text.trim() === '') throw new UsageError('the message TEXT is required', usage);
  const timeoutMs = parseDuration(values.timeout, '--timeout', usage) * 1000;
  const client = await connectClient({ url: values.url, token: values.token, timeoutMs }, io, usage);
  try {
    const ack = await client.publish(channel, text, {
      timeoutMs,
      ...(values['client-msg-id'] === undefined ? {} : { clientMsgId: values['client-msg-id'] }),
    });
    io.out(
      JSON.stringify({
        id: ack.id,
        seq: ack.seq,
        channel: ack.channel,
        ts: ack.ts,
        client_msg_id: ack.client_msg_id,
        duplicate: ack.duplicate,
      }),
    );
    return 0;
  } finally {
    await client.close();
  }
}
