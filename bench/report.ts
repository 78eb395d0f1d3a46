import type { ServerKind } from './generator-protocol.js';
import type { BenchResult, ScenarioRun, StepRecord } from './run-benchmark.js';

const NAMES: Record<ServerKind, string> = {
  parley: 'Parley',
  'parley-pusher': 'Parley (Pusher wire)',
  socketio: 'Socket.IO',
};
const COLORS: Record<ServerKind, string> = {
  parley: '#1f77b4',
  'parley-pusher': '#2ca02c',
  socketio: '#d62728',
};

function find(result: BenchResult, scenario: string, server: ServerKind): ScenarioRun | undefined {
  return result.runs.find((r) => r.scenario === scenario && r.server === server);
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(1)} ms`);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 || a === 0 ? '—' : `${(a / b).toFixed(2)}×`;

/** The step of a run closest to a target of deliveries/s. */
function stepAt(run: ScenarioRun | undefined, target: number): StepRecord | undefined {
  return run?.steps.find((s) => s.targetDeliveries === target);
}

function bestStep(run: ScenarioRun | undefined): StepRecord | undefined {
  return run?.steps
    .filter((s) => s.sustainable)
    .sort((a, b) => b.deliveriesPerSecond - a.deliveriesPerSecond)[0];
}

/** The side-by-side summary and the per-step tables, as Markdown. */
export function renderMarkdown(result: BenchResult): string {
  const m = result.machine;
  const lines: string[] = [];
  lines.push(
    `Run ${result.startedAt} on ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(0)} GiB, Linux ${m.kernel}, ` +
      `Node ${m.node}; ${Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}. ` +
      `${m.pinned ? 'Servers pinned to core 0, load generator to core 1 (taskset).' : 'Not pinned.'} ` +
      `Load average before: ${m.loadAvgBefore.split(' ').slice(0, 3).join(' ')}; after: ` +
      `${(m.loadAvgAfter ?? '?').split(' ').slice(0, 3).join(' ')}.`,
  );
  lines.push('');
  lines.push('| Measure | Parley | Socket.IO | Parley ÷ Socket.IO |');
  lines.push('| --- | ---: | ---: | ---: |');
  const sustainRow = (scenario: string, label: string) => {
    const p = find(result, scenario, 'parley');
    const s = find(result, scenario, 'socketio');
    if (p === undefined && s === undefined) return;
    lines.push(
      `| ${label} | ${p ? int(p.maxSustainable) : '—'} | ${s ? int(s.maxSustainable) : '—'} | ${ratio(p?.maxSustainable, s?.maxSustainable)} |`,
    );
  };
  sustainRow('fanout', 'Max sustainable deliveries/s — room fan-out (headline)');
  const sioBest = bestStep(find(result, 'fanout', 'socketio'));
  if (sioBest !== undefined) {
    const p = stepAt(find(result, 'fanout', 'parley'), sioBest.targetDeliveries);
    lines.push(
      `| p99 latency at Socket.IO's max sustainable step (${int(sioBest.targetDeliveries)}/s target) | ${ms(p?.p99Ms)} | ${ms(sioBest.p99Ms)} | ${ratio(p?.p99Ms, sioBest.p99Ms)} |`,
    );
  }
  sustainRow('huge-room', 'Max sustainable deliveries/s — one room of 5,000');
  sustainRow('small-rooms', 'Max sustainable deliveries/s — 1,000 rooms of 2');
  const pi = find(result, 'idle', 'parley');
  const si = find(result, 'idle', 'socketio');
  for (const [k, rec] of (pi?.idle ?? si?.idle ?? []).entries()) {
    const a = pi?.idle[k];
    const b = si?.idle[k];
    const kib = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(1)} KiB`);
    lines.push(
      `| Idle memory per connection at ${int(rec.connections)} (RSS growth) | ${kib(a?.rssPerConnKiB)} | ${kib(b?.rssPerConnKiB)} | ${ratio(a?.rssPerConnKiB, b?.rssPerConnKiB)} |`,
    );
    lines.push(
      `| Idle heap per connection at ${int(rec.connections)} | ${kib(a?.heapPerConnKiB)} | ${kib(b?.heapPerConnKiB)} | ${ratio(a?.heapPerConnKiB, b?.heapPerConnKiB)} |`,
    );
  }
  const ps = pi?.setup[0];
  const ss = si?.setup[0];
  if (ps !== undefined || ss !== undefined) {
    lines.push(
      `| Connect storm: connections/s to ready (first ${int((ps ?? ss)!.connections)}) | ${ps ? int(ps.perSecond) : '—'} | ${ss ? int(ss.perSecond) : '—'} | ${ratio(ps?.perSecond, ss?.perSecond)} |`,
    );
  }
  const pf = find(result, 'fanout', 'parley');
  const ackStep = pf?.steps
    .filter((s) => s.ackP99Ms !== null)
    .sort((a, b) => Math.abs(a.publishRate - 1000) - Math.abs(b.publishRate - 1000))[0];
  if (ackStep !== undefined) {
    lines.push(
      `| Publish → ack p99 at ${int(ackStep.publishRate)} msg/s (durable) | ${ms(ackStep.ackP99Ms)} | n/a (no ack, no storage) | |`,
    );
  }
  const best = bestStep(pf);
  if (best?.batches != null && best.batches.count > 0) {
    lines.push(
      `| Group commit at Parley's best fan-out step: rows per commit mean / max, commit ms mean / max | ${best.batches.mean.toFixed(1)} / ${best.batches.max}, ${best.batches.meanMs.toFixed(2)} / ${best.batches.maxMs.toFixed(1)} ms | n/a | |`,
    );
  }
  const hr = find(result, 'history-resume', 'parley');
  const churnStep = hr?.steps.find((s) => s.churn !== null);
  if (churnStep?.churn != null) {
    const c = churnStep.churn;
    lines.push(
      `| History on join (${c.historyMessagesMean.toFixed(0)} messages) p50 / p99, under ${int(churnStep.targetDeliveries)} deliveries/s | ${ms(c.joinP50Ms)} / ${ms(c.joinP99Ms)} | n/a (no history) | |`,
    );
    lines.push(
      `| Resume after ${c.replayedMean.toFixed(0)} missed messages p50 / p99; recovered, gap-free | ${ms(c.resumeP50Ms)} / ${ms(c.resumeP99Ms)}; ${c.recovered}/${c.resumes}, ${c.gapFree}/${c.resumes} | n/a | |`,
    );
  }
  const pv1 = find(result, 'pusher-fanout', 'parley');
  const ppu = find(result, 'pusher-fanout', 'parley-pusher');
  if (pv1 !== undefined || ppu !== undefined) {
    // Parley's two wires side by side, in a table of their own.
    lines.push('');
    lines.push('| Fan-out to 2,000 subscribers in rooms of 100 | Parley v1 | Pusher wire | Pusher ÷ v1 |');
    lines.push('| --- | ---: | ---: | ---: |');
    lines.push(
      `| Max sustainable deliveries/s | ${pv1 ? int(pv1.maxSustainable) : '—'} | ${ppu ? int(ppu.maxSustainable) : '—'} | ${ratio(ppu?.maxSustainable, pv1?.maxSustainable)} |`,
    );
    const top = bestStep(pv1);
    if (top !== undefined) {
      const p = stepAt(ppu, top.targetDeliveries);
      lines.push(
        `| p99 at v1's best step (${int(top.targetDeliveries)}/s target) | ${ms(top.p99Ms)} | ${ms(p?.p99Ms)} | ${ratio(p?.p99Ms, top.p99Ms)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    'Sustainable = ≥ 99.9 % of the due deliveries arrived and p99 < 100 ms (and the publish rate was reached). ' +
      'Deliveries/s are measured (delivered ÷ time from the first publish to the last delivery), not the target.',
  );
  for (const name of [...new Set(result.runs.map((r) => r.scenario))]) {
    lines.push('');
    lines.push(`### ${name}`);
    lines.push('');
    for (const run of result.runs.filter((r) => r.scenario === name)) {
      for (const s of run.setup) {
        lines.push(
          `- ${NAMES[run.server]}: ${int(s.ready)}/${int(s.connections)} connections ready in ${s.seconds.toFixed(1)} s ` +
            `(${int(s.perSecond)}/s; connect → ready p50 ${s.connectP50Ms.toFixed(0)} ms, p99 ${s.connectP99Ms.toFixed(0)} ms)` +
            (s.failed > 0 ? `, ${s.failed} failed (${s.firstErrors[0] ?? ''})` : ''),
        );
      }
      for (const i of run.idle) {
        lines.push(
          `- ${NAMES[run.server]}: ${int(i.connections)} idle: RSS ${i.rssMiB.toFixed(0)} MiB, heap ${i.heapMiB.toFixed(0)} MiB`,
        );
      }
      if (run.error !== undefined) lines.push(`- ${NAMES[run.server]}: failed: ${run.error}`);
    }
    const stepRuns = result.runs.filter((r) => r.scenario === name && r.steps.length > 0);
    if (stepRuns.length === 0) continue;
    lines.push('');
    lines.push(
      '| Server | Target del/s | Publish/s | Del/s | Delivered | p50 | p99 | max | Ack p99 | Server CPU | Server RSS | Generator CPU | Machine busy | Commit rows mean/max | Verdict |',
    );
    lines.push(
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const run of stepRuns) {
      for (const s of run.steps) {
        const b =
          s.batches === null || s.batches.count === 0
            ? '—'
            : `${s.batches.mean.toFixed(1)} / ${s.batches.max}`;
        lines.push(
          `| ${NAMES[run.server]} | ${int(s.targetDeliveries)} | ${int(s.publishedPerSecond)} | ${int(s.deliveriesPerSecond)} | ` +
            `${(s.deliveredRatio * 100).toFixed(2)} % | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${s.maxMs.toFixed(0)} ms | ${ms(s.ackP99Ms)} | ` +
            `${(s.serverCpu * 100).toFixed(0)} % | ${s.serverRssMiB.toFixed(0)} MiB | ${(s.generatorCpu * 100).toFixed(0)} % | ` +
            `${(s.machineBusy * 100).toFixed(0)} % | ${b} | ${s.sustainable ? '✔' : '✘'} ${s.sustainable ? '' : s.verdict} |`,
        );
      }
    }
  }
  return lines.join('\n');
}

/** p99 latency against measured deliveries/s for each ramp scenario, one panel each, as SVG. */
export function renderChart(result: BenchResult): string {
  const scenarios = [...new Set(result.runs.filter((r) => r.steps.length > 0).map((r) => r.scenario))];
  const W = 460;
  const H = 300;
  const pad = { l: 60, r: 15, t: 30, b: 45 };
  const cols = Math.min(2, Math.max(1, scenarios.length));
  const rows = Math.ceil(scenarios.length / cols);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W}" height="${rows * H + 30}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(
    `<text x="10" y="18" font-size="13" font-weight="bold">p99 end-to-end latency vs deliveries/s (log scale; hollow = not sustainable; dashed = 100 ms)</text>`,
  );
  const yMin = 0.1;
  const yMax = 10_000;
  const ly = (v: number) => Math.log10(Math.min(Math.max(v, yMin), yMax));
  scenarios.forEach((name, k) => {
    const ox = (k % cols) * W;
    const oy = 30 + Math.floor(k / cols) * H;
    const runs = result.runs.filter((r) => r.scenario === name && r.steps.length > 0);
    const xMax =
      Math.max(
        1,
        ...runs.flatMap((r) => r.steps.map((s) => Math.max(s.deliveriesPerSecond, s.targetDeliveries))),
      ) * 1.05;
    const px = (v: number) => ox + pad.l + (v / xMax) * (W - pad.l - pad.r);
    const py = (v: number) =>
      oy + pad.t + (1 - (ly(v) - ly(yMin)) / (ly(yMax) - ly(yMin))) * (H - pad.t - pad.b);
    out.push(`<text x="${ox + pad.l}" y="${oy + 18}" font-weight="bold">${name}</text>`);
    out.push(
      `<rect x="${ox + pad.l}" y="${oy + pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="none" stroke="#999"/>`,
    );
    for (const v of [0.1, 1, 10, 100, 1000, 10000]) {
      out.push(`<line x1="${ox + pad.l}" x2="${ox + W - pad.r}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`);
      out.push(`<text x="${ox + pad.l - 5}" y="${py(v) + 4}" text-anchor="end">${v} ms</text>`);
    }
    out.push(
      `<line x1="${ox + pad.l}" x2="${ox + W - pad.r}" y1="${py(100)}" y2="${py(100)}" stroke="#555" stroke-dasharray="4 3"/>`,
    );
    for (let i = 0; i <= 4; i++) {
      const v = (xMax / 4) * i;
      out.push(
        `<text x="${px(v)}" y="${oy + H - pad.b + 15}" text-anchor="middle">${v >= 1000 ? `${Math.round(v / 1000)}k` : Math.round(v)}</text>`,
      );
    }
    out.push(
      `<text x="${ox + W / 2}" y="${oy + H - 12}" text-anchor="middle">deliveries/s (measured)</text>`,
    );
    runs.forEach((run, j) => {
      const color = COLORS[run.server];
      const pts = run.steps.map((s) => [px(s.deliveriesPerSecond), py(s.p99Ms), s.sustainable] as const);
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
      );
      for (const [x, y, ok] of pts) {
        out.push(
          `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${ok ? color : 'white'}" stroke="${color}" stroke-width="1.5"/>`,
        );
      }
      out.push(
        `<text x="${ox + pad.l + 8}" y="${oy + pad.t + 14 + j * 14}" fill="${color}">${NAMES[run.server]}: max sustainable ${int(run.maxSustainable)}/s</text>`,
      );
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
