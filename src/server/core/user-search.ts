import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Limits } from '../config.js';
import type { Store } from '../store/store.js';
import { type Actor, SYSTEM_USER } from './actor.js';

/** A user as another user may see them when looking for someone: the id and the name, no more. */
export interface FoundUser {
  readonly id: string;
  readonly username: string;
}

// The longest prefix looked for (a username is at most 100 characters).
const MAX_PREFIX = 100;

/**
 * Finding a user by the start of their name, for signed-in users (the page's "start a direct
 * message"). It tells only what opening a DM or adding a member needs, the id and the name,
 * never who is banned (banned users are left out), when anyone joined, or anything else; at
 * most `userSearchMax` users per query, and the HTTP API's per-user rate limit applies.
 */
export class UserSearch {
  readonly #store: Store;
  readonly #limits: Pick<Limits, 'userSearchMax'>;

  constructor(store: Store, limits: Pick<Limits, 'userSearchMax'>) {
    this.#store = store;
    this.#limits = limits;
  }

  /** Users whose name starts with `query` (trimmed, case-insensitive), by name; `bad_request` for a blank or long query. */
  async find(_actor: Actor, query: string): Promise<readonly FoundUser[]> {
    const prefix = query.trim();
    if (prefix === '') throw new ParleyError('bad_request', '"q" must not be blank');
    if (prefix.length > MAX_PREFIX)
      throw new ParleyError('bad_request', `"q" is longer than ${MAX_PREFIX} characters`);
    const max = this.#limits.userSearchMax;
    // One more, as the system sender may be among them and is no one to message.
    const users = await this.#store.findUsers(prefix, max + 1);
    return users
      .filter((u) => u.id !== SYSTEM_USER.id)
      .slice(0, max)
      .map((u) => ({ id: u.id, username: u.username }));
  }
}
