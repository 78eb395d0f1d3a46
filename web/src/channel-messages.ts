import type { Message, UpdateEvent } from '../../src/client/index.js';
import { type Api, channelPath } from './api.js';
import type { ChannelState } from './channel-state.js';

/** An update that changes one delivered message. */
export type MessageUpdate = Extract<
  UpdateEvent,
  { readonly type: 'message_edited' | 'message_deleted' | 'reaction' }
>;

/** What {@link ChannelMessages} needs of the model that holds the channels. */
export interface ChannelMessagesHost {
  /** A known channel by id. */
  channel(id: string): ChannelState | undefined;
  /** Replaces some fields of a known channel (nothing when it is unknown) and announces the change. */
  patch(id: string, patch: Partial<ChannelState>): void;
  /** Shows why something failed. */
  tell(err: unknown): void;
}

const PAGE = 50;

/**
 * The message list of each channel: pages loaded over the HTTP API and joined to what the SDK
 * delivered, kept as one gap-free run ending at the latest message, and the changes to its
 * messages (edits, deletions, reactions).
 */
export class ChannelMessages {
  readonly #api: Api;
  readonly #host: ChannelMessagesHost;

  constructor(api: Api, host: ChannelMessagesHost) {
    this.#api = api;
    this.#host = host;
  }

  /** Loads the latest page of channel `id` and keeps the run that ends at its latest message. */
  async loadLatest(id: string): Promise<void> {
    try {
      const page = await this.#page(id, { limit: PAGE });
      const state = this.#host.channel(id);
      if (state === undefined) return;
      // Keep only the run that ends at the latest message (older loaded ones may not join it).
      const messages = tail(merge(page.messages, state.messages));
      const stored = new Set(messages.map((m) => m.client_msg_id));
      this.#host.patch(id, {
        messages,
        loaded: true,
        hasMoreBefore: page.has_more || (messages[0]?.seq ?? 1) > 1,
        summary: { ...state.summary, last_seq: Math.max(state.summary.last_seq, messages.at(-1)?.seq ?? 0) },
        // A send whose stored message came with the page (before its ack) is shown once.
        pending: state.pending.filter((p) => !stored.has(p.clientMsgId)),
      });
    } catch (err) {
      this.#host.tell(err);
    }
  }

  /** Loads the page of messages before the first one loaded. */
  async loadOlder(id: string): Promise<void> {
    const state = this.#host.channel(id);
    if (state === undefined || !state.hasMoreBefore || state.loadingOlder || state.messages.length === 0)
      return;
    this.#host.patch(id, { loadingOlder: true });
    const before = state.messages[0]?.seq ?? 1;
    try {
      const page = await this.#page(id, { before, limit: PAGE });
      const now = this.#host.channel(id);
      if (now === undefined) return;
      // A reset meanwhile started another run: this page does not join it.
      if (now.messages[0]?.seq !== before) return this.#host.patch(id, { loadingOlder: false });
      this.#host.patch(id, {
        messages: merge(page.messages, now.messages),
        hasMoreBefore: page.has_more,
        loadingOlder: false,
      });
    } catch (err) {
      this.#host.patch(id, { loadingOlder: false });
      this.#host.tell(err);
    }
  }

  /** Applies an edit, a deletion or a reaction to the message it names, when it is loaded. */
  apply(u: MessageUpdate): void {
    switch (u.type) {
      case 'message_edited':
        this.#patchMessage(u.channel, u.seq, (m) => ({ ...m, text: u.text, edited_at: u.edited_at }));
        return;
      case 'message_deleted':
        this.#patchMessage(u.channel, u.seq, (m) => {
          const { reactions: _r, ...rest } = m;
          return { ...rest, text: '', deleted: true };
        });
        return;
      case 'reaction':
        this.#patchMessage(u.channel, u.seq, (m) => {
          const list = [...(m.reactions ?? [])];
          const i = list.findIndex((r) => r.emoji === u.emoji);
          const before = list[i];
          const users = new Set(before?.user_ids ?? []);
          if (u.added) users.add(u.user_id);
          else users.delete(u.user_id);
          const next = { emoji: u.emoji, count: u.count, user_ids: [...users].sort() };
          if (i >= 0) {
            if (u.count > 0) list[i] = next;
            else list.splice(i, 1);
          } else if (u.count > 0) list.push(next);
          return { ...m, reactions: list };
        });
        return;
      default:
        // Every message update kind is handled above (a new one fails to compile here).
        u satisfies never;
    }
  }

  async #page(
    id: string,
    q: { before?: number; limit: number },
  ): Promise<{ messages: Message[]; has_more: boolean }> {
    return this.#api.get<{ messages: Message[]; has_more: boolean }>(channelPath(id, '/messages'), q);
  }

  #patchMessage(id: string, seq: number, fn: (m: Message) => Message): void {
    const state = this.#host.channel(id);
    if (state === undefined) return;
    const i = state.messages.findIndex((m) => m.seq === seq);
    if (i < 0) return;
    const messages = [...state.messages];
    messages[i] = fn(messages[i] as Message);
    this.#host.patch(id, { messages });
  }
}

/** Two ascending lists as one, each seq once (the later list's object wins). */
export function merge(a: readonly Message[], b: readonly Message[]): Message[] {
  const bySeq = new Map<number, Message>();
  for (const m of a) bySeq.set(m.seq, m);
  for (const m of b) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
}

/** The gap-free run at the end of an ascending list. */
export function tail(messages: readonly Message[]): Message[] {
  let start = messages.length - 1;
  while (start > 0 && (messages[start - 1] as Message).seq === (messages[start] as Message).seq - 1) start--;
  return messages.slice(Math.max(0, start));
}
