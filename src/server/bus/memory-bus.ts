import type { Bus, BusEvent, BusHandler } from './bus.js';

/**
 * The in-process Bus (the default, and the model of the contract): one node, delivery in
 * publish order, synchronously through the handler.
 */
export class MemoryBus implements Bus {
  #handler: BusHandler | undefined;
  readonly #topics = new Set<string>();
  #closed = false;

  setHandler(handler: BusHandler): void {
    this.#handler = handler;
  }

  async subscribe(topic: string): Promise<void> {
    this.#topics.add(topic);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.#topics.delete(topic);
  }

  async publish(topic: string, event: BusEvent): Promise<void> {
    if (this.#closed || !this.#topics.has(topic)) return;
    this.#handler?.(topic, event);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#topics.clear();
  }
}
