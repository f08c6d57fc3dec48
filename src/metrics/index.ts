/**
 * Prometheus metrics (prom-client) over the daemon's statistics and its query events.
 *
 * - Its own Registry (never prom-client's global one), every name prefixed (`dnssec_stubd_`), base units
 *   (seconds, bytes), counters ending in `_total`, low-cardinality labels only (no query names, no client
 *   addresses), and prom-client's default process metrics with the same prefix.
 * - Whatever the components count is read at scrape time from one `daemon.stats()` snapshot per render
 *   (stats.ts: Counters and Gauges set in their `collect()`).
 * - What only the query events say (client queries by transport/qtype/rcode, answers by validation status
 *   and EDE code, the duration histogram by path) is tallied by one listener attached here (tally.ts:
 *   plain numbers on the hot path, turned into metrics at scrape time); `close()` detaches it.
 *
 * src/metrics imports only types from src/daemon.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { Daemon, DaemonStats } from '../daemon/index.js';
import { STAT_METRICS } from './stats.js';
import { QueryTally, TallyHistogram, type LabelledCount } from './tally.js';

export { DURATION_BUCKETS, PATHS } from './tally.js';
export { STAT_METRICS, type StatDef } from './stats.js';

export interface MetricsSource {
  /** The Content-Type of what render() returns (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** The metrics in Prometheus text format, read now. */
  render(): Promise<string>;
}

export const DEFAULT_PREFIX = 'dnssec_stubd_';

/** The metrics the query events feed (names without the prefix), for documentation and tests. */
export const EVENT_METRICS = [
  { name: 'queries_total', type: 'counter', labels: ['transport', 'qtype', 'rcode'], help: 'Client queries answered, by transport, query type (a fixed set, else other) and response code.' },
  { name: 'answers_total', type: 'counter', labels: ['status'], help: 'Client queries answered, by the answer\'s validation status (secure, insecure, bogus, indeterminate, failure, unchecked; none: answered by the listener itself, e.g. REFUSED or FORMERR).' },
  { name: 'answer_ede_total', type: 'counter', labels: ['code'], help: 'Answers carrying each Extended DNS Error code (RFC 8914).' },
  { name: 'query_duration_seconds', type: 'histogram', labels: ['path'], help: 'Time from a query\'s arrival to its reply being handed to the socket, by path (cache, synthesized, upstream, stale, server).' },
] as const;

/**
 * Metrics for one daemon: subscribes to its query events at once (close() unsubscribes) and reads its
 * statistics on each render().
 */
export function createMetrics(daemon: Pick<Daemon, 'stats' | 'onQuery'>, opts: { prefix?: string } = {}): MetricsSource & { close(): void } {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  // prom-client's default set has three gauges named *_total (a name only counters may have; promtool
  // check metrics rejects them). Each repeats the sum of a labelled gauge kept beside it
  // (nodejs_active_handles{type}, nodejs_active_requests{type}, nodejs_active_resources{type}).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(prefix + name);
  }

  // One snapshot per render: every collect() of that render reads the same one.
  let snapshot: DaemonStats | undefined;
  const current = (): DaemonStats => (snapshot ??= daemon.stats());

  for (const def of STAT_METRICS) {
    const config = { name: prefix + def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
    if (def.type === 'counter') {
      new Counter({
        ...config,
        collect(this: Counter<string>) {
          this.reset();
          let any = false;
          def.read(current(), (labels, value) => {
            any = true;
            this.inc(labels, value);
          });
          // prom-client's reset() leaves a 0 for a metric without labels; absent data stays absent.
          if (!any) this.remove({});
        },
      });
    } else {
      new Gauge({
        ...config,
        collect(this: Gauge<string>) {
          this.reset();
          let any = false;
          def.read(current(), (labels, value) => {
            any = true;
            this.set(labels, value);
          });
          if (!any) this.remove({});
        },
      });
    }
  }

  const tally = new QueryTally();
  const fromTally = (name: string, labels: readonly string[], help: string, read: () => LabelledCount[]): void => {
    new Counter({
      name: prefix + name, help, labelNames: [...labels], registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        for (const c of read()) this.inc(c.labels, c.value);
      },
    });
  };
  const [queries, answers, ede, duration] = EVENT_METRICS;
  fromTally(queries.name, queries.labels, queries.help, () => tally.queryCounts());
  fromTally(answers.name, answers.labels, answers.help, () => tally.statusCounts());
  fromTally(ede.name, ede.labels, ede.help, () => tally.edeCounts());
  // Not a prom-client class (see tally.ts); the Registry only reads name, help, type and get().
  registry.registerMetric(new TallyHistogram(prefix + duration.name, duration.help, tally) as unknown as Metric);

  const off = daemon.onQuery(tally.record);
  let closed = false;

  return {
    contentType: registry.contentType,
    async render(): Promise<string> {
      snapshot = undefined;
      try {
        return await registry.metrics();
      } finally {
        snapshot = undefined;
      }
    },
    close(): void {
      if (closed) return;
      closed = true;
      off();
    },
  };
}
