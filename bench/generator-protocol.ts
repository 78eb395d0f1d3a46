import type { SerializedHistogram } from './latency-histogram.js';

/**
 * The servers the benchmark compares. `parley-pusher` is Parley with its subscribers on the
 * Pusher endpoint (the room's publishers stay on Parley v1: Pusher clients publish no stored
 * messages), to compare the two wires' delivery.
 */
export type ServerKind = 'parley' | 'parley-pusher' | 'socketio';

/** Opens connections and puts them in rooms (`r0`, `r1`, …): connection i joins room i mod rooms. */
export interface SetupRequest {
  readonly cmd: 'setup';
  readonly server: ServerKind;
  readonly port: number;
  /** Connections to add (to those already open). */
  readonly connections: number;
  /** Rooms to spread all connections over. */
  readonly rooms: number;
  /** Distinct user ids: connection i is user `u(i mod users)`. */
  readonly users: number;
  /** Parley's JWT secret (tokens are signed in the generator). */
  readonly secret: string;
  /** Handshakes in flight at once. */
  readonly concurrency: number;
  /** Connections per local address (127.0.0.1, .2, …) before moving to the next one. */
  readonly perAddress: number;
  /** Connections per room that will publish (`parley-pusher`: those speak Parley v1). */
  readonly publishersPerRoom?: number;
  /**
   * The first connection index this generator uses (when it is the first to set up): several
   * generators take disjoint ranges, so disjoint users and local addresses.
   */
  readonly indexBase?: number;
  /** Offer permessage-deflate (and inflate what comes compressed). */
  readonly compression?: boolean;
}

/** What a setup achieved. */
export interface SetupResult {
  readonly ready: number;
  readonly failed: number;
  readonly ms: number;
  readonly perSecond: number;
  /** Connect → ready (Parley: `subscribed`; Socket.IO: `joined`) per connection. */
  readonly connectLatency: SerializedHistogram;
  readonly firstErrors: readonly string[];
}

/** History-on-join and resume traffic run during a step (Parley only). */
export interface ChurnRequest {
  /** New connections per second that subscribe with `history` messages, then leave. */
  readonly joinsPerSecond: number;
  readonly history: number;
  /** Connections that drop mid-step and resume by `since`/`epoch` after `resumeGapMs`. */
  readonly resumes: number;
  readonly resumeGapMs: number;
}

/** Publishes at `rate` per second for `durationMs`, spread round-robin over rooms and publishers. */
export interface StepRequest {
  readonly cmd: 'step';
  readonly step: number;
  /** Publishes per second (all rooms together). */
  readonly rate: number;
  readonly durationMs: number;
  /** Longest wait after the last publish for the deliveries still in flight. */
  readonly drainMs: number;
  /** Connections per room that publish. */
  readonly publishersPerRoom: number;
  /** Size of the message text, bytes. */
  readonly textBytes: number;
  readonly churn?: ChurnRequest | undefined;
}

/** What the generator saw in one step. */
export interface StepResult {
  readonly step: number;
  readonly published: number;
  readonly publishMs: number;
  /** Deliveries due: for each publish, the open members of its room at that moment. */
  readonly expected: number;
  readonly delivered: number;
  /** Time from the first publish to the last delivery counted (or the drain deadline). */
  readonly deliveryMs: number;
  readonly latency: SerializedHistogram;
  /** Publish → `ack` (Parley only). */
  readonly ack: SerializedHistogram;
  readonly errors: number;
  readonly firstErrors: readonly string[];
  /** Counted connections that closed during the step (e.g. cut off as slow consumers). */
  readonly closed: number;
  readonly open: number;
  /** The generator's own CPU use during the step, in cores (1 = one core busy). */
  readonly generatorCpu: number;
  /** Bytes received on the counted connections during the step (TCP payload: frames and all). */
  readonly bytesReceived: number;
  readonly churn?: ChurnResult | undefined;
}

/** History-on-join and resume outcomes. */
export interface ChurnResult {
  readonly joins: number;
  readonly joinFailed: number;
  /** Connect → `subscribed` with history, per join. */
  readonly joinLatency: SerializedHistogram;
  readonly historyMessagesMean: number;
  readonly resumes: number;
  readonly recovered: number;
  /** Resumes whose replay continued exactly after the last seq seen live. */
  readonly gapFree: number;
  /** Reconnect → `subscribed` with the missed messages, per resume. */
  readonly resumeLatency: SerializedHistogram;
  readonly replayedMean: number;
}

/** Closes every connection. */
export interface CloseRequest {
  readonly cmd: 'close';
}

/** Any request to the generator. */
export type GeneratorRequest = SetupRequest | StepRequest | CloseRequest;
