import type { Bus, BusEvent, BusHandler, ResyncHandler } from './bus.js';
import { LocalTopics } from './local-topics.js';

/** The IPC message a worker's ClusterBus sends to the primary, and the primary relays. */
export interface ClusterBusMessage {
  readonly parley: 'bus';
  readonly topic: string;
  readonly event: BusEvent;
}

/** The IPC channel of a worker process (`process` in a cluster worker). */
export interface IpcChannel {
  send(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** True when `m` is a ClusterBusMessage. */
export function isClusterBusMessage(m: unknown): m is ClusterBusMessage {
  return typeof m === 'object' && m !== null && (m as { parley?: unknown }).parley === 'bus';
}

/**
 * The Bus between the worker processes of one machine (`--workers` without Redis): each worker
 * delivers its own events locally and sends them to the primary, which relays them to every
 * other worker (`ClusterBusRelay`). IPC is ordered and reliable while both ends live.
 */
export class ClusterBus implements Bus {
  readonly #ipc: IpcChannel;
  readonly #local = new LocalTopics();
  readonly #listener: (message: unknown) => void;
  readonly connected = true;
  #closed = false;

  constructor(ipc: IpcChannel) {
    this.#ipc = ipc;
    this.#listener = (message) => {
      if (isClusterBusMessage(message)) this.#local.deliver(message.topic, message.event);
    };
    ipc.on('message', this.#listener);
  }

  setHandler(handler: BusHandler, onResync?: ResyncHandler): void {
    this.#local.setHandler(handler, onResync);
  }

  async subscribe(topic: string): Promise<void> {
    this.#local.add(topic);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.#local.delete(topic);
  }

  async publish(topic: string, event: BusEvent): Promise<void> {
    if (this.#closed) return;
    this.#local.deliver(topic, event);
    const message: ClusterBusMessage = { parley: 'bus', topic, event };
    this.#ipc.send(message);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ipc.off('message', this.#listener);
    this.#local.clear();
  }
}
