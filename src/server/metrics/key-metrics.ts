import type { Registry } from 'prom-client';

// The metrics the admin console charts (#17), by their name in the registry (labelled ones
// summed over their labels unless listed in LABELLED).
const SUMMED = [
  'parley_connections',
  'parley_subscribed_channels',
  'parley_messages_published_total',
  'parley_messages_delivered_total',
  'parley_send_queue_drops_total',
  'parley_auth_failures_total',
  'parley_http_requests_total',
  'parley_process_resident_memory_bytes',
  'parley_nodejs_eventloop_lag_seconds',
  'parley_nodejs_heap_size_used_bytes',
];
// Kept apart by this label.
const LABELLED: Readonly<Record<string, string>> = {
  parley_webhook_outbox: 'state',
  parley_webhook_deliveries_total: 'outcome',
};
// Histograms: their sum and count.
const HISTOGRAMS = ['parley_commit_batch_seconds', 'parley_fanout_size'];

/**
 * A few of the node's metrics as plain numbers, for the admin console's charts: each summed
 * name as itself, each labelled one as `name{label="value"}`, each histogram as `name_sum`
 * and `name_count`. The registry's own values: this node only.
 */
export async function keyMetrics(registry: Registry): Promise<Readonly<Record<string, number>>> {
  const out: Record<string, number> = {};
  for (const metric of await registry.getMetricsAsJSON()) {
    const { name, values } = metric;
    if (SUMMED.includes(name)) {
      out[name] = values.reduce((sum, v) => sum + v.value, 0);
    } else if (LABELLED[name] !== undefined) {
      const label = LABELLED[name];
      for (const v of values) {
        const key = `${name}{${label}="${String(v.labels[label] ?? '')}"}`;
        out[key] = (out[key] ?? 0) + v.value;
      }
    } else if (HISTOGRAMS.includes(name)) {
      for (const v of values) {
        const which = (v as { metricName?: string }).metricName;
        if (which === `${name}_sum` || which === `${name}_count`) out[which] = v.value;
      }
    }
  }
  return out;
}
