import { type OneOrSet, withItem, withoutItem } from '../one-or-set.js';
import type { Presence, PresenceUser } from './presence.js';

interface Entry {
  readonly user: PresenceUser;
  /** The user's connections in the channel: most users have one, and keep no Set of one. */
  connections: OneOrSet<string>;
}

/** The in-process Presence of a single node. */
export class MemoryPresence implements Presence {
  // channel → user id → that user's connections in the channel
  readonly #channels = new Map<string, Map<string, Entry>>();
  // channel → connection id → user id
  readonly #byConnection = new Map<string, Map<string, string>>();

  async join(channel: string, connectionId: string, user: PresenceUser): Promise<boolean> {
    let users = this.#channels.get(channel);
    if (users === undefined) {
      users = new Map();
      this.#channels.set(channel, users);
    }
    let conns = this.#byConnection.get(channel);
    if (conns === undefined) {
      conns = new Map();
      this.#byConnection.set(channel, conns);
    }
    conns.set(connectionId, user.id);
    const entry = users.get(user.id);
    if (entry !== undefined) {
      entry.connections = withItem(entry.connections, connectionId);
      return false;
    }
    users.set(user.id, { user, connections: connectionId });
    return true;
  }

  async leave(channel: string, connectionId: string): Promise<PresenceUser | undefined> {
    const conns = this.#byConnection.get(channel);
    const userId = conns?.get(connectionId);
    if (conns === undefined || userId === undefined) return undefined;
    conns.delete(connectionId);
    if (conns.size === 0) this.#byConnection.delete(channel);
    const users = this.#channels.get(channel);
    const entry = users?.get(userId);
    if (users === undefined || entry === undefined) return undefined;
    const left = withoutItem(entry.connections, connectionId);
    if (left !== undefined) {
      entry.connections = left;
      return undefined;
    }
    users.delete(userId);
    if (users.size === 0) this.#channels.delete(channel);
    return entry.user;
  }

  async list(channel: string): Promise<readonly PresenceUser[]> {
    const users = this.#channels.get(channel);
    if (users === undefined) return [];
    return [...users.values()].map((e) => e.user).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async count(channel: string): Promise<number> {
    return this.#channels.get(channel)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.#channels.clear();
    this.#byConnection.clear();
  }
}
