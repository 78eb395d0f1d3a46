import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setImmediate as nextTick } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openStore } from '../../src/server/store/open-store.js';

/** What one store worker process does (see `storeWorker`). */
export interface StoreWorkerOptions {
  /** The database, as `openStore` takes it. */
  readonly url: string;
  /** The channel every worker appends to; the first worker to get there creates it. */
  readonly channelId: string;
  /** This worker's name, used as its user id and in its client ids. */
  readonly worker: string;
  /** Bursts of appends, each pushed in its own tick without waiting for the previous one. */
  readonly bursts: number;
  readonly burstSize: number;
}

/** One append as a worker saw it. */
export interface WorkerAppend {
  readonly id: string;
  readonly seq: number;
  readonly clientMsgId: string;
  readonly duplicate: boolean;
}

/** What a worker reports when done: its appends in the order they resolved. */
export interface WorkerReport {
  readonly appends: readonly WorkerAppend[];
}

/**
 * The body of a store worker process, which runs in a child process for tests of several
 * processes sharing one database. It talks in lines: it prints `loaded` and waits for
 * `migrate` on stdin; migrates, creates the channel unless another worker did, prints `ready`
 * and waits for `go`; then appends `bursts × burstSize` messages of its own plus, in every
 * burst, one message from the user `shared` with client id `shared-<burst>`, which every
 * worker sends (so exactly one of them stores it); prints `done <WorkerReport JSON>` and exits.
 */
export async function storeWorker(options: StoreWorkerOptions): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const waitFor = async (command: string) => {
    const { value, done } = await lines.next();
    if (done === true || value !== command) throw new Error(`expected "${command}" on stdin, got ${value}`);
  };

  say('loaded');
  await waitFor('migrate');
  const store = await openStore(options.url);
  try {
    await store.migrate();
    await store
      .createChannel({ id: options.channelId, kind: 'public', title: 'workers', owner: null })
      .catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== 'conflict') throw error;
      });
    say('ready');
    await waitFor('go');

    const appends: WorkerAppend[] = [];
    const pending: Promise<void>[] = [];
    const send = (userId: string, clientMsgId: string) =>
      pending.push(
        store
          .append({ channelId: options.channelId, userId, username: userId, text: clientMsgId, clientMsgId })
          .then(({ message, duplicate }) => {
            appends.push({ id: message.id, seq: message.seq, clientMsgId, duplicate });
          }),
      );
    for (let burst = 0; burst < options.bursts; burst++) {
      for (let i = 0; i < options.burstSize; i++) send(options.worker, `${options.worker}-${burst}-${i}`);
      send('shared', `shared-${burst}`);
      await nextTick();
    }
    await Promise.all(pending);
    say(`done ${JSON.stringify({ appends } satisfies WorkerReport)}`);
  } finally {
    await store.close();
  }
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BOOT =
  'const [m, o] = process.argv.slice(1); const { storeWorker } = await import(m); await storeWorker(JSON.parse(o));';

/** A running store worker process (the parent's side of `storeWorker`). */
export interface StoreWorkerProcess {
  /** Resolves with the rest of the line once the worker prints a line starting with `word`. */
  expect(word: 'loaded' | 'ready' | 'done', signal: AbortSignal): Promise<string>;
  send(command: 'migrate' | 'go'): void;
  /** Kills the worker if it still runs and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `storeWorker(options)` in a child process running this checkout through tsx. */
export function spawnStoreWorker(options: StoreWorkerOptions): StoreWorkerProcess {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      BOOT,
      pathToFileURL(fileURLToPath(import.meta.url)).href,
      JSON.stringify(options),
    ],
    { cwd: ROOT, stdio: 'pipe' },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async expect(word, signal) {
      const next = lines.next();
      const failed = exited.then(([code]) => {
        throw new Error(`store worker ${options.worker} exited (${code}) before "${word}":\n${stderr}`);
      });
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener(
          'abort',
          () => reject(new Error(`store worker ${options.worker}: no "${word}"\n${stderr}`)),
          {
            once: true,
          },
        );
      });
      const { value, done } = await Promise.race([next, failed, aborted]);
      if (done === true || !value.startsWith(word)) {
        throw new Error(`store worker ${options.worker}: expected "${word}", got ${value}\n${stderr}`);
      }
      return value.slice(word.length).trim();
    },
    send(command) {
      child.stdin.write(`${command}\n`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
    },
  };
}
