import type { Worker } from 'node:cluster';
import { isClusterBusMessage } from './cluster-bus.js';

/**
 * The primary's half of ClusterBus: relays each worker's bus messages to every other worker.
 * Call `add` for each forked worker.
 */
export class ClusterBusRelay {
  readonly #workers = new Set<Worker>();

  add(worker: Worker): void {
    this.#workers.add(worker);
    worker.on('message', (message: unknown) => {
      if (!isClusterBusMessage(message)) return;
      for (const other of this.#workers) {
        // A worker that is going away may close its channel between the check and the send:
        // the callback takes that error instead of an unhandled 'error' event.
        if (other !== worker && other.isConnected()) other.send(message, undefined, undefined, ignore);
      }
    });
    worker.once('exit', () => this.#workers.delete(worker));
  }
}

function ignore(): void {}
