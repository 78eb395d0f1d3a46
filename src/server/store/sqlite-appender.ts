import { Worker } from 'node:worker_threads';
import { ParleyError } from '../../protocol/error-catalogue.js';
import { newMessage } from './append-batch.js';
import type { AppendCommitter } from './kysely-store.js';
import type {
  AppendWorkerReply,
  AppendWorkerRequest,
  QueryResult,
  SqliteAppendWorkerData,
  WireResult,
} from './sqlite-append-worker.js';
import { fromWireError } from './sqlite-append-worker.js';
import type { AppendResult, NewMessage, WebhookRouting } from './store.js';

/** Options of a `SqliteAppender`. */
export interface SqliteAppenderOptions {
  /** The database file, absolute; it exists and is in WAL mode. */
  readonly path: string;
  /** The worker connection's busy_timeout. */
  readonly busyTimeoutMs: number;
  readonly synchronous: 'full' | 'normal';
  /**
   * The worker's module. Default: `sqlite-append-worker.js` next to this module (`.ts` when
   * running from source). Tests pass a module that wraps it.
   */
  readonly workerUrl?: URL;
}

interface Call {
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
  /** A batch of appends, or one statement of another write. */
  readonly kind: 'commit' | 'query';
}

/**
 * Commits append batches of a SQLite file store in a `worker_threads` worker with its own
 * connection (`sqlite-append-worker.ts`), so that a commit, fsync included, never blocks the
 * event loop; WAL lets the store's own connection keep reading meanwhile.
 *
 * When the worker dies (an uncaught exception, a native crash, `terminate`), every commit in
 * flight rejects with `ParleyError('unavailable')` saying so: its transaction may or may not
 * have committed, so nothing was acknowledged, and a retry with the same client id returns
 * the stored message if it did. The next `commit` (or `ping`) starts a new worker; while one
 * cannot be started, `commit` rejects with `unavailable` and `ping` is false.
 *
 * The worker is unref'd while no commit is in flight: an open appender does not keep the
 * process alive, as a better-sqlite3 connection does not.
 */
export class SqliteAppender implements AppendCommitter {
  readonly #url: URL;
  readonly #data: SqliteAppendWorkerData;
  readonly #calls = new Map<number, Call>();
  #worker: Promise<Worker> | undefined;
  #nextId = 0;
  #closing: Promise<void> | undefined;

  constructor(options: SqliteAppenderOptions) {
    this.#url =
      options.workerUrl ??
      new URL(`./sqlite-append-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
    this.#data = {
      kind: 'parley-sqlite-append',
      path: options.path,
      busyTimeoutMs: options.busyTimeoutMs,
      synchronous: options.synchronous,
    };
  }

  /** Starts the worker; rejects with `unavailable` when it cannot open the database. */
  async start(): Promise<void> {
    await this.#running();
  }

  async commit(items: readonly NewMessage[], webhooks?: WebhookRouting): Promise<(AppendResult | Error)[]> {
    const reply = await this.#call<Committed>((id) => ({
      type: 'commit',
      id,
      items,
      ...(webhooks === undefined ? {} : { webhooks }),
    }));
    return fromWire(items, reply);
  }

  /**
   * Runs one SQL statement on the worker's connection (the store's other writes, through
   * `SqliteWriteDialect`). `worker` is the worker that ran the statements before this one in
   * the same transaction: if another runs now (the first one died, and its transaction with
   * it), this rejects with `unavailable` instead of running the rest of the transaction on its
   * own. The promise gives the worker that ran it.
   */
  async query(
    sql: string,
    parameters: readonly unknown[],
    worker?: object,
  ): Promise<{ readonly result: QueryResult; readonly worker: object }> {
    if (worker !== undefined && this.#worker !== worker) {
      throw new ParleyError(
        'unavailable',
        'the SQLite append worker stopped during a transaction; the transaction was rolled back',
      );
    }
    if (this.#closing !== undefined) throw new ParleyError('unavailable', 'the store is closed');
    // The same worker #call posts to: an exit is an event, and none is handled in between.
    const running = this.#running();
    const result = await this.#call<QueryResult>((id) => ({ type: 'query', id, sql, parameters }));
    return { result, worker: running };
  }

  async #call<T>(request: (id: number) => AppendWorkerRequest): Promise<T> {
    if (this.#closing !== undefined) throw new ParleyError('unavailable', 'the store is closed');
    const worker = await this.#running();
    const id = ++this.#nextId;
    const message = request(id);
    const kind = message.type === 'commit' ? 'commit' : 'query';
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(id, { resolve: resolve as (value: never) => void, reject, kind });
      worker.ref();
      worker.postMessage(message);
    });
  }

  async ping(): Promise<boolean> {
    if (this.#closing !== undefined) return false;
    try {
      await this.#running();
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the worker's connection and terminates it. Call after the last commit settled. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const worker = await this.#worker?.catch(() => undefined);
      if (worker === undefined) return;
      worker.ref();
      const closed = new Promise<void>((resolve) => {
        worker.on('message', (reply: AppendWorkerReply) => {
          if (reply.type === 'closed') resolve();
        });
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' } satisfies AppendWorkerRequest);
      await closed;
      await worker.terminate();
    })();
    return this.#closing;
  }

  /** The worker, started if none runs. */
  #running(): Promise<Worker> {
    this.#worker ??= this.#spawn();
    return this.#worker;
  }

  #spawn(): Promise<Worker> {
    const worker = startWorker(this.#url, this.#data);
    let failure: Error | undefined;
    let ready = false;
    const started = new Promise<Worker>((resolve, reject) => {
      worker.on('message', (reply: AppendWorkerReply) => {
        if (reply.type === 'ready') {
          ready = true;
          if (this.#calls.size === 0) worker.unref();
          resolve(worker);
        } else if (reply.type !== 'closed') {
          this.#settle(worker, reply);
        }
      });
      worker.on('error', (error) => {
        failure = error;
      });
      worker.on('exit', (code) => {
        if (this.#worker === started) this.#worker = undefined;
        const reason = failure === undefined ? `exit code ${code}` : `${failure.name}: ${failure.message}`;
        if (!ready) {
          reject(
            new ParleyError('unavailable', `the SQLite append worker could not start (${reason})`, {
              cause: failure,
            }),
          );
        }
        const calls = [...this.#calls.values()];
        this.#calls.clear();
        for (const call of calls) {
          const what =
            call.kind === 'commit'
              ? `during a commit (${reason}); its appends were not acknowledged`
              : `during a write (${reason}); its transaction was rolled back, unless this was its COMMIT, whose outcome is unknown`;
          call.reject(
            new ParleyError('unavailable', `the SQLite append worker stopped ${what}`, { cause: failure }),
          );
        }
      });
    });
    return started;
  }

  #settle(worker: Worker, reply: Extract<AppendWorkerReply, { id: number }>): void {
    const call = this.#calls.get(reply.id);
    if (call === undefined) return;
    this.#calls.delete(reply.id);
    if (this.#calls.size === 0) worker.unref();
    if (reply.type === 'failed') call.reject(fromWireError(reply.error));
    else if (reply.type === 'ran') (call.resolve as (result: QueryResult) => void)(reply.result);
    else (call.resolve as (reply: Committed) => void)(reply);
  }
}

type Committed = Extract<AppendWorkerReply, { type: 'committed' }>;

/** The results of `items`' batch, from the worker's reply (see `WireResult`). */
function fromWire(items: readonly NewMessage[], { ts, results }: Committed): (AppendResult | Error)[] {
  if (results.length !== items.length) {
    throw new Error(`the append worker returned ${results.length} results for ${items.length} items`);
  }
  return results.map((result: WireResult, i) => {
    if ('error' in result) return fromWireError(result.error);
    if ('stored' in result) return { message: result.stored, duplicate: true };
    return { message: newMessage(items[i] as NewMessage, result.id, result.seq, ts), duplicate: false };
  });
}

/**
 * Starts the worker module at `url`. From source (a `.ts` URL, tests and `npm run bench` under
 * tsx) the worker must register tsx itself: Node 20 applies neither the parent's loader hooks
 * nor `--import tsx` in `execArgv` to a worker's entry
 * (https://github.com/nodejs/node/issues/47747, https://github.com/privatenumber/tsx/issues/354).
 */
function startWorker(url: URL, workerData: SqliteAppendWorkerData): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    // Some other loader runs this .ts file; let Node try.
    return new Worker(url, { workerData });
  }
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
