// `KyselyStore`'s append aggregate: the group-commit queue of new messages and the transaction
// each batch commits in (on the store's connection, or on its `AppendCommitter`).

import { CompiledQuery, type Kysely, sql } from 'kysely';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { MAX_EVENT_NAME, MESSAGE_ID_LENGTH } from '../../protocol/field-rules.js';
import type { Message } from '../../protocol/frames.js';
import { AppendBatch, type ClientId, exactClientKey } from './append-batch.js';
import {
  checkLength,
  checkText,
  MAX_CHANNEL_ID,
  MAX_CLIENT_MSG_ID,
  MAX_USER_ID,
  MAX_USERNAME,
} from './check-length.js';
import { INSERT_CHUNK, LOOKUP_CHUNK } from './chunk-sizes.js';
import { classifyDatabaseError } from './classify-database-error.js';
import { GroupCommit } from './group-commit.js';
import { insertWebhookRows, type WebhookRoutingRef } from './kysely-outbox.js';
import type { KyselyRunner } from './kysely-runner.js';
import { MESSAGE_COLUMNS, MESSAGE_SELECT, type NewMessageRow, toInt, toMessage } from './message-row.js';
import type { AppendResult, NewMessage, WebhookRouting } from './store.js';
import type { StoreTables } from './store-tables.js';
import { toStoreError } from './to-store-error.js';

/** Options of `KyselyAppends`, as `KyselyStoreOptions` gives them. */
export interface KyselyAppendsOptions {
  readonly maxBatch?: number;
  /** `GroupCommitOptions.delayMs`. */
  readonly delayMs?: number;
  readonly maxAttempts: number;
  readonly onBatch?: (size: number, ms: number) => void;
  /** Where `message.created` webhooks go, read at each batch. */
  readonly webhooks: WebhookRoutingRef;
}

/**
 * The appends of a `KyselyStore`: `append` is the `Store` method. See `KyselyStore` for how a
 * batch keeps seqs gap-free and in commit order across processes.
 */
export class KyselyAppends {
  readonly #run: KyselyRunner;
  readonly #queue: GroupCommit<NewMessage, AppendResult>;
  readonly #maxAttempts: number;
  readonly #webhooks: WebhookRoutingRef;

  constructor(run: KyselyRunner, options: KyselyAppendsOptions) {
    this.#run = run;
    this.#webhooks = options.webhooks;
    this.#maxAttempts = options.maxAttempts;
    this.#queue = new GroupCommit({
      commit: (items) => this.#commitBatch(items),
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
      ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
      closedError: () => new ParleyError('unavailable', 'the store is closed'),
    });
  }

  append(message: NewMessage): Promise<AppendResult> {
    try {
      this.#run.assertOpen();
      checkLength('channel id', message.channelId, MAX_CHANNEL_ID);
      checkLength('user id', message.userId, MAX_USER_ID);
      checkLength('username', message.username, MAX_USERNAME);
      if (message.clientMsgId !== null) checkLength('client_msg_id', message.clientMsgId, MAX_CLIENT_MSG_ID);
      checkText(message.text);
      if (message.replyTo != null) checkLength('reply_to', message.replyTo, MESSAGE_ID_LENGTH);
      if (message.event != null) checkLength('event', message.event, MAX_EVENT_NAME);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#queue.push(message);
  }

  /** Refuses new appends and resolves once the batches already queued have committed. */
  close(): Promise<void> {
    return this.#queue.close();
  }

  /** Commits one group-commit batch, running it again when it lost a race to another writer. */
  async #commitBatch(items: readonly NewMessage[]): Promise<(AppendResult | Error)[]> {
    const appender = this.#run.appender;
    const webhooks = this.#webhooks.routing;
    const run =
      appender === undefined
        ? () => this.#run.transaction((trx) => this.#appendBatch(trx, items, webhooks))
        : () => this.#run.exclusive(() => appender.commit(items, webhooks));
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const kind = classifyDatabaseError(error);
        if (kind !== 'unique_violation' && kind !== 'retryable')
          throw toStoreError('appending messages', error);
        if (attempt >= this.#maxAttempts) {
          throw new ParleyError(
            'unavailable',
            `appending messages lost ${attempt} races to concurrent writers in a row`,
            { cause: error },
          );
        }
      }
    }
  }

  /** The body of one append transaction on this store's connection (see `AppendBatch`). */
  async #appendBatch(
    trx: Kysely<StoreTables>,
    items: readonly NewMessage[],
    webhooks: WebhookRouting | undefined,
  ): Promise<(AppendResult | Error)[]> {
    const batch = new AppendBatch(items, {
      ts: Date.now(),
      clientKey: (userId, clientMsgId) => this.#clientKey(userId, clientMsgId),
      webhooks,
    });
    for (const channel of batch.channels) {
      const count = batch.dedupe(channel, await this.#storedByClientId(trx, channel.id, channel.clientIds));
      if (count > 0) batch.assign(channel, await this.#reserveSeqs(trx, channel.id, count));
    }
    for (let start = 0; start < batch.rows.length; start += INSERT_CHUNK) {
      await trx.executeQuery(this.#insertMessages(batch.rows.slice(start, start + INSERT_CHUNK)));
    }
    await insertWebhookRows(trx, batch.webhookRows);
    return batch.results();
  }

  /**
   * One multi-row INSERT of messages, written by hand: Kysely's builder spends more time
   * compiling a 500-row VALUES list (~4 ms) than SQLite spends storing it, on the event loop.
   */
  #insertMessages(rows: readonly NewMessageRow[]): CompiledQuery {
    const q = this.#run.caps.quote;
    const parameters: unknown[] = [];
    const mark =
      this.#run.caps.placeholders === 'numbered'
        ? (value: unknown) => `$${parameters.push(value)}`
        : (value: unknown) => {
            parameters.push(value);
            return '?';
          };
    const tuples = rows.map((row) => `(${MESSAGE_COLUMNS.map((column) => mark(row[column])).join(', ')})`);
    const columns = MESSAGE_COLUMNS.map((c) => `${q}${c}${q}`).join(', ');
    return CompiledQuery.raw(
      `insert into ${q}messages${q} (${columns}) values ${tuples.join(', ')}`,
      parameters,
    );
  }

  /**
   * The messages of `channelId` stored under any of the client ids of `wanted` (possibly also
   * other users' messages with the same client id; `AppendBatch.dedupe` ignores those).
   */
  async #storedByClientId(
    trx: Kysely<StoreTables>,
    channelId: string,
    wanted: readonly ClientId[],
  ): Promise<Message[]> {
    const ids = [...new Set(wanted.map((c) => c.clientMsgId))];
    const stored: Message[] = [];
    for (let start = 0; start < ids.length; start += LOOKUP_CHUNK) {
      // A prefix of the (channel_id, client_msg_id, user_id) unique key: index probes in every
      // dialect.
      const rows = await trx
        .selectFrom('messages')
        .select(MESSAGE_SELECT)
        .where('channel_id', '=', channelId)
        .where('client_msg_id', 'in', ids.slice(start, start + LOOKUP_CHUNK))
        .execute();
      for (const row of rows) stored.push(toMessage(row));
    }
    return stored;
  }

  /**
   * Raises the channel's `last_seq` by `count` and returns the new value (the seqs
   * `value - count + 1 … value` are now this transaction's), or undefined when the channel does
   * not exist. The UPDATE takes the channel row's write lock, held until commit.
   */
  async #reserveSeqs(
    trx: Kysely<StoreTables>,
    channelId: string,
    count: number,
  ): Promise<number | undefined> {
    const bump = trx
      .updateTable('channels')
      .set({ last_seq: sql<number>`last_seq + ${count}` })
      .where('id', '=', channelId);
    if (this.#run.caps.returning) {
      const row = await bump.returning('last_seq').executeTakeFirst();
      return row === undefined ? undefined : toInt(row.last_seq);
    }
    await bump.execute();
    // Our own uncommitted update is visible to us; the row lock keeps anyone else out.
    const row = await trx
      .selectFrom('channels')
      .select('last_seq')
      .where('id', '=', channelId)
      .executeTakeFirst();
    return row === undefined ? undefined : toInt(row.last_seq);
  }

  /**
   * The in-memory key of a (user, client id) pair within one channel. MySQL's collations are
   * PAD SPACE (`'a'` = `'a '` in comparisons and unique keys), so there trailing spaces do not
   * count here either; otherwise a stored `'a'` would not be recognised as the duplicate of
   * `'a '` and the INSERT would hit the unique key on every retry.
   */
  #clientKey(userId: string, clientMsgId: string): string {
    return this.#run.dialect === 'mysql'
      ? exactClientKey(userId.replace(/ +$/, ''), clientMsgId.replace(/ +$/, ''))
      : exactClientKey(userId, clientMsgId);
  }
}
