import type { ChannelKind, Message } from '../../protocol/frames.js';
import type { PushEntry, PushStore } from '../store/push-store.js';
import { mentionedNames, mentions } from './push-payload.js';

/** Options of a `PushScheduler`. */
export interface PushSchedulerOptions {
  readonly store: PushStore;
  /** The channel's kind (the core's cached channel), undefined for an unknown channel. */
  readonly channelKind: (channelId: string) => Promise<ChannelKind | undefined>;
  /** How long a message waits before it is pushed. */
  readonly graceMs: number;
  /** Messages waiting to be looked at; past it they are not pushed (and counted in `dropped`). */
  readonly queueMax: number;
  /** Called after pushes were queued, with when they are due. */
  readonly onQueued: (dueAt: number) => void;
  readonly onError: (err: unknown, what: string) => void;
}

/** Messages looked at in one round. */
const BATCH = 32;

/**
 * Decides, for each new message (on the node that committed it, so once per message), whom it
 * may be pushed to, and queues those pushes in the Store, due after the grace period: a DM to
 * its other members (unless they chose `none` there), a mention to the user mentioned (unless
 * `none`), any message to those who chose `all` in its channel. Only users with a subscription
 * are considered; whether they may read the channel, are away, and have not read it yet is
 * decided when the push is due (`PushSender`). The queue in memory is bounded; what is in it
 * when the node dies is not pushed (queued rows are: they are in the Store).
 */
export class PushScheduler {
  readonly #o: PushSchedulerOptions;
  readonly #queue: Message[] = [];
  #running = false;
  #closed = false;
  /** Messages not looked at because the queue was full. */
  dropped = 0;

  constructor(options: PushSchedulerOptions) {
    this.#o = options;
  }

  /** A message was committed. */
  messageCreated(message: Message): void {
    // Events triggered through the Pusher-compatible API are an app's data, not chat messages.
    if (this.#closed || message.event !== undefined) return;
    if (this.#queue.length >= this.#o.queueMax) {
      this.dropped++;
      return;
    }
    this.#queue.push(message);
    if (!this.#running) void this.#drain();
  }

  /** Resolves once the messages queued so far were looked at (tests, drain). */
  async idle(): Promise<void> {
    while (this.#running || this.#queue.length > 0) await new Promise((r) => setImmediate(r));
  }

  /** Stops taking messages; those still queued are dropped. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue.splice(0, BATCH);
        const entries = (await Promise.all(batch.map((m) => this.#entriesOf(m)))).flat();
        if (entries.length === 0) continue;
        const now = Date.now();
        const dueAt = now + this.#o.graceMs;
        try {
          await this.#o.store.queuePushes(entries, now, dueAt);
          this.#o.onQueued(dueAt);
        } catch (err) {
          this.#o.onError(err, 'queueing pushes');
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #entriesOf(message: Message): Promise<PushEntry[]> {
    try {
      const kind = await this.#o.channelKind(message.channel);
      if (kind === undefined) return [];
      const dm = kind === 'dm';
      const candidates = await this.#o.store.pushCandidates({
        channelId: message.channel,
        senderId: message.user_id,
        members: dm,
        mentioned: mentionedNames(message.text),
      });
      const entries: PushEntry[] = [];
      for (const c of candidates) {
        const level = c.level ?? (dm ? 'all' : 'mentions');
        if (level === 'none') continue;
        const mentioned = mentions(message.text, c.username);
        // `mentions`: mentions and DMs only.
        if (level === 'mentions' && !dm && !mentioned) continue;
        entries.push({
          userId: c.userId,
          channelId: message.channel,
          seq: message.seq,
          messageId: message.id,
          urgent: dm || mentioned,
        });
      }
      return entries;
    } catch (err) {
      this.#o.onError(err, 'finding whom to push');
      return [];
    }
  }
}
