// What the admin console (#17) is shown, and how it travels between nodes on the bus.

/** The kinds of debug event the tap records. */
export const TRACE_TYPES = [
  'connect',
  'disconnect',
  'subscribe',
  'unsubscribe',
  'publish',
  'webhook',
  'error',
] as const;

/** A kind of debug event. */
export type TraceType = (typeof TRACE_TYPES)[number];

/**
 * One event passing through a node, as the debug console shows it. Ids, names and counts only:
 * never a token, a secret, a password or a message's text.
 */
export interface TraceEntry {
  /** When it happened (ms since the epoch). */
  readonly at: number;
  /** The node it happened on. */
  readonly node: string;
  readonly type: TraceType;
  /** The channel it concerns, when one. */
  readonly channel?: string | undefined;
  /** The user it concerns, when one. */
  readonly user?: string | undefined;
  /** A short description for people (at most 200 characters). */
  readonly detail: string;
}

/** One node's figures, as it reports them to the consoles. */
export interface NodeReport {
  readonly node: string;
  /** When it was made (ms since the epoch). */
  readonly at: number;
  /** Open WebSocket connections (authenticated or not). */
  readonly connections: number;
  /** Authenticated sessions. */
  readonly sessions: number;
  /** Channels with at least one subscriber on the node. */
  readonly channels: number;
  /** False while the node's bus link to the other nodes is down. */
  readonly busConnected: boolean;
  /** Users with a session on the node (at most `NODE_USERS_MAX`), by id. */
  readonly users: readonly string[];
  /** How many users have a session on the node (also those beyond `users`). */
  readonly userCount: number;
}

/** Users a node names in its report; the count says how many more there are. */
export const NODE_USERS_MAX = 50;

/** The topic figures and debug events travel on; only nodes with a console open subscribe. */
export const ADMIN_TOPIC = 'admin';

/** The admin console's bus events. */
export type AdminBusEvent =
  /**
   * A node has a console open: every node records debug events and reports its figures until
   * three watch periods pass without one. On the control topic, which every node receives.
   */
  | { readonly kind: 'admin_watch'; readonly node: string }
  /** A node's figures, in answer to a watch; on `ADMIN_TOPIC`. */
  | { readonly kind: 'admin_node'; readonly report: NodeReport }
  /** A node's debug events since its last flush, and how many it dropped; on `ADMIN_TOPIC`. */
  | {
      readonly kind: 'admin_trace';
      readonly node: string;
      readonly entries: readonly TraceEntry[];
      readonly dropped: number;
    };
