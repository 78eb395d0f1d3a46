import type { ParleyClient, UserInfo } from '../../src/client/index.js';
import type { ChannelState } from './channel-state.js';

/** What a {@link TypingIndicator} needs of the model that holds the channels. */
export interface TypingHost {
  /** A known channel by id. */
  channel(id: string): ChannelState | undefined;
  /** Replaces some fields of a known channel (nothing when it is unknown) and announces the change. */
  patch(id: string, patch: Partial<ChannelState>): void;
}

const TYPING_SHOWN_MS = 6_000;
const TYPING_SENT_EVERY_MS = 3_000;

/**
 * Who is typing in each channel, each shown for a few seconds after their last signal, and
 * this user's own typing signals, sent at most every few seconds per channel.
 */
export class TypingIndicator {
  readonly #client: Pick<ParleyClient, 'typing'>;
  readonly #me: UserInfo;
  readonly #host: TypingHost;
  readonly #typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #typingSentAt = new Map<string, number>();

  constructor(client: Pick<ParleyClient, 'typing'>, me: UserInfo, host: TypingHost) {
    this.#client = client;
    this.#me = me;
    this.#host = host;
  }

  /** Tells the others this user is typing in channel `id`, unless it did so a moment ago. */
  typing(id: string): void {
    const now = Date.now();
    if (now - (this.#typingSentAt.get(id) ?? 0) < TYPING_SENT_EVERY_MS) return;
    this.#typingSentAt.set(id, now);
    this.#client.typing(id);
  }

  /** Shows `user` as typing in channel `id` for the next few seconds (never this user). */
  onTyping(id: string, user: UserInfo): void {
    const state = this.#host.channel(id);
    if (state === undefined || user.id === this.#me.id) return;
    const key = `${id}\u0000${user.id}`;
    clearTimeout(this.#typingTimers.get(key));
    this.#typingTimers.set(
      key,
      setTimeout(() => {
        this.#typingTimers.delete(key);
        const now = this.#host.channel(id);
        if (now !== undefined) this.#host.patch(id, { typing: now.typing.filter((u) => u.id !== user.id) });
      }, TYPING_SHOWN_MS),
    );
    if (!state.typing.some((u) => u.id === user.id))
      this.#host.patch(id, { typing: [...state.typing, user] });
  }

  /** Stops the timers that would hide who is typing. */
  dispose(): void {
    for (const t of this.#typingTimers.values()) clearTimeout(t);
  }
}
