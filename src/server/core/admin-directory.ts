import { ParleyError } from '../../protocol/error-catalogue.js';
import type { AdminChannel, AdminUser, Store } from '../store/store.js';
import type { Actor } from './actor.js';

/** Most rows one search returns. */
export const ADMIN_SEARCH_MAX = 100;

/**
 * The server-admin flag (#17) and the admin console's searches of users and channels, for
 * system actors only (the server API key, or a server admin, through the server API); any other
 * actor is refused with `forbidden`.
 */
export class AdminDirectory {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** True when the user is a server admin (false for an unknown user). Needs no actor: it is the check. */
  isAdmin(userId: string): Promise<boolean> {
    return this.#store.isUserAdmin(userId);
  }

  /** Makes the user a server admin, or no longer one; `not_found` for an unknown user. */
  async setAdmin(actor: Actor, userId: string, admin: boolean): Promise<void> {
    requireSystem(actor);
    await this.#store.setUserAdmin(userId, admin);
  }

  /** Users whose id or username contains `query`, at most `limit` (≤ `ADMIN_SEARCH_MAX`). */
  searchUsers(actor: Actor, query: string, limit: number): Promise<readonly AdminUser[]> {
    requireSystem(actor);
    return this.#store.searchUsers(query, Math.min(limit, ADMIN_SEARCH_MAX));
  }

  /** Channels whose id or title contains `query`, at most `limit` (≤ `ADMIN_SEARCH_MAX`). */
  searchChannels(actor: Actor, query: string, limit: number): Promise<readonly AdminChannel[]> {
    requireSystem(actor);
    return this.#store.searchChannels(query, Math.min(limit, ADMIN_SEARCH_MAX));
  }
}

function requireSystem(actor: Actor): void {
  if (actor.system !== true) throw new ParleyError('forbidden', 'only the server API may do this');
}
