import type { BusEvent, BusHandler, ResyncHandler } from './bus.js';

/**
 * The node-local half every Bus shares: which topics this node subscribed to, and delivery of
 * an event to the handler when the topic is one of them.
 */
export class LocalTopics {
  #handler: BusHandler | undefined;
  #onResync: ResyncHandler | undefined;
  readonly #topics = new Set<string>();

  setHandler(handler: BusHandler, onResync?: ResyncHandler): void {
    this.#handler = handler;
    this.#onResync = onResync;
  }

  add(topic: string): boolean {
    if (this.#topics.has(topic)) return false;
    this.#topics.add(topic);
    return true;
  }

  delete(topic: string): boolean {
    return this.#topics.delete(topic);
  }

  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  get all(): readonly string[] {
    return [...this.#topics];
  }

  /** Delivers to the handler when this node is subscribed to `topic`. */
  deliver(topic: string, event: BusEvent): void {
    if (this.#topics.has(topic)) this.#handler?.(topic, event);
  }

  resync(): void {
    this.#onResync?.();
  }

  clear(): void {
    this.#topics.clear();
  }
}
