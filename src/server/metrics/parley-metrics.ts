import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from the running node when scraped. */
export interface MetricSources {
  /** Open WebSocket connections (authenticated or not). */
  readonly connections: () => number;
  /** Channels with at least one local subscriber. */
  readonly channels: () => number;
  /** Webhook deliveries in the outbox, as last counted: waiting (or in flight) and dead. */
  readonly webhookOutbox: () => { readonly pending: number; readonly dead: number };
}

/**
 * The node's Prometheus metrics (`GET /metrics`), in a registry of its own so several nodes
 * can live in one process (tests). Also Node's default metrics, event-loop lag among them.
 */
export class ParleyMetrics {
  readonly registry = new Registry();
  readonly messagesPublished: Counter;
  readonly messagesDelivered: Counter;
  readonly fanout: Histogram;
  readonly commitBatchSize: Histogram;
  readonly commitBatchSeconds: Histogram;
  readonly sendQueueDrops: Counter;
  readonly authFailures: Counter<'reason'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly httpRequests: Counter<'method' | 'status'>;
  /** Messages deleted by retention (issue 17), on the node that pruned them. */
  readonly retentionPruned: Counter;
  #sources: MetricSources = {
    connections: () => 0,
    channels: () => 0,
    webhookOutbox: () => ({ pending: 0, dead: 0 }),
  };

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' });
    const sources = () => this.#sources;
    new Gauge({
      name: 'parley_connections',
      help: 'Open WebSocket connections on this node.',
      registers,
      collect() {
        this.set(sources().connections());
      },
    });
    new Gauge({
      name: 'parley_subscribed_channels',
      help: 'Channels with at least one subscriber on this node.',
      registers,
      collect() {
        this.set(sources().channels());
      },
    });
    new Gauge({
      name: 'parley_webhook_outbox',
      help: 'Webhook deliveries in the outbox (all nodes), by state: pending (waiting, retrying or in flight), dead (out of time; replay with the server API).',
      labelNames: ['state'],
      registers,
      collect() {
        const { pending, dead } = sources().webhookOutbox();
        this.set({ state: 'pending' }, pending);
        this.set({ state: 'dead' }, dead);
      },
    });
    this.messagesPublished = new Counter({
      name: 'parley_messages_published_total',
      help: 'Messages committed by this node (retried duplicates not counted).',
      registers,
    });
    this.messagesDelivered = new Counter({
      name: 'parley_messages_delivered_total',
      help: 'Message deliveries to local subscribers (one per subscriber).',
      registers,
    });
    this.fanout = new Histogram({
      name: 'parley_fanout_size',
      help: 'Local subscribers per delivered message.',
      buckets: [0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000],
      registers,
    });
    this.commitBatchSize = new Histogram({
      name: 'parley_commit_batch_size',
      help: 'Messages per group-commit transaction.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    this.commitBatchSeconds = new Histogram({
      name: 'parley_commit_batch_seconds',
      help: 'Duration of each group-commit transaction.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.sendQueueDrops = new Counter({
      name: 'parley_send_queue_drops_total',
      help: 'Connections cut off because their send queue overflowed (close 4001).',
      registers,
    });
    this.authFailures = new Counter({
      name: 'parley_auth_failures_total',
      help: 'Refused tokens and logins, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'parley_webhook_deliveries_total',
      help: 'Webhook attempts by outcome: delivered, retried (failed, due again), dead (failed, retry window over).',
      labelNames: ['outcome'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'parley_http_requests_total',
      help: 'HTTP API requests by method and status.',
      labelNames: ['method', 'status'],
      registers,
    });
    this.retentionPruned = new Counter({
      name: 'parley_retention_pruned_messages_total',
      help: 'Messages deleted by retention (PARLEY_RETENTION_DAYS or a channel retention_days) on this node.',
      registers,
    });
  }

  /** Connects the gauges to the running node. */
  setSources(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** The `onBatch` hook of `openStore`. */
  readonly onBatch = (size: number, ms: number): void => {
    this.commitBatchSize.observe(size);
    this.commitBatchSeconds.observe(ms / 1000);
  };

  /** Called by the hub for each message delivered in order. */
  readonly onDeliver = (recipients: number): void => {
    this.fanout.observe(recipients);
    this.messagesDelivered.inc(recipients);
  };

  /** The exposition text and its content type. */
  async render(): Promise<{ readonly body: string; readonly contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
