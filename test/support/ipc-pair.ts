import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { IpcChannel } from '../../src/server/bus/cluster-bus.js';

/**
 * One worker's IPC link, in process: the worker side (`process` in a real worker) and the
 * primary side (its `cluster.Worker`). Messages are cloned and delivered asynchronously, as
 * real IPC does.
 */
export function ipcPair(): { readonly worker: IpcChannel; readonly primary: Worker } {
  const toWorker = new EventEmitter();
  const toPrimary = new EventEmitter();
  const deliver = (target: EventEmitter, message: unknown) => {
    const copy = structuredClone(message);
    setImmediate(() => target.emit('message', copy));
    return true;
  };
  const worker: IpcChannel = {
    send: (m) => deliver(toPrimary, m),
    on: (event, listener) => toWorker.on(event, listener),
    off: (event, listener) => toWorker.off(event, listener),
  };
  const primary = Object.assign(toPrimary, {
    send: (m: unknown) => deliver(toWorker, m),
    isConnected: () => true,
  }) as unknown as Worker;
  return { worker, primary };
}
