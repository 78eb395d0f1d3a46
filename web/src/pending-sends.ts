import type { ParleyClient } from '../../src/client/index.js';
import type { ChannelState, PendingMessage } from './channel-state.js';

/** What {@link PendingSends} needs of the model that holds the channels. */
export interface PendingSendsHost {
  /** A known channel by id. */
  channel(id: string): ChannelState | undefined;
  /** Replaces some fields of a known channel (nothing when it is unknown) and announces the change. */
  patch(id: string, patch: Partial<ChannelState>): void;
  /** Loads the latest page of a channel, which brings stored messages the subscription did not. */
  loadLatest(id: string): Promise<void>;
  /**
   * Gives a refused text back to the channel's composer, to edit (a retry could never
   * succeed), and tells the reader why.
   */
  restore(id: string, text: string, reason: string): void;
}

// Refusals no retry can change: the text goes back to the composer instead.
const GIVE_BACK = new Set(['message_too_long', 'payload_too_large']);

// How long after its ack a sent message may take to arrive on the subscription.
const ACK_GRACE_MS = 3_000;

/**
 * The composer's sends: each is shown at once as a pending message of its channel, published
 * with its own client message id (so a retry is stored at most once), and replaced by the
 * stored message when it arrives, or marked failed with the reason.
 */
export class PendingSends {
  readonly #client: Pick<ParleyClient, 'publish'>;
  readonly #newId: () => string;
  readonly #host: PendingSendsHost;
  readonly #ackTimers = new Set<ReturnType<typeof setTimeout>>();

  constructor(client: Pick<ParleyClient, 'publish'>, newId: () => string, host: PendingSendsHost) {
    this.#client = client;
    this.#newId = newId;
    this.#host = host;
  }

  /** Sends `text` to channel `id`: shown at once as pending, then as the stored message. */
  send(id: string, text: string, replyTo?: string, attachments?: readonly string[]): void {
    const pending: PendingMessage = {
      clientMsgId: this.#newId(),
      text,
      replyTo,
      ...(attachments === undefined || attachments.length === 0 ? {} : { attachments }),
      state: 'sending',
      createdAt: Date.now(),
    };
    const state = this.#host.channel(id);
    if (state === undefined) return;
    this.#host.patch(id, { pending: [...state.pending, pending] });
    void this.#publish(id, pending);
  }

  /** Sends a failed message again, with the same id: stored at most once whatever happened. */
  retry(id: string, clientMsgId: string): void {
    const p = this.#host.channel(id)?.pending.find((x) => x.clientMsgId === clientMsgId);
    if (p === undefined || p.state !== 'failed') return;
    const again: PendingMessage = { ...p, state: 'sending' };
    delete (again as { error?: string }).error;
    this.#replacePending(id, again);
    void this.#publish(id, again);
  }

  /** Forgets a failed send. */
  discard(id: string, clientMsgId: string): void {
    const state = this.#host.channel(id);
    if (state === undefined) return;
    this.#host.patch(id, {
      pending: state.pending.filter((p) => p.clientMsgId !== clientMsgId || p.state !== 'failed'),
    });
  }

  async #publish(id: string, pending: PendingMessage): Promise<void> {
    try {
      await this.#client.publish(id, pending.text, {
        clientMsgId: pending.clientMsgId,
        ...(pending.replyTo === undefined ? {} : { replyTo: pending.replyTo }),
        ...(pending.attachments === undefined ? {} : { attachments: pending.attachments }),
      });
      // The stored message arrives (or arrived) on the subscription and takes its place; should
      // it not come (the subscription failed), the latest page brings it.
      const state = this.#host.channel(id);
      if (state?.messages.some((m) => m.client_msg_id === pending.clientMsgId)) {
        this.#dropPending(id, pending.clientMsgId);
      } else {
        const timer = setTimeout(() => {
          this.#ackTimers.delete(timer);
          if (this.#host.channel(id)?.pending.some((p) => p.clientMsgId === pending.clientMsgId)) {
            void this.#host.loadLatest(id).then(() => this.#dropPending(id, pending.clientMsgId));
          }
        }, ACK_GRACE_MS);
        this.#ackTimers.add(timer);
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && GIVE_BACK.has(code)) {
        this.#dropPending(id, pending.clientMsgId);
        this.#host.restore(id, pending.text, (err as Error).message);
        return;
      }
      this.#replacePending(id, {
        ...pending,
        state: 'failed',
        error: (err as Error).message || 'not sent',
      });
    }
  }

  #replacePending(id: string, p: PendingMessage): void {
    const state = this.#host.channel(id);
    if (state === undefined) return;
    // Gone already when the stored message came first.
    if (!state.pending.some((x) => x.clientMsgId === p.clientMsgId)) return;
    this.#host.patch(id, { pending: state.pending.map((x) => (x.clientMsgId === p.clientMsgId ? p : x)) });
  }

  #dropPending(id: string, clientMsgId: string): void {
    const state = this.#host.channel(id);
    if (state !== undefined)
      this.#host.patch(id, { pending: state.pending.filter((p) => p.clientMsgId !== clientMsgId) });
  }

  /** Stops the timers of sends waiting for their stored message. */
  dispose(): void {
    for (const t of this.#ackTimers) clearTimeout(t);
  }
}
