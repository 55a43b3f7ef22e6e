/**
 * The arithmetic behind the time-series chart (SeriesChart.vue), pure so it is unit-tested: which value of a reading
 * to plot, where data are missing (gaps shaded on the chart), and the nominal interval of each kind of data.
 */
export interface SeriesPoint {
  /** ISO instant (DataTime) */
  at: string;
  value: number;
  flag?: string | undefined;
}

export interface Gap {
  from: number;
  to: number;
}

/**
 * The nominal spacing of each kind (real-time: the device's interval, else 60 s; minute: 10 min unless told; furnace
 * temperature: 5 min; daily data and standard-sample checks: a day).
 */
export function intervalMs(kind: string, device?: { realtimeSeconds?: number; minuteMinutes?: number }): number {
  if (kind === 'realtime') return (device?.realtimeSeconds ?? 60) * 1000;
  if (kind === 'minute') return (device?.minuteMinutes ?? 10) * 60_000;
  if (kind === 'hour') return 3_600_000;
  if (kind === 'furnace') return 300_000;
  return 86_400_000;
}

/**
 * The value of a reading to plot: the converted concentration (折算, `zsAvg`/`zsRtd`) of an air pollutant when the
 * device sends one, as the alarm engine judges it; otherwise the real-time value or the period's average (a furnace
 * temperature's 5-minute average, a standard-sample check's reading). A value the device sent as not computable
 * (HJ 212-2025's +9999.99, named in `notComputable`) is never replaced by another: there is nothing to plot.
 */
export function plotValue(
  pollutant: string,
  values: Record<string, number>,
  notComputable?: readonly string[],
): number | undefined {
  const air = pollutant.startsWith('a');
  const order = air ? ['zsRtd', 'zsAvg', 'rtd', 'avg', 'sampleRd'] : ['rtd', 'avg', 'zsRtd', 'zsAvg', 'sampleRd'];
  for (const k of order) {
    if (notComputable?.includes(k)) return undefined;
    const v = values[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** Whether the value plotValue would show was sent as not computable (shown as 不可计算). */
export function notComputableShown(
  pollutant: string,
  values: Record<string, number>,
  notComputable?: readonly string[],
) {
  return (
    notComputable !== undefined && notComputable.length > 0 && plotValue(pollutant, values, notComputable) === undefined
  );
}

/**
 * Stretches of [from, to] without data: between two readings further apart than 1.5 intervals, and before the first
 * or after the last one when that edge is more than 1.5 intervals away. `points` must be sorted by time.
 */
export function gapsOf(points: readonly SeriesPoint[], interval: number, from: number, to: number): Gap[] {
  const slack = interval * 1.5;
  const times = points.map((p) => Date.parse(p.at)).filter((t) => t >= from && t <= to);
  const gaps: Gap[] = [];
  if (times.length === 0) return to > from ? [{ from, to }] : [];
  const first = times[0] as number;
  if (first - from > slack) gaps.push({ from, to: first });
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] as number;
    const b = times[i] as number;
    if (b - a > slack) gaps.push({ from: a, to: b });
  }
  const last = times[times.length - 1] as number;
  if (to - last > slack) gaps.push({ from: last, to });
  return gaps;
}
