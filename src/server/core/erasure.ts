import { ParleyError } from '../../protocol/error-catalogue.js';
import type { HistoryCache } from '../cache/history-cache.js';
import { ERASED_AUTHOR } from '../store/retention-store.js';
import type { ErasureMode, Store } from '../store/store.js';

/** What `Erasure` runs on. */
export interface ErasureDeps {
  readonly store: Store;
  /**
   * Refuses the user's tokens issued until now, removes their refresh tokens and closes their
   * connections on every node (`Accounts.revoke`).
   */
  readonly revoke: (userId: string, reason: string) => Promise<void>;
  /** Rows changed per step (`PARLEY_EXPORT_PAGE_ROWS`). */
  readonly pageRows: number;
  /** The node's history cache: the channels whose messages changed are dropped from it. */
  readonly cache?: Pick<HistoryCache, 'invalidate'> | undefined;
}

/** What an erasure did. */
export interface ErasureResult {
  readonly userId: string;
  readonly mode: ErasureMode;
  /** Messages and reactions changed or removed. */
  readonly changed: number;
  readonly erasedAt: number;
}

/**
 * Erasing a user (the right to be forgotten), for the app's backend: first their tokens and
 * connections are revoked everywhere (nothing new arrives meanwhile), then their messages are
 * emptied or anonymized and their reactions removed in bounded steps, and last, in one
 * transaction, their row, account, memberships and read positions go and `user.erased` is
 * written to the webhook outbox. A step that fails leaves the user in place: erasing again
 * finishes the work. Once the user is gone, erasing again is `not_found`.
 */
export class Erasure {
  readonly #d: ErasureDeps;

  constructor(deps: ErasureDeps) {
    this.#d = deps;
  }

  async erase(userId: string, mode: ErasureMode): Promise<ErasureResult> {
    const { store, pageRows } = this.#d;
    if (userId === ERASED_AUTHOR.id)
      throw new ParleyError('bad_request', 'the placeholder author cannot be erased');
    if ((await store.getUser(userId)) === undefined) throw new ParleyError('not_found', 'no such user');
    await this.#d.revoke(userId, 'account erased');
    let changed = 0;
    const channels = new Set<string>();
    for (;;) {
      const step = await store.eraseUserContent(userId, mode, pageRows);
      changed += step.changed;
      for (const channel of step.channels) channels.add(channel);
      if (step.changed === 0) break;
    }
    // A cached copy would still show the messages as they were sent.
    for (const channel of channels) await this.#d.cache?.invalidate(channel);
    const erasedAt = Date.now();
    const done = await store.eraseUser(userId, erasedAt, {
      user_id: userId,
      messages: mode,
      erased_at: erasedAt,
    });
    if (!done) throw new ParleyError('not_found', 'no such user');
    return { userId, mode, changed, erasedAt };
  }
}
