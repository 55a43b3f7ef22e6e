import { describe, expect, it } from 'vitest';
import { aggregate, windowStart } from '../../../scripts/simulate/aggregate.ts';
import type { Sample } from '../../../scripts/simulate/values.ts';

const s = (seconds: number, values: Record<string, [number, string?]>): Sample => ({
  t: 0,
  seconds,
  values: Object.fromEntries(Object.entries(values).map(([k, [v, flag]]) => [k, { v, flag: flag ?? 'N' }])),
});

describe('aggregate', () => {
  it('flow-weights wastewater concentrations and sums volume and load (docs/domain.md §1.11)', () => {
    // 60 s at 2 L/s and COD 40, then 60 s at 6 L/s and COD 80
    const a = aggregate(
      [s(60, { w00000: [2], w01018: [40], w01001: [7] }), s(60, { w00000: [6], w01018: [80], w01001: [8] })],
      'water',
    );
    // D = 0.12 + 0.36 = 0.48 m³; G = 0.12×40e-3 + 0.36×80e-3 = 0.0048 + 0.0288 = 0.0336 kg; C = 0.0336/0.48×1e3 = 70
    expect(a.w00000?.values).toEqual({ Cou: 0.48, Avg: 4, Min: 2, Max: 6 });
    expect(a.w01018?.values).toEqual({ Cou: 0.0336, Avg: 70, Min: 40, Max: 80 });
    // pH: arithmetic mean, no load
    expect(a.w01001?.values).toEqual({ Avg: 7.5, Min: 7, Max: 8 });
    expect(a.w01018?.flag).toBe('N');
  });

  it('uses the arithmetic mean when a wastewater device measures no flow', () => {
    const a = aggregate([s(60, { w01018: [40] }), s(60, { w01018: [80] })], 'water');
    expect(a.w01018?.values).toEqual({ Avg: 60, Min: 40, Max: 80 });
  });

  it('flags a wastewater window abnormal when one sample is, computing from the valid ones', () => {
    const a = aggregate(
      [
        s(60, { w00000: [2], w01018: [40] }),
        s(60, { w00000: [2], w01018: [999, 'D'] }),
        s(60, { w00000: [2], w01018: [60] }),
      ],
      'water',
    );
    expect(a.w01018?.flag).toBe('D');
    expect(a.w01018?.values.Avg).toBe(50);
    expect(a.w01018?.values.Max).toBe(60);
    expect(a.w01018?.used).toBe(2);
    expect(a.w01018?.count).toBe(3);
  });

  it('keeps a flue-gas window normal with ≥ 75 % valid samples and flags it D below', () => {
    const four = (bad: number) =>
      [0, 1, 2, 3].map((i) => s(30, { a00000: [2], a21002: [i < bad ? 500 : 40, i < bad ? 'C' : 'N'] }));
    expect(aggregate(four(1), 'air').a21002?.flag).toBe('N');
    expect(aggregate(four(1), 'air').a21002?.values.Avg).toBe(40);
    expect(aggregate(four(2), 'air').a21002?.flag).toBe('D');
  });

  it('computes flue-gas emission (kg) and volume (m³) as Cou', () => {
    const a = aggregate([s(30, { a00000: [2], a21002: [50] }), s(30, { a00000: [4], a21002: [30] })], 'air');
    // V = 2×30 + 4×30 = 180 m³; G = (50×60 + 30×120) × 1e-6 = 0.0066 kg
    expect(a.a00000?.values).toEqual({ Cou: 180, Avg: 3, Min: 2, Max: 4 });
    expect(a.a21002?.values).toEqual({ Cou: 0.0066, Avg: 40, Min: 30, Max: 50 });
  });

  it('computes from all samples, with the window flag, when none is valid', () => {
    const a = aggregate([s(60, { w01018: [40, 'M'] }), s(60, { w01018: [60, 'M'] })], 'water');
    expect(a.w01018?.values.Avg).toBe(50);
    expect(a.w01018?.flag).toBe('M');
  });
});

describe('windowStart', () => {
  it('aligns windows to the clock', () => {
    const t = Date.parse('2026-11-30T08:47:31+08:00');
    expect(new Date(windowStart(t, 10)).toISOString()).toBe('2026-11-30T00:40:00.000Z');
    expect(new Date(windowStart(t, 60)).toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });
});
