import type { AdminBusEvent, ChannelEvent, MemberChanged, UserEvent } from '../core/events.js';

/**
 * What travels on the bus between nodes: the core's domain events, never a wire's frames, so
 * every wire of every node reads the same events. (The shape changed when the wires were split
 * from the core: nodes of the release before cannot read it; docs/operations.md says how to
 * upgrade a cluster.)
 */
export type BusEvent =
  /** For every subscriber of the event's channel; on the channel's topic. */
  | ChannelEvent
  /** A membership changed: nodes forget the cached role, the user's connections are told; on the control topic. */
  | MemberChanged
  /** Every connection of the user closes; on the control topic. */
  | { readonly kind: 'kick'; readonly user_id: string; readonly reason: string }
  /** An event for every connection of one user (read positions); on the control topic. */
  | { readonly kind: 'user'; readonly user_id: string; readonly event: UserEvent }
  /** A channel's title, topic or archived flag changed: nodes forget what they cached; on the control topic. */
  | { readonly kind: 'channel'; readonly channel: string }
  /**
   * A channel's bans, mutes or slow mode changed (`channel` null: the word filters): nodes
   * forget what they cached, and end `banned`'s subscriptions to the channel; on the control topic.
   */
  | { readonly kind: 'moderation'; readonly channel: string | null; readonly banned?: string }
  /** A node's publications may have been lost: every node re-reads its channels' positions. */
  | { readonly kind: 'resync'; readonly node: string }
  /** The admin console's (#17): a watch on the control topic, figures and debug events on `ADMIN_TOPIC`. */
  | AdminBusEvent;

/** Receives every event published on a topic this node subscribed to. */
export type BusHandler = (topic: string, event: BusEvent) => void;

/** The topic of a channel's messages, presence and typing events. */
export function channelTopic(channel: string): string {
  return `ch:${channel}`;
}

/** The topic every node subscribes to, for membership changes and kicks. */
export const CONTROL_TOPIC = 'control';

/**
 * Called when the bus may have lost events (it reconnected, or another node's publications
 * were dropped): re-read positions, and forget or re-check whatever lost invalidations
 * (`member`, `kick`, `channel`) would have changed. Called once the link is back with every
 * subscription in effect: events published from then on arrive.
 */
export type ResyncHandler = () => void;

/**
 * Fan-out between nodes. Delivery is at most once: an event may be lost (a node notices by the
 * seq gap, or by the resync signal after an outage, and re-reads the Store), but never
 * duplicated by the bus and never reordered between one publisher and one topic. A node
 * receives its own publications, always through the handler, even while the link to other
 * nodes is down. Events published after `subscribe` resolves reach this node.
 */
export interface Bus {
  /** Sets the one handler of this node's events, and the one of resync signals. */
  setHandler(handler: BusHandler, onResync?: ResyncHandler): void;
  /**
   * False while the link to other nodes is down, until it is back with every subscription in
   * effect (always true for a single-node bus). While false, events of other nodes are being
   * lost: nodes read through their caches.
   */
  readonly connected: boolean;
  /** Starts receiving `topic`. Resolves once events published from now on will arrive. */
  subscribe(topic: string): Promise<void>;
  /** Stops receiving `topic`. */
  unsubscribe(topic: string): Promise<void>;
  /** Sends `event` to every node subscribed to `topic`. */
  publish(topic: string, event: BusEvent): Promise<void>;
  close(): Promise<void>;
}
