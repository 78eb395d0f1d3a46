import { ParleyError } from '../../protocol/error-catalogue.js';
import { type Bus, CONTROL_TOPIC } from '../bus/bus.js';
import { ADMIN_TOPIC, type AdminBusEvent, type NodeReport, type TraceEntry } from './admin-events.js';
import type { DebugTap } from './debug-tap.js';

/** One open admin console, as the feed sees it: what it filters on, and where its events go. */
export interface AdminConsole {
  /** Only events of this channel (and those of no channel are left out too). */
  readonly channel?: string | undefined;
  /** Only events of this user. */
  readonly user?: string | undefined;
  /** Debug events that pass the filters, and how many the nodes dropped before they got here. */
  trace(entries: readonly TraceEntry[], dropped: number): void;
  /** Every node's latest figures, once per watch period. */
  nodes(reports: readonly NodeReport[]): void;
}

/** What the feed runs on. */
export interface AdminFeedDeps {
  readonly bus: Bus;
  readonly tap: DebugTap;
  /** This node's figures now (the feed adds its name and the time). */
  readonly report: () => Omit<NodeReport, 'node' | 'at'>;
  readonly watchMs: number;
  readonly consolesMax: number;
  readonly onError: (err: unknown, what: string) => void;
}

/**
 * The admin console's live feed across the cluster (#17). While a console is open on this node,
 * it subscribes to `ADMIN_TOPIC` and announces a watch on the control topic every `watchMs`;
 * every node that hears one turns its tap on for three periods and answers with its figures,
 * and its tap's events travel on `ADMIN_TOPIC` to the nodes with consoles, which filter them
 * for each console. With no console open anywhere, no node sends anything and taps are off.
 * At most once, like the bus: a lost watch or report shows as a node missing for a period.
 */
export class AdminFeed {
  readonly #d: AdminFeedDeps;
  readonly #consoles = new Set<AdminConsole>();
  readonly #reports = new Map<string, NodeReport>();
  #timer: NodeJS.Timeout | undefined;
  #subscribed: Promise<void> | undefined;

  constructor(deps: AdminFeedDeps) {
    this.#d = deps;
    deps.tap.setSink((entries, dropped) =>
      this.#publish({ kind: 'admin_trace', node: deps.tap.node, entries, dropped }),
    );
  }

  /** This node's name in reports and debug events. */
  get node(): string {
    return this.#d.tap.node;
  }

  /** True when this node streams to `consolesMax` consoles already: `open` would refuse another. */
  get full(): boolean {
    return this.#consoles.size >= this.#d.consolesMax;
  }

  /** This node's figures now. */
  localReport(): NodeReport {
    return { ...this.#d.report(), node: this.node, at: Date.now() };
  }

  /** The nodes heard from within the last three watch periods (this one always), by name. */
  nodes(): readonly NodeReport[] {
    const fresh = Date.now() - 3 * this.#d.watchMs;
    const out = new Map<string, NodeReport>();
    for (const [node, report] of this.#reports) if (report.at >= fresh) out.set(node, report);
    out.set(this.node, this.localReport());
    return [...out.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /**
   * Starts streaming to a console; resolves with the function that stops it, once this node
   * receives the cluster's admin events. `rate_limited` past `consolesMax` consoles here.
   */
  async open(console: AdminConsole): Promise<() => void> {
    if (this.#consoles.size >= this.#d.consolesMax) {
      throw new ParleyError('rate_limited', `at most ${this.#d.consolesMax} admin consoles per node`);
    }
    this.#consoles.add(console);
    if (this.#consoles.size === 1) {
      this.#subscribed = this.#d.bus.subscribe(ADMIN_TOPIC);
      this.#timer = setInterval(() => this.#watch(), this.#d.watchMs);
      this.#timer.unref();
    }
    try {
      await this.#subscribed;
    } catch (err) {
      this.#close(console);
      throw err;
    }
    // This node's tap is on before the console hears of anything; other nodes' once they hear the watch.
    this.#d.tap.watchUntil(Date.now() + 3 * this.#d.watchMs);
    this.#watch();
    return () => this.#close(console);
  }

  /** An admin event from the bus (this node's own included). */
  onBus(event: AdminBusEvent): void {
    switch (event.kind) {
      case 'admin_watch':
        this.#d.tap.watchUntil(Date.now() + 3 * this.#d.watchMs);
        this.#publish({ kind: 'admin_node', report: this.localReport() });
        return;
      case 'admin_node':
        if (this.#consoles.size > 0) this.#reports.set(event.report.node, event.report);
        return;
      case 'admin_trace':
        for (const console of this.#consoles) {
          const entries = event.entries.filter(
            (e) =>
              (console.channel === undefined || e.channel === console.channel) &&
              (console.user === undefined || e.user === console.user),
          );
          if (entries.length > 0 || event.dropped > 0) console.trace(entries, event.dropped);
        }
        return;
    }
  }

  /** Stops every console's stream and the tap. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#consoles.clear();
    this.#d.tap.close();
  }

  #watch(): void {
    if (this.#consoles.size === 0) return;
    this.#publish({ kind: 'admin_watch', node: this.node }, CONTROL_TOPIC);
    const nodes = this.nodes();
    for (const console of this.#consoles) console.nodes(nodes);
  }

  #close(console: AdminConsole): void {
    if (!this.#consoles.delete(console) || this.#consoles.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#subscribed = undefined;
    this.#reports.clear();
    this.#d.bus.unsubscribe(ADMIN_TOPIC).catch((err) => this.#d.onError(err, 'bus unsubscribe'));
  }

  #publish(event: AdminBusEvent, topic = ADMIN_TOPIC): void {
    this.#d.bus.publish(topic, event).catch((err) => this.#d.onError(err, 'admin feed publish'));
  }
}
