import { ParleyError } from '../../protocol/error-catalogue.js';
import type { Store, StoredChannel } from '../store/store.js';
import type { Actor } from './actor.js';

/** A user as the app's backend sees them: the stored user and whether they may sign in. */
export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly createdAt: number;
  readonly banned: boolean;
  /** Tokens issued (`iat`, in ms) before this time are refused; 0 = none revoked. */
  readonly tokensValidAfter: number;
}

/**
 * The stored records of users and channels, for system actors only (the app's backend, through
 * the server API): a user with their ban and revocation status, a channel with who created it
 * and when. Permission checks do not apply to system actors, so every method refuses any other
 * actor with `forbidden`.
 */
export class Directory {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The user's record; `not_found` when the user was never stored. */
  async user(actor: Actor, id: string): Promise<UserRecord> {
    requireSystem(actor);
    const [user, status] = await Promise.all([this.#store.getUser(id), this.#store.getUserStatus(id)]);
    if (user === undefined || status === undefined) throw new ParleyError('not_found', 'no such user');
    return {
      id: user.id,
      username: user.username,
      createdAt: user.createdAt,
      banned: status.banned,
      tokensValidAfter: status.tokensValidAfter,
    };
  }

  /** Creates the user or renames them; returns their record. */
  async putUser(actor: Actor, id: string, username: string): Promise<UserRecord> {
    requireSystem(actor);
    const stored = await this.#store.upsertUser({ id, username });
    return this.user(actor, stored.id);
  }

  /** The user's stored name, or the id itself for a user never stored. */
  async username(actor: Actor, id: string): Promise<string> {
    requireSystem(actor);
    const user = await this.#store.getUser(id);
    return user?.username ?? id;
  }

  /** The channel as stored (with its creator and creation time), or undefined. */
  async channel(actor: Actor, id: string): Promise<StoredChannel | undefined> {
    requireSystem(actor);
    return this.#store.getChannel(id);
  }
}

function requireSystem(actor: Actor): void {
  if (actor.system !== true) throw new ParleyError('forbidden', 'only the server API may do this');
}
