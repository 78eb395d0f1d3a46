import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type GeneratorHandle,
  openFileLimit,
  raiseFdLimit,
  type ServerHandle,
  startGenerator,
  startServer,
} from './bench-processes.js';
import type { ServerKind, SetupRequest, SetupResult, StepRequest, StepResult } from './generator-protocol.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { IdleScenario, ParleyVariant, RampScenario, Scenario } from './scenarios.js';
import type { BatchSummary, LoopSummary } from './servers/server-stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLK_TCK = 100;
const SUSTAINABLE_RATIO = 0.999;
const SUSTAINABLE_P99_MS = 100;
/** Consecutive unsustainable steps that end a ramp. */
const FAILS_TO_STOP = 2;
/** Connections per loopback source address (the ephemeral range is ~28k ports per address). */
const PER_ADDRESS = 20_000;

/** Options of one benchmark run. */
export interface BenchOptions {
  readonly scenarios: readonly Scenario[];
  readonly servers: readonly ServerKind[];
  /** Run at most this many steps of each ramp (the smoke test runs one). */
  readonly maxSteps?: number | undefined;
  /** Record a CPU profile of each server during the ramps' steps, into this directory. */
  readonly cpuProfDir?: string | undefined;
  /** Whole-run deadline; a scenario that would start after it is skipped. */
  readonly deadlineMs?: number | undefined;
  readonly log?: (line: string) => void;
}

/** One step of a ramp as the orchestrator saw it (generator + /proc + server stats). */
export interface StepRecord {
  readonly targetDeliveries: number;
  readonly publishRate: number;
  readonly publishedPerSecond: number;
  readonly deliveriesPerSecond: number;
  readonly deliveredRatio: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly ackP50Ms: number | null;
  readonly ackP99Ms: number | null;
  readonly serverCpu: number;
  readonly serverRssMiB: number;
  readonly generatorCpu: number;
  readonly machineBusy: number;
  readonly open: number;
  readonly closed: number;
  readonly errors: number;
  readonly firstErrors: readonly string[];
  readonly batches: BatchSummary | null;
  /** The server's event-loop delay during the step (Parley only). */
  readonly eventLoop: LoopSummary | null;
  readonly churn: ChurnRecord | null;
  /** Bytes the generator received per delivery (frames and all, on the counted connections). */
  readonly bytesPerDelivery: number;
  /** Server CPU per delivery, µs (every process of the server). */
  readonly serverCpuUsPerDelivery: number;
  /** Webhook deliveries received during the step (webhook variants). */
  readonly webhooks: number;
  readonly sustainable: boolean;
  readonly verdict: string;
}

/** History-on-join and resume outcomes of a step. */
export interface ChurnRecord {
  readonly joins: number;
  readonly joinFailed: number;
  readonly joinP50Ms: number;
  readonly joinP99Ms: number;
  readonly historyMessagesMean: number;
  readonly resumes: number;
  readonly recovered: number;
  readonly gapFree: number;
  readonly resumeP50Ms: number;
  readonly resumeP99Ms: number;
  readonly replayedMean: number;
}

/** The outcome of one scenario on one server. */
export interface ScenarioRun {
  readonly scenario: string;
  readonly server: ServerKind;
  /** How Parley ran (store, workers, compression, webhooks); empty = the defaults. */
  readonly variant: ParleyVariant;
  /** The scenario whose Socket.IO run a Parley-only variant is compared with. */
  readonly baseline?: string;
  readonly setup: SetupRecord[];
  readonly steps: StepRecord[];
  /** Highest measured deliveries/s of a sustainable step; 0 when none was. */
  readonly maxSustainable: number;
  /** Idle scenario: memory per connection at each checkpoint. */
  readonly idle: IdleRecord[];
  readonly error?: string;
}

/** Connection setup. */
export interface SetupRecord {
  readonly connections: number;
  readonly ready: number;
  readonly failed: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly connectP50Ms: number;
  readonly connectP99Ms: number;
  /** Server CPU per connection made ready, µs (every process of the server). */
  readonly serverCpuUsPerConnection: number;
  readonly firstErrors: readonly string[];
}

/** Memory at one idle checkpoint. */
export interface IdleRecord {
  readonly connections: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly rssPerConnKiB: number;
  readonly heapPerConnKiB: number;
  /**
   * The kernel's TCP sockets in use and their buffer memory, in pages, machine-wide (both ends
   * of every loopback connection; /proc/net/sockstat): memory no process's RSS shows.
   */
  readonly tcpInUse?: number;
  readonly tcpMemPages?: number;
}

/** Everything one run measured, plus where it ran. */
export interface BenchResult {
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly runs: ScenarioRun[];
}

/** The machine and versions. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly versions: Record<string, string>;
  readonly pinned: boolean;
  readonly loadAvgBefore: string;
  readonly loadAvgAfter?: string;
}

/** Runs the scenarios against the servers, one fresh server and generator per scenario. */
export async function runBenchmark(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  raiseFdLimit(log);
  const machine = machineInfo();
  const runs: ScenarioRun[] = [];
  const started = Date.now();
  for (const scenario of options.scenarios) {
    for (const server of (scenario.kind === 'ramp' ? scenario.servers : undefined) ?? options.servers) {
      if (scenario.parleyOnly === true && server !== 'parley') continue;
      if (options.deadlineMs !== undefined && Date.now() - started > options.deadlineMs) {
        log(`skipping ${scenario.name} on ${server}: past the run deadline`);
        continue;
      }
      log(`\n== ${scenario.title} — ${server}`);
      runs.push(await runScenario(scenario, server, machine.pinned, options, log));
    }
  }
  return {
    startedAt: new Date(started).toISOString(),
    machine: { ...machine, loadAvgAfter: readFileSync('/proc/loadavg', 'utf8').trim() },
    runs,
  };
}

async function runScenario(
  scenario: Scenario,
  kind: ServerKind,
  pinned: boolean,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ScenarioRun> {
  const rooms =
    scenario.kind === 'ramp'
      ? Math.ceil(scenario.connections / scenario.roomSize)
      : Math.ceil(Math.max(...scenario.checkpoints) / scenario.roomSize);
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  const secret = randomBytes(48).toString('base64url');
  const run: ScenarioRun = {
    scenario: scenario.name,
    server: kind,
    variant: scenario.variant ?? {},
    ...(scenario.baseline === undefined ? {} : { baseline: scenario.baseline }),
    setup: [],
    steps: [],
    maxSustainable: 0,
    idle: [],
  };
  let server: ServerHandle;
  let generators: GeneratorHandle[];
  try {
    server = await startServer(kind, { dir, secret, rooms, pinned, variant: scenario.variant ?? {} });
  } catch (err) {
    log(`   could not start the server: ${(err as Error).message}`);
    await rm(dir, { recursive: true, force: true });
    return { ...run, error: (err as Error).message };
  }
  try {
    generators = await Promise.all(
      Array.from({ length: scenario.generators ?? 1 }, () => startGenerator(pinned)),
    );
  } catch (err) {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  try {
    if (scenario.kind === 'ramp')
      await runRamp(scenario, kind, rooms, secret, server, generators[0]!, run, options, log);
    else await runIdle(scenario, kind, rooms, secret, server, generators, run, options, log);
  } catch (err) {
    log(`   failed: ${(err as Error).message}`);
    (run as { error?: string }).error = (err as Error).message;
  } finally {
    for (const generator of generators) {
      await generator.request({ cmd: 'close' }).catch(() => {});
      generator.stop();
    }
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return run;
}

async function runRamp(
  scenario: RampScenario,
  kind: ServerKind,
  rooms: number,
  secret: string,
  server: ServerHandle,
  generator: GeneratorHandle,
  run: ScenarioRun,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<void> {
  const pids = (await server.stats(false)).pids ?? [server.pid];
  const setup = await setupConnections(
    [generator],
    server,
    pids,
    kind,
    rooms,
    secret,
    scenario.connections,
    scenario.users,
    200,
    scenario.variant?.compression === true,
    scenario.publishersPerRoom,
  );
  run.setup.push(setup);
  log(
    `   ${setup.ready}/${setup.connections} connected in ${setup.seconds.toFixed(1)} s ` +
      `(${Math.round(setup.perSecond)}/s, p99 ${setup.connectP99Ms.toFixed(0)} ms)`,
  );
  if (setup.ready === 0) throw new Error(`no connection could join: ${setup.firstErrors.join('; ')}`);
  await server.stats(false); // reset the batch counters
  if (options.cpuProfDir !== undefined) await server.request({ cmd: 'profile-start' });
  let fails = 0;
  const steps = scenario.ramp.slice(0, options.maxSteps ?? scenario.ramp.length);
  for (const [i, target] of steps.entries()) {
    const rate = target / scenario.roomSize;
    const before = sampleProc(pids);
    const hooksBefore = server.webhooksReceived();
    const req: StepRequest = {
      cmd: 'step',
      step: i + 1,
      rate,
      durationMs: scenario.stepMs,
      drainMs: scenario.drainMs,
      publishersPerRoom: scenario.publishersPerRoom,
      textBytes: scenario.textBytes,
      churn: kind === 'parley' ? scenario.churn : undefined,
    };
    const r = await generator.request<StepResult>(req);
    const after = sampleProc(pids);
    const stats = await server.stats(false);
    const rec = stepRecord(target, rate, r, before, after, stats.batches ?? null, stats.loop ?? null, {
      webhooks: server.webhooksReceived() - hooksBefore,
    });
    run.steps.push(rec);
    log(`   ${formatStep(rec)}`);
    if (rec.sustainable) {
      fails = 0;
      if (rec.deliveriesPerSecond > run.maxSustainable)
        (run as { maxSustainable: number }).maxSustainable = rec.deliveriesPerSecond;
    } else if (++fails >= FAILS_TO_STOP) break;
  }
  if (options.cpuProfDir !== undefined) {
    const file = join(options.cpuProfDir, `${scenario.name}-${kind}.cpuprofile`);
    await server.request({ cmd: 'profile-stop', file });
    log(`   CPU profile of the steps: ${file}`);
  }
}

async function runIdle(
  scenario: IdleScenario,
  kind: ServerKind,
  rooms: number,
  secret: string,
  server: ServerHandle,
  generators: readonly GeneratorHandle[],
  run: ScenarioRun,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<void> {
  const base = await server.stats(true);
  const pids = base.pids ?? [server.pid];
  // --cpu-prof: the server's main thread over the first checkpoint's connect storm.
  if (options.cpuProfDir !== undefined) await server.request({ cmd: 'profile-start' });
  let have = 0;
  // Each generator (and each server process) holds at most the open-file limit.
  const cap = (openFileLimit() - 500) * generators.length;
  for (const wanted of scenario.checkpoints) {
    const target = Math.min(wanted, cap);
    if (target < wanted)
      log(`   ${wanted} connections need more open files than the limit allows: ${target} instead`);
    if (target <= have) break;
    const setup = await setupConnections(
      generators,
      server,
      pids,
      kind,
      rooms,
      secret,
      target - have,
      target,
      scenario.concurrency,
      scenario.variant?.compression === true,
    );
    run.setup.push(setup);
    have += setup.ready;
    if (options.cpuProfDir !== undefined && run.setup.length === 1) {
      const file = join(options.cpuProfDir, `${scenario.name}-${kind}.cpuprofile`);
      await server.request({ cmd: 'profile-stop', file });
      log(`   CPU profile of the connect storm: ${file}`);
    }
    log(
      `   +${setup.ready}/${setup.connections} connected in ${setup.seconds.toFixed(1)} s ` +
        `(${Math.round(setup.perSecond)}/s, p99 ${setup.connectP99Ms.toFixed(0)} ms)` +
        (setup.failed > 0 ? `, ${setup.failed} failed: ${setup.firstErrors[0]}` : ''),
    );
    await new Promise((r) => setTimeout(r, 2000));
    const m = await server.stats(true);
    const rec: IdleRecord = {
      connections: have,
      rssMiB: m.rss / 2 ** 20,
      heapMiB: m.heapUsed / 2 ** 20,
      rssPerConnKiB: (m.rss - base.rss) / 1024 / Math.max(have, 1),
      heapPerConnKiB: (m.heapUsed - base.heapUsed) / 1024 / Math.max(have, 1),
      ...tcpStat(),
    };
    run.idle.push(rec);
    log(
      `   ${have} idle: RSS ${rec.rssMiB.toFixed(0)} MiB (${rec.rssPerConnKiB.toFixed(1)} KiB/conn), ` +
        `heap ${rec.heapMiB.toFixed(0)} MiB (${rec.heapPerConnKiB.toFixed(1)} KiB/conn)`,
    );
    // A few refused connections do not end the scenario; most of them do.
    if (setup.ready < setup.connections * 0.9) break;
  }
}

/**
 * Opens `connections` more connections, split evenly over the generators (each its own range
 * of connection indexes, so its own users and local addresses), all at once.
 */
async function setupConnections(
  generators: readonly GeneratorHandle[],
  server: ServerHandle,
  pids: readonly number[],
  kind: ServerKind,
  rooms: number,
  secret: string,
  connections: number,
  users: number,
  concurrency: number,
  compression: boolean,
  publishersPerRoom?: number,
): Promise<SetupRecord> {
  const share = Math.ceil(connections / generators.length);
  const before = sampleProc(pids);
  const results = await Promise.all(
    generators.map((generator, g) => {
      const req: SetupRequest = {
        cmd: 'setup',
        ...(publishersPerRoom === undefined ? {} : { publishersPerRoom }),
        server: kind,
        port: server.port,
        connections: Math.min(share, connections - g * share),
        rooms,
        users,
        secret,
        concurrency: Math.ceil(concurrency / generators.length),
        perAddress: PER_ADDRESS,
        indexBase: g * users,
        compression,
      };
      return generator.request<SetupResult>(req);
    }),
  );
  const after = sampleProc(pids);
  const h = new LatencyHistogram();
  for (const r of results) h.merge(LatencyHistogram.fromJSON(r.connectLatency));
  const ready = results.reduce((a, r) => a + r.ready, 0);
  const ms = Math.max(...results.map((r) => r.ms));
  return {
    connections,
    ready,
    failed: results.reduce((a, r) => a + r.failed, 0),
    seconds: ms / 1000,
    perSecond: ready / (ms / 1000),
    connectP50Ms: h.quantileMs(0.5),
    connectP99Ms: h.quantileMs(0.99),
    serverCpuUsPerConnection: (((after.ticks - before.ticks) / CLK_TCK) * 1e6) / Math.max(ready, 1),
    firstErrors: results.flatMap((r) => r.firstErrors).slice(0, 5),
  };
}

function tcpStat(): { tcpInUse?: number; tcpMemPages?: number } {
  try {
    const m = /TCP: inuse (\d+) orphan \d+ tw \d+ alloc \d+ mem (\d+)/.exec(
      readFileSync('/proc/net/sockstat', 'utf8'),
    );
    return m === null ? {} : { tcpInUse: Number(m[1]), tcpMemPages: Number(m[2]) };
  } catch {
    return {};
  }
}

interface ProcSample {
  readonly at: number;
  readonly ticks: number;
  readonly rssKiB: number;
  readonly machineBusy: number;
  readonly machineTotal: number;
}

function sampleProc(pids: readonly number[]): ProcSample {
  let ticks = 0;
  let rssKiB = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces) start at `) `.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
      rssKiB += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // the process is gone
    }
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.reduce((a, b) => a + b, 0);
  return {
    at: performance.now(),
    ticks,
    rssKiB,
    machineBusy: total - idle,
    machineTotal: total,
  };
}

function stepRecord(
  target: number,
  rate: number,
  r: StepResult,
  before: ProcSample,
  after: ProcSample,
  batches: BatchSummary | null,
  eventLoop: LoopSummary | null,
  extra: { readonly webhooks: number },
): StepRecord {
  const latency = LatencyHistogram.fromJSON(r.latency);
  const ack = LatencyHistogram.fromJSON(r.ack);
  const seconds = Math.max(r.publishMs, r.deliveryMs) / 1000;
  const ratio = r.expected === 0 ? 0 : r.delivered / r.expected;
  const p99 = latency.quantileMs(0.99);
  const publishedPerSecond = r.published / (r.publishMs / 1000);
  const reasons: string[] = [];
  if (ratio < SUSTAINABLE_RATIO) reasons.push(`delivered ${(ratio * 100).toFixed(2)}%`);
  if (p99 >= SUSTAINABLE_P99_MS) reasons.push(`p99 ${p99.toFixed(0)} ms`);
  if (publishedPerSecond < rate * 0.95) reasons.push('publish rate not reached');
  if (r.generatorCpu > 0.95) reasons.push('generator saturated');
  const sustainable =
    ratio >= SUSTAINABLE_RATIO && p99 < SUSTAINABLE_P99_MS && publishedPerSecond >= rate * 0.95;
  const c = r.churn;
  let churn: ChurnRecord | null = null;
  if (c !== undefined) {
    const jl = LatencyHistogram.fromJSON(c.joinLatency);
    const rl = LatencyHistogram.fromJSON(c.resumeLatency);
    churn = {
      joins: c.joins,
      joinFailed: c.joinFailed,
      joinP50Ms: jl.quantileMs(0.5),
      joinP99Ms: jl.quantileMs(0.99),
      historyMessagesMean: c.historyMessagesMean,
      resumes: c.resumes,
      recovered: c.recovered,
      gapFree: c.gapFree,
      resumeP50Ms: rl.quantileMs(0.5),
      resumeP99Ms: rl.quantileMs(0.99),
      replayedMean: c.replayedMean,
    };
  }
  const wallS = (after.at - before.at) / 1000;
  return {
    targetDeliveries: target,
    publishRate: rate,
    publishedPerSecond,
    deliveriesPerSecond: r.delivered / seconds,
    deliveredRatio: ratio,
    p50Ms: latency.quantileMs(0.5),
    p99Ms: p99,
    maxMs: latency.maxUs / 1000,
    ackP50Ms: ack.count === 0 ? null : ack.quantileMs(0.5),
    ackP99Ms: ack.count === 0 ? null : ack.quantileMs(0.99),
    serverCpu: (after.ticks - before.ticks) / CLK_TCK / wallS,
    serverRssMiB: after.rssKiB / 1024,
    generatorCpu: r.generatorCpu,
    machineBusy:
      (after.machineBusy - before.machineBusy) / Math.max(1, after.machineTotal - before.machineTotal),
    open: r.open,
    closed: r.closed,
    errors: r.errors,
    firstErrors: r.firstErrors,
    batches,
    eventLoop,
    churn,
    bytesPerDelivery: r.delivered === 0 ? 0 : r.bytesReceived / r.delivered,
    serverCpuUsPerDelivery:
      r.delivered === 0 ? 0 : (((after.ticks - before.ticks) / CLK_TCK) * 1e6) / r.delivered,
    webhooks: extra.webhooks,
    sustainable,
    verdict: sustainable ? (reasons.length > 0 ? `ok (${reasons.join(', ')})` : 'ok') : reasons.join(', '),
  };
}

/** One line per step for the console. */
export function formatStep(s: StepRecord): string {
  const b =
    s.batches === null || s.batches.count === 0 ? '' : ` batch ${s.batches.mean.toFixed(1)}/${s.batches.max}`;
  const a = s.ackP99Ms === null ? '' : ` ack p99 ${s.ackP99Ms.toFixed(1)}`;
  const l =
    s.eventLoop === null || s.eventLoop.samples === 0
      ? ''
      : ` loop p99 ${s.eventLoop.p99Ms.toFixed(1)} max ${s.eventLoop.maxMs.toFixed(0)} ms`;
  const c =
    s.churn === null
      ? ''
      : ` | joins ${s.churn.joins} p99 ${s.churn.joinP99Ms.toFixed(0)} ms hist ${s.churn.historyMessagesMean.toFixed(0)}` +
        ` | resumes ${s.churn.recovered}/${s.churn.resumes} gap-free ${s.churn.gapFree} p99 ${s.churn.resumeP99Ms.toFixed(0)} ms`;
  return (
    `${(s.targetDeliveries / 1000).toFixed(0).padStart(4)}k target: ${Math.round(s.deliveriesPerSecond)} del/s ` +
    `(${(s.deliveredRatio * 100).toFixed(2)}%) p50 ${s.p50Ms.toFixed(1)} p99 ${s.p99Ms.toFixed(1)} max ${s.maxMs.toFixed(0)} ms` +
    `${a} cpu ${(s.serverCpu * 100).toFixed(0)}% rss ${s.serverRssMiB.toFixed(0)} MiB gen ${(s.generatorCpu * 100).toFixed(0)}%` +
    `${b}${l}${c} → ${s.verdict}`
  );
}

function machineInfo(): MachineInfo {
  const version = (pkg: string) => {
    try {
      return (
        JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      return '?';
    }
  };
  const parley = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    // not a git checkout
  }
  const meminfo = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return {
    cpu: cpus()[0]?.model ?? '?',
    cores: cpus().length,
    memGiB: Number(meminfo?.[1] ?? 0) / 2 ** 20,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    versions: {
      parley: `${parley.version} (${commit})`,
      'socket.io': version('socket.io'),
      'engine.io': version('engine.io'),
      ws: version('ws'),
      'better-sqlite3': version('better-sqlite3'),
    },
    pinned: cpus().length >= 2 && existsSync('/usr/bin/taskset'),
    loadAvgBefore: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}
