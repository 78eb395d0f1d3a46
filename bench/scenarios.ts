import type { ChurnRequest, ServerKind } from './generator-protocol.js';

/**
 * How Parley runs in a scenario, when not as `parley serve` does by default (SQLite file,
 * one process, no compression, no webhooks).
 */
export interface ParleyVariant {
  /** The database: a fresh one on the local server of that kind for each run. */
  readonly store?: 'sqlite' | 'mysql' | 'postgres';
  /** Worker processes (node:cluster, one port) on a private Redis for bus, presence and cache. */
  readonly workers?: number;
  /** `PARLEY_COMPRESSION=on` (and Socket.IO's `perMessageDeflate`), offered by every client. */
  readonly compression?: boolean;
  /** A webhook URL configured (a receiver in the orchestrator answers 200 to each). */
  readonly webhooks?: boolean;
  /** `PARLEY_PRESENCE_MAX`: 1 = no presence events or lists (Socket.IO sends none). */
  readonly presenceMax?: number;
}

/** What a scenario shares by kind: its name, its title and how the servers run. */
interface ScenarioBase {
  readonly name: string;
  readonly title: string;
  readonly variant?: ParleyVariant;
  /**
   * A Parley-only variant's comparison: the scenario (in the same run) whose Socket.IO figure
   * its ratio is taken against, e.g. `fanout` for `fanout-postgres`.
   */
  readonly baseline?: string;
  /** Load generator processes (each holds at most ~19,500 sockets: the open-file limit). */
  readonly generators?: number;
  /** Parley only (Socket.IO has no counterpart, or the baseline's Socket.IO run is the one). */
  readonly parleyOnly?: boolean;
}

/** A publish-rate ramp over a fixed set of connections in rooms. */
export interface RampScenario extends ScenarioBase {
  readonly kind: 'ramp';
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
  /** The servers this scenario runs on, whatever `--servers` says (a comparison of Parley's wires). */
  readonly servers?: readonly ServerKind[];
}

/** Idle connections: memory per connection at each checkpoint, and the connect rate. */
export interface IdleScenario extends ScenarioBase {
  readonly kind: 'idle';
  readonly checkpoints: readonly number[];
  readonly roomSize: number;
  readonly concurrency: number;
}

/** Any scenario. */
export type Scenario = RampScenario | IdleScenario;

const STEP_MS = 5000;
const DRAIN_MS = 3000;

/** A Parley-only copy of a scenario under a variant, compared with the original's Socket.IO run. */
function variantOf<S extends Scenario>(base: S, suffix: string, label: string, variant: ParleyVariant): S {
  return {
    ...base,
    name: `${base.name}-${suffix}`,
    title: `${base.title} — ${label}`,
    variant,
    baseline: base.name,
    parleyOnly: true,
  };
}

/** The issue-15 variants of the base scenarios: other stores, workers, webhooks, compression. */
function issue15(base: readonly Scenario[], quick: boolean): Scenario[] {
  const by = (name: string) => {
    const s = base.find((x) => x.name === name);
    if (s === undefined) throw new Error(`no base scenario ${name}`);
    return s;
  };
  const fanout = by('fanout') as RampScenario;
  const small = by('small-rooms') as RampScenario;
  const idle = by('idle') as IdleScenario;
  const storm: IdleScenario = { ...idle, checkpoints: [quick ? 1000 : 10_000] };
  const out: Scenario[] = [];
  for (const [store, label] of [
    ['mysql', 'MariaDB'],
    ['postgres', 'PostgreSQL'],
  ] as const) {
    out.push(variantOf(fanout, store === 'mysql' ? 'mariadb' : store, label, { store }));
    out.push(variantOf(small, store === 'mysql' ? 'mariadb' : store, label, { store }));
    out.push(variantOf(storm, store === 'mysql' ? 'mariadb' : store, label, { store }));
  }
  out.push(variantOf(fanout, 'workers', '--workers 2 on Redis', { workers: 2 }));
  out.push(variantOf(small, 'workers', '--workers 2 on Redis', { workers: 2 }));
  out.push(variantOf(small, 'webhooks', 'a webhook URL configured', { webhooks: true }));
  // The storm without presence: each join in a room of 100 is otherwise a frame to every member.
  out.push(
    variantOf(storm, 'presence-off', 'PARLEY_PRESENCE_MAX=1 (no presence events)', { presenceMax: 1 }),
  );
  // Compression: ~2 KB texts (English-like, so they compress as chat does), both servers with it on.
  out.push({
    ...fanout,
    name: 'fanout-compression',
    title: `${fanout.title}, ~2 KB texts, permessage-deflate on`,
    textBytes: 2000,
    variant: { compression: true },
    ramp: quick ? fanout.ramp : fanout.ramp.slice(0, 8),
  });
  // Two Parley processes holding ~39,000 connections (two generators: one holds ~19,500).
  out.push({
    ...variantOf(idle, 'workers', '--workers 2 on Redis, two load generators', { workers: 2 }),
    checkpoints: quick ? [2000] : [39_000],
    generators: 2,
  });
  // The same ~2 KB texts without compression, for the bytes and CPU it saves.
  out.push({
    ...fanout,
    name: 'fanout-2kb',
    title: `${fanout.title}, ~2 KB texts, no compression`,
    textBytes: 2000,
    ramp: quick ? fanout.ramp : fanout.ramp.slice(0, 8),
  });
  return out;
}

/** The full benchmark (issue 6). */
const BASE_SCENARIOS: readonly Scenario[] = [
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

/** The full benchmark: issue 6's scenarios and issue 15's variants of them. */
export const FULL_SCENARIOS: readonly Scenario[] = [...BASE_SCENARIOS, ...issue15(BASE_SCENARIOS, false)];

/** The smoke run (`--quick`): small, short, well under a minute for both servers. */
const QUICK_BASE: readonly Scenario[] = [
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
    kind: 'ramp',
    name: 'small-rooms',
    title: 'Many small rooms (quick): 200 × 2',
    connections: 400,
    roomSize: 2,
    users: 400,
    publishersPerRoom: 2,
    ramp: [2_000, 5_000],
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

/** The smoke run (`--quick`): the quick base scenarios and their issue-15 variants. */
export const QUICK_SCENARIOS: readonly Scenario[] = [...QUICK_BASE, ...issue15(QUICK_BASE, true)];

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
