/**
 * Prometheus metrics (prom-client) over the daemon's statistics and its query events.
 *
 * - Its own Registry (never prom-client's global one), every name prefixed (`dnssec_stubd_`), base units
 *   (seconds, bytes), counters ending in `_total`, low-cardinality labels only (no query names, no client
 *   addresses), and prom-client's default process metrics with the same prefix.
 * - Whatever the components count is read at scrape time from one `daemon.stats()` snapshot per render
 *   (stats.ts: Counters and Gauges set in their `collect()`; histograms whose buckets a component keeps,
 *   such as each upstream's RTT, rendered by histogram.ts).
 * - What only the query events say (client queries by transport/qtype/rcode, answers by validation status
 *   and EDE code, the duration histogram by path) is tallied by one listener attached here (tally.ts:
 *   plain numbers on the hot path, turned into metrics at scrape time); `close()` detaches it.
 *
 * src/metrics imports only types from src/daemon.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Daemon, DaemonStats } from '../daemon/index.js';
import { CollectedHistogram } from './histogram.js';
import { STAT_HISTOGRAMS, STAT_METRICS } from './stats.js';
import { QueryTally, type AnswerCounts, type LabelledCount } from './tally.js';

export { DURATION_BUCKETS, type AnswerCounts } from './tally.js';
export { STAT_METRICS } from './stats.js';

export interface MetricsSource {
  /** The Content-Type of what render() returns (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** The metrics in Prometheus text format, read now. */
  render(): Promise<string>;
  /** The query events' counts per status and EDE code (the same numbers as answers_total and answer_ede_total). */
  answerCounts(): AnswerCounts;
}

export const DEFAULT_PREFIX = 'dnssec_stubd_';

/** The metrics the query events feed (names without the prefix), for documentation and tests. */
export const EVENT_METRICS = [
  { name: 'queries_total', type: 'counter', labels: ['transport', 'qtype', 'rcode'], help: 'Client queries answered, by transport, query type (a fixed set, else other) and response code.' },
  { name: 'answers_total', type: 'counter', labels: ['status'], help: 'Client queries answered, by the answer\'s validation status (secure, insecure, bogus, indeterminate, failure, unchecked; none: answered by the listener itself, e.g. REFUSED or FORMERR).' },
  { name: 'answer_ede_total', type: 'counter', labels: ['code'], help: 'Answers carrying each Extended DNS Error code (RFC 8914).' },
  { name: 'query_duration_seconds', type: 'histogram', labels: ['path'], help: 'Time from a query\'s arrival to its reply being handed to the socket, by path (cache, synthesized, upstream, stale, server).' },
] as const;

/** One metric family the exporter declares (name without the prefix), for documentation and tests. */
export interface MetricDoc {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  labels: readonly string[];
  help: string;
}

/** Every family of the exporter's own (prom-client's default process metrics aside), in the order rendered. */
export const METRIC_DOCS: readonly MetricDoc[] = [
  ...STAT_METRICS.map(({ name, type, labels, help }) => ({ name, type, labels, help })),
  ...STAT_HISTOGRAMS.map(({ name, type, labels, help }) => ({ name, type, labels, help })),
  ...EVENT_METRICS.map(({ name, type, labels, help }) => ({ name, type, labels, help })),
];

/** The families prom-client's default metrics add (by name without the prefix): process_* and nodejs_*. */
export const DEFAULT_METRIC_PREFIXES = ['process_', 'nodejs_'] as const;

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

  for (const def of STAT_HISTOGRAMS) {
    registry.registerMetric(new CollectedHistogram(prefix + def.name, def.help, def.labels, () => def.read(current())).asMetric());
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
  registry.registerMetric(new CollectedHistogram(prefix + duration.name, duration.help, duration.labels, () => tally.durations(), () => tally.reset()).asMetric());

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
    answerCounts: () => tally.answerCounts(),
    close(): void {
      if (closed) return;
      closed = true;
      off();
    },
  };
}
