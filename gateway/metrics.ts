/**
 * The gateway's counters. `inc` is cheap (a Map update); `flush()` writes one CloudWatch Embedded Metric Format line
 * with the counts since the previous flush (CloudWatch Logs turns it into metrics in namespace `EnvWatch/Gateway`,
 * dimension `Service`), plus the current gauges. `totals()` keeps the cumulative counts for `stats()` and tests.
 * Counter names are fixed strings like `frames.accepted` or `rejected.bad-crc`: never a device id (metric cardinality).
 */
export const METRICS_NAMESPACE = 'EnvWatch/Gateway';

export class Metrics {
  private readonly total = new Map<string, number>();
  private readonly sinceFlush = new Map<string, number>();

  constructor(
    private readonly service = 'hj212-gateway',
    private readonly write: (line: string) => void = () => {},
  ) {}

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
    const line = JSON.stringify({
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [
          {
            Namespace: METRICS_NAMESPACE,
            Dimensions: [['Service']],
            Metrics: names.map((Name) => ({ Name, Unit: Name in gauges ? 'None' : 'Count' })),
          },
        ],
      },
      Service: this.service,
      ...values,
    });
    this.write(line);
    return line;
  }
}
