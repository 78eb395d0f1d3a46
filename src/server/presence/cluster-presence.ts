import type { IpcChannel } from '../bus/cluster-bus.js';
import type { Presence, PresenceUser } from './presence.js';

/** A presence request from a worker to the primary. */
export interface PresenceRequest {
  readonly parley: 'presence';
  readonly id: number;
  readonly op: 'join' | 'leave' | 'list' | 'count';
  readonly channel: string;
  readonly connectionId?: string;
  readonly user?: PresenceUser;
}

/** The primary's answer to a PresenceRequest. */
export interface PresenceReply {
  readonly parley: 'presence-reply';
  readonly id: number;
  readonly result: boolean | number | PresenceUser | readonly PresenceUser[] | null;
}

/**
 * Presence for the workers of one machine (`--workers` without Redis): the primary holds one
 * MemoryPresence for all workers (`ClusterPresenceHost`), and forgets a worker's connections
 * when it dies. Each call is one IPC round trip.
 */
export class ClusterPresence implements Presence {
  readonly #ipc: IpcChannel;
  readonly #pending = new Map<number, (result: PresenceReply['result']) => void>();
  readonly #listener: (message: unknown) => void;
  #next = 0;

  constructor(ipc: IpcChannel) {
    this.#ipc = ipc;
    this.#listener = (message) => {
      const m = message as Partial<PresenceReply> | null;
      if (m?.parley !== 'presence-reply' || typeof m.id !== 'number') return;
      const resolve = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      resolve?.(m.result ?? null);
    };
    ipc.on('message', this.#listener);
  }

  async join(channel: string, connectionId: string, user: PresenceUser): Promise<boolean> {
    return (await this.#call({ op: 'join', channel, connectionId, user })) === true;
  }

  async leave(channel: string, connectionId: string): Promise<PresenceUser | undefined> {
    const r = await this.#call({ op: 'leave', channel, connectionId });
    return r === null || typeof r !== 'object' || Array.isArray(r) ? undefined : (r as PresenceUser);
  }

  async list(channel: string): Promise<readonly PresenceUser[]> {
    const r = await this.#call({ op: 'list', channel });
    return Array.isArray(r) ? (r as readonly PresenceUser[]) : [];
  }

  async count(channel: string): Promise<number> {
    const r = await this.#call({ op: 'count', channel });
    return typeof r === 'number' ? r : 0;
  }

  async close(): Promise<void> {
    this.#ipc.off('message', this.#listener);
    for (const resolve of this.#pending.values()) resolve(null);
    this.#pending.clear();
  }

  #call(request: Omit<PresenceRequest, 'parley' | 'id'>): Promise<PresenceReply['result']> {
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      const message: PresenceRequest = { parley: 'presence', id, ...request };
      if (!this.#ipc.send(message)) {
        this.#pending.delete(id);
        resolve(null);
      }
    });
  }
}
