/**
 * The SQLite append worker (`src/server/store/sqlite-append-worker.ts`) with a way to kill it:
 * a batch holding a message whose text is `exit now`, or a statement with `exit now` among its
 * parameters, makes the worker exit with code 1, as a crashed worker would, before the real
 * worker sees the request (so none of it is committed). Start it with `SqliteAppender`'s
 * `workerUrl`.
 */
import { parentPort } from 'node:worker_threads';

/** The text that kills the worker. */
export const EXIT_NOW = 'exit now';

// Registered before the real worker's listener, and process.exit stops the thread at once
// (a thrown error would not: the port's other listeners would still run and commit).
parentPort?.on(
  'message',
  (request: { readonly items?: readonly { readonly text: string }[]; readonly parameters?: unknown[] }) => {
    if (request.items?.some((item) => item.text === EXIT_NOW)) process.exit(1);
    if (request.parameters?.includes(EXIT_NOW)) process.exit(1);
  },
);
await import('../../src/server/store/sqlite-append-worker.js');
