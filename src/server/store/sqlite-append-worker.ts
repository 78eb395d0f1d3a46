/**
 * The SQLite append worker: a `worker_threads` worker that owns its own better-sqlite3
 * connection to the store's file and commits group-commit batches there, so that neither the
 * transaction nor its fsync blocks the event loop of the thread that delivers messages.
 * `SqliteAppender` starts it and is the only thing that talks to it.
 *
 * This module is a worker's entry point: loaded in a worker started with
 * `SqliteAppendWorkerData`, it serves that worker's parent port at once. Imported anywhere else
 * it does nothing.
 */
import { isMainThread, type MessagePort, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { isErrorCode, ParleyError } from '../../protocol/error-catalogue.js';
import type { Message } from '../../protocol/frames.js';
import { AppendBatch, exactClientKey } from './append-batch.js';
import { keepingStatements } from './kept-statements.js';
import {
  MESSAGE_COLUMNS,
  MESSAGE_SELECT,
  type MessageRow,
  type NewMessageRow,
  toMessage,
} from './message-row.js';
import type { AppendResult, NewMessage, WebhookRouting } from './store.js';
import { type NewWebhookRow, WEBHOOK_COLUMNS } from './webhook-rows.js';

/** What the worker is started with (`workerData`). */
export interface SqliteAppendWorkerData {
  readonly kind: 'parley-sqlite-append';
  /** The database file, absolute; it exists and is in WAL mode already. */
  readonly path: string;
  /** How long a commit waits for another connection's write lock (busy_timeout). */
  readonly busyTimeoutMs: number;
  readonly synchronous: 'full' | 'normal';
}

/** What the store's thread asks the worker. */
export type AppendWorkerRequest =
  | {
      readonly type: 'commit';
      readonly id: number;
      readonly items: readonly NewMessage[];
      /** Where the new messages' `message.created` webhooks go (outbox rows in the same transaction). */
      readonly webhooks?: WebhookRouting;
    }
  /**
   * One SQL statement of the store's other writes (`SqliteWriteDialect`), `begin immediate`
   * and `commit` included: run on the worker's connection, so that no write of the store's
   * ever waits for its fsync, or for the database's write lock, on the event loop.
   */
  | {
      readonly type: 'query';
      readonly id: number;
      readonly sql: string;
      readonly parameters: readonly unknown[];
    }
  /** Close the connection, answer `closed`, and stop. */
  | { readonly type: 'close' };

/** What a `query` request returns. */
export interface QueryResult {
  readonly rows: readonly unknown[];
  /** Rows changed and the last rowid inserted, for a statement that returns no rows. */
  readonly changes?: number;
  readonly lastInsertRowid?: number | bigint;
}

/** An error crossing the thread boundary, with what the store classifies it by. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  /** The driver's code (`SQLITE_BUSY`…) or, for a ParleyError, its catalogue code. */
  readonly code: string | undefined;
}

/**
 * One item's result of a committed batch: a new message as its id and seq (the sender builds
 * it again from its item and the batch's `ts`, `newMessage`), a duplicate as the stored message.
 */
export type WireResult =
  | { readonly id: string; readonly seq: number }
  | { readonly stored: Message }
  | { readonly error: WireError };

/** What the worker answers. */
export type AppendWorkerReply =
  /** The connection is open: commits may come. */
  | { readonly type: 'ready' }
  | {
      readonly type: 'committed';
      readonly id: number;
      /** The commit time: every new message's `ts`. */
      readonly ts: number;
      readonly results: readonly WireResult[];
    }
  /** A `query` ran: its rows when it returns some, else what it changed. */
  | { readonly type: 'ran'; readonly id: number; readonly result: QueryResult }
  /** The transaction failed and was rolled back (nothing of the batch is stored). */
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError }
  | { readonly type: 'closed' };

/** `error` as it crosses to the other thread (structured clone keeps neither class nor code). */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), code: undefined };
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return { name: error.name, message: error.message, code };
}

/** The error `toWireError` sent: a ParleyError again, or an Error carrying the driver's code. */
export function fromWireError(wire: WireError): Error {
  if (wire.name === 'ParleyError' && isErrorCode(wire.code)) return new ParleyError(wire.code, wire.message);
  return Object.assign(new Error(wire.message), { name: wire.name, code: wire.code });
}

/**
 * Opens the connection and serves `port`: each `commit` runs as one `BEGIN IMMEDIATE`
 * transaction (the same decisions as `KyselyStore`'s, from `AppendBatch`, through statements
 * prepared once) and is answered `committed` after COMMIT returned, i.e. after the fsync.
 * Throws when the database cannot be opened.
 */
export function serveAppends(port: MessagePort, options: SqliteAppendWorkerData): void {
  const db = new Database(options.path, { fileMustExist: true, timeout: options.busyTimeoutMs });
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  // Prepared on the first commit: the tables exist only once the store has migrated.
  let statements: AppendStatements | undefined;
  const queries = keepingStatements(db);
  /**
   * One batch's transaction. With `lookups` false it looks up no client id: it trusts that none
   * is stored yet, which the (channel, client id, sender) unique key checks for it, since every
   * fresh item's row is inserted: a client id that was stored fails the INSERT, and the caller
   * runs the batch again with lookups (a retry is rare; a lookup per message is ~2 µs).
   */
  const commit = db.transaction(
    (items: readonly NewMessage[], webhooks: WebhookRouting | undefined, ts: number, lookups: boolean) => {
      statements ??= prepareAppend(db);
      const { lookup, reserve, insert, insertWebhooks } = statements;
      const batch = new AppendBatch(items, { ts, clientKey: exactClientKey, webhooks });
      for (const channel of batch.channels) {
        const stored = [];
        if (lookups) {
          for (const { userId, clientMsgId } of channel.clientIds) {
            const row = lookup.get(channel.id, clientMsgId, userId);
            if (row !== undefined) stored.push(toMessage(row));
          }
        }
        const count = batch.dedupe(channel, stored);
        if (count > 0) batch.assign(channel, reserve.get(count, channel.id)?.last_seq);
      }
      insert(batch.rows);
      insertWebhooks(batch.webhookRows);
      return batch.results();
    },
  );
  const commitBatch = (items: readonly NewMessage[], webhooks: WebhookRouting | undefined, ts: number) => {
    try {
      return commit.immediate(items, webhooks, ts, false);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return commit.immediate(items, webhooks, ts, true);
    }
  };

  port.on('message', (request: AppendWorkerRequest) => {
    switch (request.type) {
      case 'commit': {
        let reply: AppendWorkerReply;
        try {
          // Inside an open transaction, better-sqlite3 would run the batch as a SAVEPOINT: it
          // would be answered as committed and then undone by that transaction's rollback.
          if (db.inTransaction) throw new Error('an append batch arrived inside an open write transaction');
          const ts = Date.now();
          const results = commitBatch(request.items, request.webhooks, ts).map(toWireResult);
          reply = { type: 'committed', id: request.id, ts, results };
        } catch (error) {
          reply = { type: 'failed', id: request.id, error: toWireError(error) };
        }
        port.postMessage(reply);
        break;
      }
      case 'query': {
        let reply: AppendWorkerReply;
        try {
          const statement = queries.prepare(request.sql);
          if (statement.reader) {
            reply = { type: 'ran', id: request.id, result: { rows: statement.all(request.parameters) } };
          } else {
            const { changes, lastInsertRowid } = statement.run(request.parameters);
            reply = { type: 'ran', id: request.id, result: { rows: [], changes, lastInsertRowid } };
          }
        } catch (error) {
          reply = { type: 'failed', id: request.id, error: toWireError(error) };
        }
        port.postMessage(reply);
        break;
      }
      case 'close':
        if (db.inTransaction) db.exec('rollback');
        db.close();
        port.postMessage({ type: 'closed' } satisfies AppendWorkerReply);
        port.close();
        break;
    }
  });
  port.postMessage({ type: 'ready' } satisfies AppendWorkerReply);
}

/** A batch's result as it crosses back (see `WireResult`). */
function toWireResult(result: AppendResult | Error): WireResult {
  if (result instanceof Error) return { error: toWireError(result) };
  return result.duplicate ? { stored: result.message } : { id: result.message.id, seq: result.message.seq };
}

/** Whether better-sqlite3 threw for a UNIQUE (or PRIMARY KEY) constraint. */
function isUniqueViolation(error: unknown): boolean {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

interface AppendStatements {
  readonly lookup: Database.Statement<[string, string, string], MessageRow>;
  readonly reserve: Database.Statement<[number, string], { last_seq: number }>;
  readonly insert: (rows: readonly NewMessageRow[]) => void;
  readonly insertWebhooks: (rows: readonly NewWebhookRow[]) => void;
}

/** Rows in the largest INSERT statement (10 parameters each; SQLite allows 32,766). */
const INSERT_ROWS_MAX = 256;

/**
 * The append's statements, each prepared once (a statement built per batch is compiled again
 * every time). Lookups and the seq bump run once per client id and per channel; rows go in with
 * multi-row INSERTs of 256, 128, …, 1 rows (at most 9 statements for a batch of 500): one INSERT
 * per row costs 4× as much, because the FTS5 index behind `messages` (a trigger) flushes its
 * pending terms at every statement.
 */
function prepareAppend(db: Database.Database): AppendStatements {
  const quoted = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(', ');
  const tuple = `(${MESSAGE_COLUMNS.map(() => '?').join(', ')})`;
  const inserts = new Map<number, Database.Statement<unknown[], void>>();
  let insertWebhook: Database.Statement<unknown[], void> | undefined;
  const insertOf = (rows: number) => {
    let statement = inserts.get(rows);
    if (statement === undefined) {
      statement = db.prepare(
        `insert into "messages" (${quoted(MESSAGE_COLUMNS)}) values ${Array.from({ length: rows }, () => tuple).join(', ')}`,
      );
      inserts.set(rows, statement);
    }
    return statement;
  };
  return {
    // The (channel_id, client_msg_id, user_id) unique key: one index probe.
    lookup: db.prepare(
      `select ${quoted(MESSAGE_SELECT)} from "messages" where "channel_id" = ? and "client_msg_id" = ? and "user_id" = ?`,
    ),
    // Returns nothing for an unknown channel.
    reserve: db.prepare(
      `update "channels" set "last_seq" = "last_seq" + ? where "id" = ? returning "last_seq"`,
    ),
    insertWebhooks: (rows) => {
      if (rows.length === 0) return;
      insertWebhook ??= db.prepare(
        `insert into "webhook_outbox" (${quoted(WEBHOOK_COLUMNS)}) values (${WEBHOOK_COLUMNS.map(() => '?').join(', ')})`,
      );
      for (const row of rows) insertWebhook.run(WEBHOOK_COLUMNS.map((c) => row[c]));
    },
    insert: (rows) => {
      let start = 0;
      for (let size = INSERT_ROWS_MAX; size >= 1; size /= 2) {
        for (; rows.length - start >= size; start += size) {
          const values = rows.slice(start, start + size).flatMap((row) => MESSAGE_COLUMNS.map((c) => row[c]));
          insertOf(size).run(values);
        }
      }
    },
  };
}

function isWorkerData(data: unknown): data is SqliteAppendWorkerData {
  return (
    typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'parley-sqlite-append'
  );
}

if (!isMainThread && parentPort !== null && isWorkerData(workerData)) serveAppends(parentPort, workerData);
