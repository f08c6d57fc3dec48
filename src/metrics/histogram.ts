/**
 * A histogram whose bucket counts someone else keeps (a component's fixed buckets, the query tally), rendered
 * at scrape time as a Prometheus histogram.
 *
 * Why not a prom-client Histogram: it can only be fed one observation at a time (`observe()`), and it has no
 * way to take counts that already exist; feeding it at scrape time would mean keeping every sample, or
 * writing into its private hash map. Instead, this object has the shape prom-client's Registry reads from
 * every metric (`get()` giving name, help, type and values, each with `metricName` for the `_bucket`, `_sum`
 * and `_count` series: what its own Histogram returns), and is registered with `Registry.registerMetric`.
 * The exposition is then the same as a prom-client Histogram's (`# TYPE ... histogram`, cumulative `le`
 * buckets ending in +Inf, `_sum`, `_count`), which `promtool check metrics` and Prometheus read as one.
 */
import type { Metric } from 'prom-client';
import type { HistogramSeries } from './stats.js';

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class CollectedHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;

  /**
   * `read` gives the series at scrape time; `onReset` is what Registry.resetMetrics() should do (the query
   * tally starts again; a component's own counts are not ours to reset).
   */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly read: () => HistogramSeries[],
    private readonly onReset: () => void = () => undefined,
  ) {}

  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Value[] }> {
    const values: Value[] = [];
    for (const s of this.read()) {
      // A series whose counts do not match its bounds would render wrong buckets: left out rather than lie.
      if (s.cumulative.length !== s.bounds.length + 1) continue;
      s.cumulative.forEach((value, i) => values.push({
        labels: { ...s.labels, le: i < s.bounds.length ? String(s.bounds[i]) : '+Inf' }, value, metricName: `${this.name}_bucket`,
      }));
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Registry.resetMetrics() calls this on every metric. */
  reset(): void {
    this.onReset();
  }

  /** As the Registry takes it (it reads only name, help, type, aggregator, get() and reset()). */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
