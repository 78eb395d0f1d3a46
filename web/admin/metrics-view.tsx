/** Key metrics of the node serving the console, polled every 2 s and charted (hand-drawn SVG). */
import { useEffect, useState } from 'preact/hooks';
import { type AdminApi, failure } from './admin-api.js';
import { SparkChart } from './spark-chart.js';

/** Samples kept per metric (two minutes at one per 2 s). */
const KEPT = 60;
const POLL_MS = 2000;

interface Chart {
  readonly title: string;
  /** A gauge shows its value; a counter its rate per second. */
  readonly kind: 'gauge' | 'rate';
  readonly metric: string;
  readonly unit: string;
  readonly scale?: number;
}

const CHARTS: readonly Chart[] = [
  { title: 'Connections', kind: 'gauge', metric: 'parley_connections', unit: '' },
  { title: 'Subscribed channels', kind: 'gauge', metric: 'parley_subscribed_channels', unit: '' },
  { title: 'Messages published', kind: 'rate', metric: 'parley_messages_published_total', unit: '/s' },
  { title: 'Messages delivered', kind: 'rate', metric: 'parley_messages_delivered_total', unit: '/s' },
  { title: 'HTTP requests', kind: 'rate', metric: 'parley_http_requests_total', unit: '/s' },
  {
    title: 'Event-loop lag',
    kind: 'gauge',
    metric: 'parley_nodejs_eventloop_lag_seconds',
    unit: ' ms',
    scale: 1000,
  },
  {
    title: 'Resident memory',
    kind: 'gauge',
    metric: 'parley_process_resident_memory_bytes',
    unit: ' MiB',
    scale: 1 / 1048576,
  },
  { title: 'Webhooks waiting', kind: 'gauge', metric: 'parley_webhook_outbox{state="pending"}', unit: '' },
  { title: 'Webhooks dead', kind: 'gauge', metric: 'parley_webhook_outbox{state="dead"}', unit: '' },
  { title: 'Slow consumers cut', kind: 'rate', metric: 'parley_send_queue_drops_total', unit: '/s' },
];

interface Sample {
  readonly at: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export function MetricsView({ api }: { readonly api: AdminApi }) {
  const [samples, setSamples] = useState<readonly Sample[]>([]);
  const [node, setNode] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const s = await api.get<Sample & { node: string }>('api/admin/metrics');
        if (stopped) return;
        setNode(s.node);
        setError('');
        setSamples((old) => [...old, { at: s.at, metrics: s.metrics }].slice(-KEPT));
      } catch (err) {
        if (!stopped) setError(failure(err));
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api]);

  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      <p class="muted">
        This node ({node.slice(0, 8)}), every 2 s; the full set is at <span class="mono">/metrics</span>.
      </p>
      {error !== '' && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <ul class="charts">
        {CHARTS.map((chart) => {
          const points = series(samples, chart);
          const last = points.at(-1);
          return (
            <li key={chart.metric} class="chart">
              <h3>{chart.title}</h3>
              <p class="value">{last === undefined ? '…' : `${format(last)}${chart.unit}`}</p>
              <SparkChart points={points} label={`${chart.title}, the last ${points.length} samples`} />
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function series(samples: readonly Sample[], chart: Chart): number[] {
  const scale = chart.scale ?? 1;
  const out: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const now = samples[i];
    const value = now?.metrics[chart.metric];
    if (now === undefined || value === undefined) continue;
    if (chart.kind === 'gauge') {
      out.push(value * scale);
      continue;
    }
    const before = samples[i - 1];
    const prev = before?.metrics[chart.metric];
    if (before === undefined || prev === undefined || now.at <= before.at) continue;
    out.push((Math.max(0, value - prev) * 1000 * scale) / (now.at - before.at));
  }
  return out;
}

function format(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(n >= 10 ? 1 : 2);
}
