// The port through which `KyselyStore` commits its append batches off its own thread.
import type { AppendResult, NewMessage, WebhookRouting } from './store.js';

/**
 * Runs group-commit batches of appends on a connection of its own, off the store's thread. Its
 * transaction must make the same decisions as the store's own (`AppendBatch`) and hold the
 * database's write lock (SQLite's `BEGIN IMMEDIATE`) from before its lookups to its commit.
 */
export interface AppendCommitter {
  /**
   * Commits `items` in one transaction and resolves after COMMIT (durable), with one result per
   * item as `GroupCommitOptions.commit` does. Rejects with the driver's error, its `code`
   * kept, when the transaction failed and was rolled back, or with `ParleyError('unavailable')`
   * when the outcome is unknown (the committer died). With `webhooks`, the new messages'
   * `message.created` outbox rows are inserted in the same transaction.
   */
  commit(items: readonly NewMessage[], webhooks?: WebhookRouting): Promise<(AppendResult | Error)[]>;
  /** Whether commits can run (a stopped committer is restarted). */
  ping(): Promise<boolean>;
  /** Stops; called once no commit is in flight. */
  close(): Promise<void>;
}
