import { pollutant } from '#shared/domain/pollutants.ts';
import type { Sample } from './values.ts';

/**
 * Minute / hourly values from the real-time samples of a window, per docs/domain.md §1.11 (HJ 212-2017 Appendix D) and the
 * flag rules of §1.8:
 * - Only valid (flag N) samples count; when there is none, the values are computed from all samples so that the
 *   packet still says something, and the flag says why it is not valid.
 * - Wastewater: volume D_i = Q (L/s) × T (s) × 10⁻³ m³; load G_i = D_i × C (mg/L) × 10⁻³ kg; the window's
 *   concentration is flow-weighted, C = ΣG / ΣD × 10³ (arithmetic mean when the device measures no flow, and for pH);
 *   flow Avg is the mean flow in L/s (ΣD × 10³ / ΣT) and flow Cou the volume ΣD in m³. One abnormal sample flags
 *   the whole window with the (most frequent) abnormal flag.
 * - Flue gas: arithmetic means; flow Cou = Σ Q (m³/s) × T m³, emission Cou = Σ C (mg/m³) × Q × T × 10⁻⁶ kg; the
 *   window is N when ≥ 75 % of its samples are N, else D (instrument fault).
 * - Min / Max are the extremes of the samples used. Values without a load (pH, temperature, O2) have no Cou.
 */
export type AggSuffix = 'Cou' | 'Min' | 'Avg' | 'Max';

export interface Aggregate {
  values: Partial<Record<AggSuffix, number>>;
  flag: string;
  /** samples in the window / samples used */
  count: number;
  used: number;
}

const WATER_FLOW = 'w00000';
const AIR_FLOW = 'a00000';

const round = (v: number, decimals: number): number => Math.round(v * 10 ** decimals) / 10 ** decimals;
/** enough decimals for small loads, never exponent notation in the packet */
export const roundValue = (v: number): number => (Math.abs(v) >= 1 ? round(v, 3) : round(v, 6));

function hasLoad(code: string): boolean {
  const unit = pollutant(code)?.unit;
  return unit === 'mg/L' || unit === 'μg/L' || unit === 'mg/m³';
}

function windowFlag(flags: string[], medium: 'water' | 'air'): string {
  const abnormal = flags.filter((f) => f !== 'N');
  if (abnormal.length === 0) return 'N';
  if (medium === 'air') return flags.length - abnormal.length >= 0.75 * flags.length ? 'N' : 'D';
  const counts = new Map<string, number>();
  for (const f of abnormal) counts.set(f, (counts.get(f) ?? 0) + 1);
  let best = abnormal[0] as string;
  for (const [f, n] of counts) if (n > (counts.get(best) ?? 0)) best = f;
  return best;
}

/** Aggregates every pollutant of the samples (all from one device, in time order). */
export function aggregate(samples: Sample[], medium: 'water' | 'air'): Record<string, Aggregate> {
  const out: Record<string, Aggregate> = {};
  const codes = new Set<string>();
  for (const s of samples) for (const c of Object.keys(s.values)) codes.add(c);
  const flowCode = medium === 'water' ? WATER_FLOW : AIR_FLOW;
  for (const code of codes) {
    const present = samples.filter((s) => s.values[code] !== undefined);
    const flags = present.map((s) => (s.values[code] as { flag: string }).flag);
    const valid = present.filter((s) => s.values[code]?.flag === 'N');
    const used = valid.length > 0 ? valid : present;
    const v = (s: Sample) => (s.values[code] as { v: number }).v;
    const q = (s: Sample) => s.values[flowCode]?.v;
    const values: Partial<Record<AggSuffix, number>> = {};
    const nums = used.map(v);
    const mean = nums.reduce((a, b) => a + b, 0) / nums.length;
    const flowKnown = used.every((s) => q(s) !== undefined);

    if (code === flowCode) {
      const seconds = used.reduce((a, s) => a + s.seconds, 0);
      const volume = used.reduce((a, s) => a + v(s) * s.seconds * (medium === 'water' ? 1e-3 : 1), 0);
      values.Cou = roundValue(volume);
      values.Avg = roundValue(medium === 'water' ? (volume * 1e3) / seconds : volume / seconds);
    } else if (hasLoad(code) && flowKnown) {
      if (medium === 'water') {
        const d = used.map((s) => (q(s) as number) * s.seconds * 1e-3);
        const g = used.map((s, i) => (d[i] as number) * v(s) * 1e-3);
        const sumD = d.reduce((a, b) => a + b, 0);
        const sumG = g.reduce((a, b) => a + b, 0);
        values.Cou = roundValue(sumG);
        values.Avg = roundValue(sumD > 0 ? (sumG / sumD) * 1e3 : mean);
      } else {
        values.Cou = roundValue(used.reduce((a, s) => a + v(s) * (q(s) as number) * s.seconds * 1e-6, 0));
        values.Avg = roundValue(mean);
      }
    } else {
      values.Avg = roundValue(mean);
    }
    values.Min = roundValue(Math.min(...nums));
    values.Max = roundValue(Math.max(...nums));
    out[code] = { values, flag: windowFlag(flags, medium), count: present.length, used: used.length };
  }
  return out;
}

/** Start (epoch ms) of the `minutes`-long window holding t; windows align to the clock (Beijing is UTC+8, whole hours). */
export const windowStart = (t: number, minutes: number): number =>
  Math.floor(t / (minutes * 60_000)) * minutes * 60_000;
