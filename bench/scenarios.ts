import type { ChurnRequest, ServerKind } from './generator-protocol.js';

/** A publish-rate ramp over a fixed set of connections in rooms. */
export interface RampScenario {
  readonly kind: 'ramp';
  readonly name: string;
  readonly title: string;
  readonly connections: number;
  readonly roomSize: number;
  /** Distinct user ids (connections are spread over them round robin). */
  readonly users: number;
  readonly publishersPerRoom: number;
  /** Target deliveries per second of each step (publish rate × room size). */
  readonly ramp: readonly number[];
  readonly stepMs: number;
  readonly drainMs: number;
  readonly textBytes: number;
  /** History-on-join and resume traffic during every step (Parley only). */
  readonly churn?: ChurnRequest;
  readonly parleyOnly?: boolean;
  /** The servers this scenario runs on, whatever `--servers` says (a comparison of Parley's wires). */
  readonly servers?: readonly ServerKind[];
}

/** Idle connections: memory per connection at each checkpoint, and the connect rate. */
export interface IdleScenario {
  readonly kind: 'idle';
  readonly name: string;
  readonly title: string;
  readonly checkpoints: readonly number[];
  readonly roomSize: number;
  readonly concurrency: number;
}

/** Any scenario. */
export type Scenario = RampScenario | IdleScenario;

const STEP_MS = 5000;
const DRAIN_MS = 3000;

/** The full benchmark (issue 6). */
export const FULL_SCENARIOS: readonly Scenario[] = [
  {
    kind: 'ramp',
    name: 'fanout',
    title: 'Room fan-out: 2,000 clients in rooms of 100',
    connections: 2000,
    roomSize: 100,
    users: 2000,
    publishersPerRoom: 10,
    ramp: [10_000, 25_000, 50_000, 75_000, 100_000, 150_000, 200_000, 250_000, 300_000, 400_000, 500_000],
    stepMs: STEP_MS,
    drainMs: DRAIN_MS,
    textBytes: 100,
  },
  {
    kind: 'ramp',
    name: 'huge-room',
    title: 'One huge room: 1 × 5,000',
    connections: 5000,
    roomSize: 5000,
    // Every connection its own user: above presenceMax (1,000) users online, joining no longer
    // broadcasts presence to the room, so 5,000 distinct users join in O(n).
    users: 5000,
    publishersPerRoom: 20,
    ramp: [10_000, 25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000, 500_000],
    stepMs: STEP_MS,
    drainMs: DRAIN_MS,
    textBytes: 100,
  },
  {
    kind: 'ramp',
    name: 'small-rooms',
    title: 'Many small rooms: 1,000 × 2',
    connections: 2000,
    roomSize: 2,
    users: 2000,
    publishersPerRoom: 2,
    ramp: [2_000, 5_000, 10_000, 20_000, 30_000, 40_000, 60_000, 80_000],
    stepMs: STEP_MS,
    drainMs: DRAIN_MS,
    textBytes: 100,
  },
  {
    kind: 'ramp',
    name: 'pusher-fanout',
    title: 'Room fan-out over the Pusher endpoint: 2,000 clients in rooms of 100, Parley v1 beside',
    connections: 2000,
    roomSize: 100,
    users: 2000,
    publishersPerRoom: 10,
    ramp: [10_000, 25_000, 50_000, 75_000, 100_000, 150_000, 200_000, 250_000, 300_000, 400_000, 500_000],
    stepMs: STEP_MS,
    drainMs: DRAIN_MS,
    textBytes: 100,
    servers: ['parley', 'parley-pusher'],
  },
  {
    kind: 'idle',
    name: 'idle',
    title: 'Idle connections (connect storm, then memory per connection)',
    // Clamped to the open-file limit (run-benchmark.ts raises it with prlimit where allowed).
    checkpoints: [10_000, 50_000],
    roomSize: 100,
    concurrency: 1000,
  },
  {
    kind: 'ramp',
    name: 'history-resume',
    title: 'History on join and resume under load: 1,000 clients in rooms of 100',
    connections: 1000,
    roomSize: 100,
    users: 1000,
    publishersPerRoom: 10,
    ramp: [10_000, 25_000, 50_000],
    stepMs: 6000,
    drainMs: DRAIN_MS,
    textBytes: 100,
    churn: { joinsPerSecond: 20, history: 50, resumes: 50, resumeGapMs: 1000 },
    parleyOnly: true,
  },
];

/** The smoke run (`--quick`): small, short, well under a minute for both servers. */
export const QUICK_SCENARIOS: readonly Scenario[] = [
  {
    kind: 'ramp',
    name: 'pusher-fanout',
    title: 'Room fan-out over the Pusher endpoint (quick): 400 clients in rooms of 100, Parley v1 beside',
    connections: 400,
    roomSize: 100,
    users: 400,
    publishersPerRoom: 10,
    ramp: [10_000, 40_000],
    stepMs: 2000,
    drainMs: 1000,
    textBytes: 100,
    servers: ['parley', 'parley-pusher'],
  },
  {
    kind: 'ramp',
    name: 'fanout',
    title: 'Room fan-out (quick): 400 clients in rooms of 100',
    connections: 400,
    roomSize: 100,
    users: 400,
    publishersPerRoom: 10,
    ramp: [10_000, 40_000],
    stepMs: 2000,
    drainMs: 1000,
    textBytes: 100,
  },
  {
    kind: 'idle',
    name: 'idle',
    title: 'Idle connections (quick)',
    checkpoints: [1000],
    roomSize: 100,
    concurrency: 200,
  },
  {
    kind: 'ramp',
    name: 'history-resume',
    title: 'History on join and resume under load (quick): 200 clients in rooms of 100',
    connections: 200,
    roomSize: 100,
    users: 200,
    publishersPerRoom: 10,
    ramp: [10_000],
    stepMs: 3000,
    drainMs: 1000,
    textBytes: 100,
    churn: { joinsPerSecond: 10, history: 50, resumes: 10, resumeGapMs: 500 },
    parleyOnly: true,
  },
];

/**
 * Publish → ack at 1,000 messages/s (issue 6's target: ack p99 ≤ 10 ms, durable) with light
 * fan-out: every client publishes into its room of 10. Run by `bench/ack-latency.ts`.
 */
export const ACK_SCENARIO: RampScenario = {
  kind: 'ramp',
  name: 'ack',
  title: 'Publish → ack at 1,000 msg/s: 100 clients in rooms of 10, all publishing',
  connections: 100,
  roomSize: 10,
  users: 100,
  publishersPerRoom: 10,
  ramp: [10_000],
  stepMs: STEP_MS,
  drainMs: 2000,
  textBytes: 100,
  parleyOnly: true,
};
