import type { ServerKind } from './generator-protocol.js';
import { renderChart } from './report.js';
import type { BenchResult, ScenarioRun, StepRecord } from './run-benchmark.js';

/**
 * Issue 15's targets, each with this run's figure beside a previous run's (the `latest.json`
 * the run replaced), as one Markdown table; and a chart per scenario.
 */

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const x = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(2)}×`);
const msOf = (n: number | undefined) => (n === undefined ? '—' : `${n.toFixed(1)} ms`);

function find(r: BenchResult | undefined, scenario: string, server: ServerKind): ScenarioRun | undefined {
  return r?.runs.find((run) => run.scenario === scenario && run.server === server && run.error === undefined);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || a === 0 || b === 0 ? undefined : a / b;
}

/** Parley's max sustainable ÷ Socket.IO's, for a scenario or a variant of it. */
function sustainRatio(r: BenchResult | undefined, scenario: string): number | undefined {
  const p = find(r, scenario, 'parley');
  const s = find(r, p?.baseline ?? scenario, 'socketio') ?? find(r, scenario, 'socketio');
  return ratio(p?.maxSustainable, s?.maxSustainable);
}

function stormRatio(r: BenchResult | undefined, scenario: string): number | undefined {
  const p = find(r, scenario, 'parley');
  const s = find(r, p?.baseline ?? scenario, 'socketio');
  return ratio(p?.setup[0]?.perSecond, s?.setup[0]?.perSecond);
}

function stormRate(r: BenchResult | undefined, scenario: string, server: ServerKind): number | undefined {
  return find(r, scenario, server)?.setup[0]?.perSecond;
}

function best(run: ScenarioRun | undefined): StepRecord | undefined {
  return run?.steps
    .filter((s) => s.sustainable)
    .sort((a, b) => b.deliveriesPerSecond - a.deliveriesPerSecond)[0];
}

/** The worst history/resume p99 and event-loop stall over the history-resume steps. */
function historyFigures(r: BenchResult | undefined) {
  const run = find(r, 'history-resume', 'parley');
  if (run === undefined || run.steps.length === 0) return undefined;
  const churn = run.steps.map((s) => s.churn).filter((c) => c !== null);
  return {
    joinP99: Math.max(...churn.map((c) => c.joinP99Ms)),
    resumeP99: Math.max(...churn.map((c) => c.resumeP99Ms)),
    loopMax: Math.max(...run.steps.map((s) => s.eventLoop?.maxMs ?? 0)),
    gapFree: churn.every((c) => c.gapFree === c.resumes && c.recovered === c.resumes),
  };
}

function idleAt(r: BenchResult | undefined, scenario: string, server: ServerKind) {
  const run = find(r, scenario, server);
  return run?.idle.at(-1);
}

/** The step of both runs at the same target with the most deliveries both sustained. */
function commonStep(a: ScenarioRun | undefined, b: ScenarioRun | undefined) {
  const ok = (run: ScenarioRun | undefined) =>
    new Set(run?.steps.filter((s) => s.sustainable).map((s) => s.targetDeliveries));
  const both = [...ok(a)].filter((t) => ok(b).has(t)).sort((p, q) => q - p)[0];
  if (both === undefined) return undefined;
  return {
    target: both,
    a: a!.steps.find((s) => s.targetDeliveries === both)!,
    b: b!.steps.find((s) => s.targetDeliveries === both)!,
  };
}

interface Row {
  readonly target: string;
  readonly figure: (r: BenchResult | undefined) => string;
  readonly met: (r: BenchResult | undefined) => boolean | undefined;
}

const ROWS: readonly Row[] = [
  {
    target: 'DMs (1,000 rooms of 2): max sustainable deliveries/s ≥ 2× Socket.IO',
    figure: (r) => {
      const p = find(r, 'small-rooms', 'parley');
      const s = find(r, 'small-rooms', 'socketio');
      return p === undefined
        ? '—'
        : `${int(p.maxSustainable)} vs ${int(s?.maxSustainable ?? 0)}: ${x(sustainRatio(r, 'small-rooms'))}`;
    },
    met: (r) => ((v) => (v === undefined ? undefined : v >= 2))(sustainRatio(r, 'small-rooms')),
  },
  {
    target: 'Connect storm: connections/s to ready ≥ 1.5× Socket.IO',
    figure: (r) =>
      stormRate(r, 'idle', 'parley') === undefined
        ? '—'
        : `${int(stormRate(r, 'idle', 'parley')!)} vs ${int(stormRate(r, 'idle', 'socketio') ?? 0)}/s: ${x(stormRatio(r, 'idle'))}`,
    met: (r) => ((v) => (v === undefined ? undefined : v >= 1.5))(stormRatio(r, 'idle')),
  },
  {
    target: 'Connect storm without presence events (PARLEY_PRESENCE_MAX=1) ÷ Socket.IO (which sends none)',
    figure: (r) =>
      stormRate(r, 'idle-presence-off', 'parley') === undefined
        ? '—'
        : `${int(stormRate(r, 'idle-presence-off', 'parley')!)}/s: ${x(stormRatio(r, 'idle-presence-off'))}`,
    met: () => undefined,
  },
  {
    target: 'History on join / resume p99 ≤ 20 ms, no event-loop stall > 20 ms',
    figure: (r) => {
      const h = historyFigures(r);
      return h === undefined
        ? '—'
        : `join ${msOf(h.joinP99)}, resume ${msOf(h.resumeP99)}, loop max ${msOf(h.loopMax)}${h.gapFree ? ', gap-free' : ', GAPS'}`;
    },
    met: (r) => {
      const h = historyFigures(r);
      return h === undefined
        ? undefined
        : h.joinP99 <= 20 && h.resumeP99 <= 20 && h.loopMax <= 20 && h.gapFree;
    },
  },
  {
    target: 'Room fan-out: max sustainable deliveries/s ≥ 4× Socket.IO',
    figure: (r) => {
      const p = find(r, 'fanout', 'parley');
      const s = find(r, 'fanout', 'socketio');
      return p === undefined
        ? '—'
        : `${int(p.maxSustainable)} vs ${int(s?.maxSustainable ?? 0)}: ${x(sustainRatio(r, 'fanout'))}`;
    },
    met: (r) => ((v) => (v === undefined ? undefined : v >= 4))(sustainRatio(r, 'fanout')),
  },
  {
    target: 'Idle memory per connection ≤ ½ Socket.IO (RSS growth / heap, largest checkpoint)',
    figure: (r) => {
      const p = idleAt(r, 'idle', 'parley');
      const s = idleAt(r, 'idle', 'socketio');
      if (p === undefined) return '—';
      return `${int(p.connections)}: ${p.rssPerConnKiB.toFixed(1)} / ${p.heapPerConnKiB.toFixed(1)} KiB vs ${s?.rssPerConnKiB.toFixed(1) ?? '—'} / ${s?.heapPerConnKiB.toFixed(1) ?? '—'}: ${x(ratio(p.rssPerConnKiB, s?.rssPerConnKiB))} / ${x(ratio(p.heapPerConnKiB, s?.heapPerConnKiB))}`;
    },
    met: (r) => {
      const v = ratio(
        idleAt(r, 'idle', 'parley')?.rssPerConnKiB,
        idleAt(r, 'idle', 'socketio')?.rssPerConnKiB,
      );
      return v === undefined ? undefined : v <= 0.5;
    },
  },
  ...(['mariadb', 'postgres', 'workers'] as const).map(
    (v): Row => ({
      target: `${v === 'mariadb' ? 'MariaDB' : v === 'postgres' ? 'PostgreSQL' : '--workers 2 (Redis bus, SQLite)'}: fan-out / DMs / storm ÷ Socket.IO`,
      figure: (r) => {
        const f = find(r, `fanout-${v}`, 'parley');
        const d = find(r, `small-rooms-${v}`, 'parley');
        if (f === undefined && d === undefined) return '—';
        const storm =
          v === 'workers'
            ? ''
            : ` / ${int(stormRate(r, `idle-${v}`, 'parley') ?? 0)}/s ${x(stormRatio(r, `idle-${v}`))}`;
        return `${int(f?.maxSustainable ?? 0)} ${x(sustainRatio(r, `fanout-${v}`))} / ${int(d?.maxSustainable ?? 0)} ${x(sustainRatio(r, `small-rooms-${v}`))}${storm}`;
      },
      met: () => undefined,
    }),
  ),
  {
    target: 'Webhooks on (DMs): max sustainable ÷ the same without; ÷ Socket.IO',
    figure: (r) => {
      const on = find(r, 'small-rooms-webhooks', 'parley');
      const off = find(r, 'small-rooms', 'parley');
      if (on === undefined) return '—';
      const hooks = on.steps.reduce((a, s) => a + s.webhooks, 0);
      return `${int(on.maxSustainable)} vs ${int(off?.maxSustainable ?? 0)}: ${x(ratio(on.maxSustainable, off?.maxSustainable))}; ${x(sustainRatio(r, 'small-rooms-webhooks'))}; ${int(hooks)} webhooks received`;
    },
    met: () => undefined,
  },
  {
    target: 'Compression on, ~2 KB texts: max sustainable ÷ Socket.IO; CPU µs and bytes per delivery',
    figure: (r) => {
      const p = find(r, 'fanout-compression', 'parley');
      const s = find(r, 'fanout-compression', 'socketio');
      if (p === undefined) return '—';
      const c = commonStep(p, s);
      const plain = best(find(r, 'fanout-2kb', 'parley'));
      const at =
        c === undefined
          ? ''
          : `; at ${int(c.target)}/s: ${c.a.serverCpuUsPerDelivery.toFixed(1)} vs ${c.b.serverCpuUsPerDelivery.toFixed(1)} µs, ${int(c.a.bytesPerDelivery)} vs ${int(c.b.bytesPerDelivery)} B`;
      const off = plain === undefined ? '' : ` (off: ${int(plain.bytesPerDelivery)} B)`;
      return `${int(p.maxSustainable)} vs ${int(s?.maxSustainable ?? 0)}: ${x(sustainRatio(r, 'fanout-compression'))}${at}${off}`;
    },
    met: () => undefined,
  },
  {
    target: '50,000 connections: RSS per connection at 19,500 (one process) and 39,000 (two workers)',
    figure: (r) => {
      const one = idleAt(r, 'idle', 'parley');
      const two = idleAt(r, 'idle-workers', 'parley');
      if (one === undefined && two === undefined) return '—';
      const a =
        one === undefined
          ? '—'
          : `${int(one.connections)}: ${one.rssPerConnKiB.toFixed(1)} KiB (RSS ${int(one.rssMiB)} MiB)`;
      const b =
        two === undefined
          ? '—'
          : `${int(two.connections)}: ${two.rssPerConnKiB.toFixed(1)} KiB (RSS ${int(two.rssMiB)} MiB)`;
      const proj = two ?? one;
      const p50 =
        proj === undefined
          ? ''
          : `; 50,000 ≈ ${int(proj.rssMiB + ((50_000 - proj.connections) * proj.rssPerConnKiB) / 1024)} MiB`;
      const k = two ?? one;
      const tcp =
        k?.tcpMemPages === undefined
          ? ''
          : `; kernel TCP buffers ${((k.tcpMemPages * 4) / 1024).toFixed(0)} MiB for ${int(k.tcpInUse ?? 0)} sockets (both ends)`;
      return `${a}; ${b}${p50}${tcp}`;
    },
    met: () => undefined,
  },
];

/** The issue-15 table: every target, this run's figure and the previous run's. */
export function renderTargets(result: BenchResult, previous: BenchResult | undefined): string {
  const when = (r: BenchResult | undefined) =>
    r === undefined ? 'none' : `${r.startedAt.slice(0, 16)}Z, ${r.machine.versions.parley}`;
  const lines = [
    `| Issue 15 target | This run (${when(result)}) | Met | Previous run (${when(previous)}) |`,
    '| --- | --- | :---: | --- |',
  ];
  for (const row of ROWS) {
    const met = row.met(result);
    lines.push(
      `| ${row.target} | ${row.figure(result)} | ${met === undefined ? '' : met ? '✔' : '✘'} | ${row.figure(previous)} |`,
    );
  }
  return lines.join('\n');
}

/** The highest step of a run (sustainable or not), where its ceiling shows. */
function top(run: ScenarioRun | undefined): StepRecord | undefined {
  return run?.steps.at(-1);
}

/**
 * Each store (and the workers) side by side: max sustainable fan-out and DMs with the ratio to
 * Socket.IO, the storm's connections/s, and at each ramp's last step the commits (rows and ms
 * each) and the server's CPU: where the ceiling comes from.
 */
export function renderStores(result: BenchResult): string {
  const lines = [
    '| Parley on | Fan-out max sustainable (÷ Socket.IO) | At its last step: del/s, commit rows / ms mean, CPU | DMs max sustainable (÷ Socket.IO) | At its last step: del/s, commit rows / ms mean, CPU | Storm conn/s (÷ Socket.IO), CPU µs per connection |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const cell = (s: StepRecord | undefined) =>
    s === undefined
      ? '—'
      : `${int(s.deliveriesPerSecond)}/s, ${s.batches?.mean.toFixed(0) ?? '—'} / ${s.batches?.meanMs.toFixed(1) ?? '—'} ms, ${(s.serverCpu * 100).toFixed(0)} %`;
  for (const [label, suffix] of [
    ['SQLite (one process)', ''],
    ['MariaDB', '-mariadb'],
    ['PostgreSQL', '-postgres'],
    ['SQLite, --workers 2 on Redis', '-workers'],
  ] as const) {
    const f = find(result, `fanout${suffix}`, 'parley');
    const d = find(result, `small-rooms${suffix}`, 'parley');
    const i = find(result, `idle${suffix}`, 'parley');
    if (f === undefined && d === undefined && i === undefined) continue;
    const storm = i?.setup[0];
    lines.push(
      `| ${label} | ${int(f?.maxSustainable ?? 0)} (${x(sustainRatio(result, `fanout${suffix}`))}) | ${cell(top(f))} | ${int(d?.maxSustainable ?? 0)} (${x(sustainRatio(result, `small-rooms${suffix}`))}) | ${cell(top(d))} | ${storm === undefined ? '—' : `${int(storm.perSecond)} (${x(stormRatio(result, `idle${suffix}`))}), ${int(storm.serverCpuUsPerConnection)} µs`} |`,
    );
  }
  return lines.join('\n');
}

/**
 * One chart per scenario, by name: p99 against deliveries/s for a ramp (a variant beside its
 * baseline's Socket.IO run), connections/s and memory per connection for an idle scenario.
 */
export function renderScenarioCharts(result: BenchResult): Map<string, string> {
  const charts = new Map<string, string>();
  for (const name of new Set(result.runs.map((r) => r.scenario))) {
    const runs = result.runs.filter((r) => r.scenario === name);
    const baseline = runs[0]?.baseline;
    const extra =
      baseline === undefined
        ? []
        : result.runs
            .filter((r) => r.scenario === baseline && r.server === 'socketio')
            .map((r) => ({ ...r, scenario: name }));
    const all = [...runs, ...extra];
    if (all.some((r) => r.steps.length > 0)) charts.set(name, renderChart({ ...result, runs: all }));
    else if (all.some((r) => r.idle.length > 0)) charts.set(name, idleChart(name, all));
  }
  return charts;
}

function idleChart(name: string, runs: readonly ScenarioRun[]): string {
  const W = 560;
  const rowH = 22;
  const bars: [string, number, string][] = [];
  for (const run of runs) {
    const who = run.server === 'socketio' ? 'Socket.IO' : 'Parley';
    const s = run.setup[0];
    if (s !== undefined)
      bars.push([`${who}: connections/s to ready (first ${int(s.connections)})`, s.perSecond, 'conn/s']);
    const i = run.idle.at(-1);
    if (i !== undefined) {
      bars.push([`${who}: RSS per connection at ${int(i.connections)}`, i.rssPerConnKiB, 'KiB']);
      bars.push([`${who}: heap per connection at ${int(i.connections)}`, i.heapPerConnKiB, 'KiB']);
    }
  }
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${40 + bars.length * rowH * 2}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="10" y="18" font-size="13" font-weight="bold">${name}: connect storm and idle memory</text>`,
  ];
  const byUnit = new Map<string, number>();
  for (const [, v, u] of bars) byUnit.set(u, Math.max(byUnit.get(u) ?? 0, v));
  bars.forEach(([label, v, unit], k) => {
    const y = 34 + k * rowH * 2;
    const w = ((W - 40) * v) / Math.max(1, byUnit.get(unit) ?? 1);
    const color = label.startsWith('Socket.IO') ? '#d62728' : '#1f77b4';
    out.push(`<text x="10" y="${y + 10}">${label}: ${unit === 'KiB' ? v.toFixed(1) : int(v)} ${unit}</text>`);
    out.push(`<rect x="10" y="${y + 14}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
