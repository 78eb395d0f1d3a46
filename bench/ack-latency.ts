/**
 * Publish → ack latency and the server's event-loop delay at 1,000 messages/s (issue 6's
 * target: ack p99 ≤ 10 ms with durable commits), with SQLite appends committed on the event
 * loop (`sqliteAppendWorker: false`, as before the append worker) and in the append worker,
 * alternately, so that both see the same machine.
 *
 *   node --import tsx bench/ack-latency.ts [--rounds 2] [--steps 3]
 *
 * Each run is `bench/scenarios.ts`' ACK_SCENARIO through the benchmark's own orchestrator (a
 * fresh Parley bench server on a fresh SQLite file, WAL, synchronous FULL; the generator; both
 * pinned as in `npm run bench`): 100 clients in rooms of 10, every client publishing, `--steps`
 * steps of 5 s at 1,000 publishes/s. About 10 s + 7 s per step per run, 2 × `--rounds` runs.
 * Prints one line per step and a Markdown table; writes no file. Measures, never asserts.
 */
import { parseArgs } from 'node:util';
import { runBenchmark, type StepRecord } from './run-benchmark.js';
import { ACK_SCENARIO } from './scenarios.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
  },
});
const rounds = Math.max(1, Math.min(10, Number(values.rounds)));
const steps = Math.max(1, Math.min(10, Number(values.steps)));
const modes = [
  { name: 'event loop', env: '0' },
  { name: 'worker', env: '1' },
] as const;

const rows: { mode: string; round: number; step: StepRecord }[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const mode of modes) {
    // Read by bench/servers/parley-server.ts, which inherits this environment.
    process.env.PARLEY_BENCH_SQLITE_APPEND_WORKER = mode.env;
    process.stdout.write(`\n== round ${round}, commits on the ${mode.name}\n`);
    const result = await runBenchmark({
      scenarios: [
        { ...ACK_SCENARIO, ramp: Array.from({ length: steps }, () => ACK_SCENARIO.ramp[0] ?? 10_000) },
      ],
      servers: ['parley'],
      log: (line) => process.stdout.write(`${line}\n`),
    });
    for (const run of result.runs) {
      if (run.error !== undefined) process.stdout.write(`   failed: ${run.error}\n`);
      for (const step of run.steps) rows.push({ mode: mode.name, round, step });
    }
    process.stdout.write(`   load average after: ${result.machine.loadAvgAfter}\n`);
  }
}

const ms = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toFixed(1));
const lines = [
  '| Commits on | Round | Publish/s | Ack p50 | Ack p99 | End-to-end p99 | Loop delay p99 / max | Commit rows mean | Commit ms mean / max | Server CPU | Machine busy |',
  '| ---------- | ----: | --------: | ------: | ------: | -------------: | -------------------: | ---------------: | -------------------: | ---------: | -----------: |',
  ...rows.map(({ mode, round, step: s }) => {
    const b = s.batches;
    const loop = s.eventLoop === null ? '—' : `${ms(s.eventLoop.p99Ms)} / ${ms(s.eventLoop.maxMs)} ms`;
    return (
      `| ${mode} | ${round} | ${Math.round(s.publishedPerSecond)} | ${ms(s.ackP50Ms)} ms | ${ms(s.ackP99Ms)} ms | ` +
      `${ms(s.p99Ms)} ms | ${loop} | ${b === null ? '—' : b.mean.toFixed(1)} | ` +
      `${b === null ? '—' : `${b.meanMs.toFixed(2)} / ${b.maxMs.toFixed(1)} ms`} | ` +
      `${(s.serverCpu * 100).toFixed(0)} % | ${(s.machineBusy * 100).toFixed(0)} % |`
    );
  }),
];
process.stdout.write(`\n${lines.join('\n')}\n`);
