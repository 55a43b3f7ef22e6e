import type { Logger } from '#shared/observability/logger.ts';
import { GATEWAY_METRICS } from '#shared/observability/metric-names.ts';
import { EmfMetrics, MetricUnit } from '#shared/observability/metrics.ts';

/**
 * The gateway's counters. `inc` is cheap (a Map update); `flush()` writes the counts since the previous flush, plus the
 * current gauges, as one CloudWatch Embedded Metric Format line through the shared Powertools Metrics
 * (shared/observability/metrics.ts): namespace `EnvWatch/Gateway`, dimension `Service` (metric-names.ts
 * GATEWAY_METRICS). `totals()` keeps the cumulative counts for `stats()` and tests.
 * Counter names are fixed strings like `frames.accepted` or `rejected.bad-crc`: never a device id (metric cardinality).
 */
export const METRICS_NAMESPACE = GATEWAY_METRICS.namespace;

export class Metrics {
  private readonly total = new Map<string, number>();
  private readonly sinceFlush = new Map<string, number>();
  private readonly emf: EmfMetrics;
  private written: string[] = [];

  constructor(service: string = GATEWAY_METRICS.service, write: (line: string) => void = () => {}, log?: Logger) {
    this.emf = new EmfMetrics({
      namespace: METRICS_NAMESPACE,
      dimensions: { [GATEWAY_METRICS.dimension]: service },
      write: (line) => {
        this.written.push(line);
        write(line);
      },
      ...(log ? { logger: log } : {}),
    });
  }

  inc(name: string, by = 1): void {
    this.total.set(name, (this.total.get(name) ?? 0) + by);
    this.sinceFlush.set(name, (this.sinceFlush.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.total.get(name) ?? 0;
  }

  totals(): Record<string, number> {
    return Object.fromEntries([...this.total.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Writes the counts since the last flush (and `gauges`) as one EMF line; nothing when there is nothing to say. */
  flush(gauges: Record<string, number> = {}, now = Date.now()): string | undefined {
    const values: Record<string, number> = { ...Object.fromEntries(this.sinceFlush), ...gauges };
    this.sinceFlush.clear();
    const names = Object.keys(values);
    if (names.length === 0) return undefined;
    for (const name of names) {
      this.emf.addMetric(name, name in gauges ? MetricUnit.NoUnit : MetricUnit.Count, values[name] as number);
    }
    this.emf.setTimestamp(now);
    this.written = [];
    this.emf.publishStoredMetrics();
    return this.written.at(-1);
  }
}
