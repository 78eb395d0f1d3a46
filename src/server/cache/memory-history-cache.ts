import type { Message } from '../../protocol/frames.js';
import { completeRange, type HistoryCache } from './history-cache.js';

/** Options of a MemoryHistoryCache. */
export interface MemoryHistoryCacheOptions {
  /** Messages kept per channel. */
  readonly perChannel?: number;
  /** Channels kept; the least recently written one is dropped beyond it. */
  readonly maxChannels?: number;
}

/** The in-process HistoryCache of one node. */
export class MemoryHistoryCache implements HistoryCache {
  readonly #perChannel: number;
  readonly #maxChannels: number;
  // Insertion order of the Map = least recently written first.
  readonly #channels = new Map<string, Message[]>();

  constructor(options: MemoryHistoryCacheOptions = {}) {
    this.#perChannel = options.perChannel ?? 100;
    this.#maxChannels = options.maxChannels ?? 10_000;
  }

  async add(message: Message): Promise<void> {
    let list = this.#channels.get(message.channel);
    if (list === undefined) {
      list = [];
      if (this.#channels.size >= this.#maxChannels) {
        const oldest = this.#channels.keys().next().value;
        if (oldest !== undefined) this.#channels.delete(oldest);
      }
    } else {
      this.#channels.delete(message.channel);
    }
    this.#channels.set(message.channel, list);
    // Messages almost always arrive in seq order: search from the end.
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > message.seq) i--;
    if (i > 0 && list[i - 1]!.seq === message.seq) return;
    list.splice(i, 0, message);
    if (list.length > this.#perChannel) list.splice(0, list.length - this.#perChannel);
  }

  async range(channel: string, after: number, upTo: number): Promise<readonly Message[] | undefined> {
    const list = this.#channels.get(channel) ?? [];
    return completeRange(
      list.filter((m) => m.seq > after && m.seq <= upTo),
      after,
      upTo,
    );
  }

  async invalidate(channel: string): Promise<void> {
    this.#channels.delete(channel);
  }

  async close(): Promise<void> {
    this.#channels.clear();
  }
}
