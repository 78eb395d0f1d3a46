/**
 * `npm run bench`: Parley against Socket.IO 4.8 in one run (issue 6).
 *
 *   npm run bench [-- --quick] [--only fanout,idle] [--servers parley,socketio]
 *                 [--max-steps N] [--cpu-prof]
 *                 (--cpu-prof: a CPU profile of each server over the ramp steps, in <out>/profiles) [--max-minutes 30] [--out bench/results]
 *
 * Each scenario gets a fresh server (pinned to core 0 with taskset when there are two cores)
 * and a fresh load generator (core 1). Prints a side-by-side table, writes `latest.json`,
 * `latest.md` (issue 15's targets beside the previous `latest.json`'s, then every scenario),
 * `latest.svg` and one `latest-<scenario>.svg` per scenario (plus a dated copy of the JSON)
 * into the output directory.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ServerKind } from './generator-protocol.js';
import { writeReport } from './render-results.js';
import type { BenchResult } from './run-benchmark.js';
import { runBenchmark } from './run-benchmark.js';
import { FULL_SCENARIOS, QUICK_SCENARIOS } from './scenarios.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    servers: { type: 'string', default: 'parley,socketio' },
    'max-steps': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'max-minutes': { type: 'string', default: '40' },
    out: { type: 'string', default: 'bench/results' },
  },
});

const pool = values.quick ? QUICK_SCENARIOS : FULL_SCENARIOS;
const only = values.only?.split(',').map((s) => s.trim());
const scenarios = only === undefined ? pool : pool.filter((s) => only.includes(s.name));
if (scenarios.length === 0) {
  process.stderr.write(
    `no scenario matches --only ${values.only}; known: ${pool.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}
const servers = values.servers.split(',').map((s) => s.trim()) as ServerKind[];
for (const s of servers) {
  if (s !== 'parley' && s !== 'parley-pusher' && s !== 'socketio') {
    process.stderr.write(`unknown server "${s}" (parley, parley-pusher, socketio)\n`);
    process.exit(2);
  }
}
const out = resolve(values.out);
await mkdir(out, { recursive: true });
const cpuProfDir = values['cpu-prof'] ? join(out, 'profiles') : undefined;
if (cpuProfDir !== undefined) await mkdir(cpuProfDir, { recursive: true });

const result = await runBenchmark({
  scenarios,
  servers,
  maxSteps: values['max-steps'] === undefined ? undefined : Number(values['max-steps']),
  cpuProfDir,
  deadlineMs: Number(values['max-minutes']) * 60_000,
  log: (line) => process.stdout.write(`${line}\n`),
});

const prefix = values.quick ? 'quick' : 'latest';
// The run this one replaces, for the targets table's "previous" column.
const previous = await readFile(join(out, `${prefix}.json`), 'utf8').then(
  (text) => JSON.parse(text) as BenchResult,
  () => undefined,
);
const stamp = result.startedAt.replace(/[:.]/g, '-');
await writeFile(
  join(out, `run-${stamp}${values.quick ? '-quick' : ''}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
);
await writeFile(join(out, `${prefix}.json`), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`\n${await writeReport(out, prefix, result, previous)}\n`);
process.stdout.write(`results: ${join(out, `${prefix}.{json,md,svg}`)}\n`);
