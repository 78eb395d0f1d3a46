import type { Worker } from 'node:cluster';
import type { PresenceReply, PresenceRequest } from './cluster-presence.js';
import { MemoryPresence } from './memory-presence.js';

/**
 * The primary's half of ClusterPresence: answers workers' presence requests from one
 * MemoryPresence, and removes a worker's connections when it exits.
 */
export class ClusterPresenceHost {
  readonly #presence = new MemoryPresence();
  // worker → its connections: channel + connection id
  readonly #owned = new Map<Worker, Set<string>>();

  add(worker: Worker): void {
    const owned = new Set<string>();
    this.#owned.set(worker, owned);
    worker.on('message', (message: unknown) => {
      const m = message as Partial<PresenceRequest> | null;
      if (m?.parley !== 'presence' || typeof m.id !== 'number' || typeof m.channel !== 'string') return;
      void this.#answer(worker, owned, m as PresenceRequest);
    });
    worker.once('exit', () => {
      this.#owned.delete(worker);
      for (const key of owned) {
        const [channel, connectionId] = key.split('\u0000') as [string, string];
        void this.#presence.leave(channel, connectionId);
      }
    });
  }

  async #answer(worker: Worker, owned: Set<string>, m: PresenceRequest): Promise<void> {
    let result: PresenceReply['result'] = null;
    const key = `${m.channel}\u0000${m.connectionId ?? ''}`;
    if (m.op === 'join' && m.connectionId !== undefined && m.user !== undefined) {
      owned.add(key);
      result = await this.#presence.join(m.channel, m.connectionId, m.user);
    } else if (m.op === 'leave' && m.connectionId !== undefined) {
      owned.delete(key);
      result = (await this.#presence.leave(m.channel, m.connectionId)) ?? null;
    } else if (m.op === 'list') {
      result = await this.#presence.list(m.channel);
    } else if (m.op === 'count') {
      result = await this.#presence.count(m.channel);
    }
    const reply: PresenceReply = { parley: 'presence-reply', id: m.id, result };
    if (worker.isConnected()) worker.send(reply, undefined, undefined, () => {});
  }
}
