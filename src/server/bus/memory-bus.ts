import type { Bus, BusEvent, BusHandler, ResyncHandler } from './bus.js';
import { LocalTopics } from './local-topics.js';

/**
 * The in-process Bus (the default, and the model of the contract): one node, delivery in
 * publish order, synchronously through the handler.
 */
export class MemoryBus implements Bus {
  readonly #local = new LocalTopics();
  readonly connected = true;
  #closed = false;

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
    if (!this.#closed) this.#local.deliver(topic, event);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#local.clear();
  }
}
