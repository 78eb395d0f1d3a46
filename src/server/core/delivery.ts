import type { DeliveryEvent } from './events.js';

/**
 * Why the core ends a connection. Each wire maps a reason to its own close code and says
 * whether the client should reconnect.
 */
export type CloseReason =
  /** Its user was disconnected (revoked, banned, `terminate_connections`): do not reconnect. */
  | 'kicked'
  /** It fell too far behind: reconnect and resume. */
  | 'slow_consumer';

/**
 * Turns domain events into one wire's bytes (whatever the wire writes: a framed WebSocket
 * message, say). Pure and stateless: the hub calls it at most once per event for every
 * recipient of the wire, and hands the same result to each. Returns undefined for an event the
 * wire does not carry.
 */
export interface WireEncoder<B> {
  /** The wire's name, for logs and metrics. */
  readonly wire: string;
  encode(event: DeliveryEvent): B | undefined;
}

/**
 * A connection of any wire as the core sees it: somewhere to write what its encoder made, and
 * something to close. The recipient enforces its own send-queue limit.
 */
export interface Recipient<B = unknown> {
  /** Unique on this node. */
  readonly id: string;
  /** The user it is authenticated as ('' before that). */
  readonly userId: string;
  /** Its wire's encoder: recipients sharing one encoder object get the same bytes. */
  readonly encoder: WireEncoder<B>;
  /** Writes bytes this recipient's encoder made; they are shared, never modified. */
  write(bytes: B): void;
  /** Ends the connection; `message` is for people (logs, the close frame's text). */
  close(reason: CloseReason, message: string): void;
}

/** Encodes `event` for one recipient and writes it (for per-user events: one reader each). */
export function deliverTo(recipient: Recipient, event: DeliveryEvent): void {
  const bytes = recipient.encoder.encode(event);
  if (bytes !== undefined) recipient.write(bytes);
}

/**
 * One event encoded at most once per encoder, for a broadcast. Most broadcasts reach one wire:
 * the first encoder is kept in two fields, and a map is made only when a second one shows up.
 */
export class EncodeOnce {
  readonly #event: DeliveryEvent;
  #first: WireEncoder<unknown> | undefined;
  #firstBytes: unknown;
  #others: Map<WireEncoder<unknown>, unknown> | undefined;

  constructor(event: DeliveryEvent) {
    this.#event = event;
  }

  /** What `encoder` makes of the event (undefined: the wire does not carry it). */
  for(encoder: WireEncoder<unknown>): unknown {
    if (encoder === this.#first) return this.#firstBytes;
    if (this.#first === undefined) {
      this.#first = encoder;
      this.#firstBytes = encoder.encode(this.#event);
      return this.#firstBytes;
    }
    this.#others ??= new Map();
    if (this.#others.has(encoder)) return this.#others.get(encoder);
    const bytes = encoder.encode(this.#event);
    this.#others.set(encoder, bytes);
    return bytes;
  }
}
