import { describe, expect, it } from 'vitest';
import { type SimDevice, seededDevices } from '../../../scripts/simulate/devices.ts';
import { emptyInjections, load, productionLevel, ValueGenerator } from '../../../scripts/simulate/values.ts';

const device = (label: string): SimDevice => {
  const d = seededDevices().find((x) => x.label === label);
  if (!d) throw new Error(label);
  return d;
};
/** 2026-11-30 00:00 Beijing */
const DAY = Date.parse('2026-11-30T00:00:00+08:00');
const at = (h: number) => DAY + h * 3_600_000;

function day(d: SimDevice, seed = 7) {
  const gen = new ValueGenerator(d, seed);
  const out = [];
  for (let t = DAY; t < DAY + 86_400_000; t += d.realtimeSeconds * 1000) out.push(gen.sample(t));
  return out;
}

describe('ValueGenerator', () => {
  it('gives the same values for the same seed and different ones for another seed', () => {
    const a = day(device('BW01'), 42).slice(0, 50);
    const b = day(device('BW01'), 42).slice(0, 50);
    const c = day(device('BW01'), 43).slice(0, 50);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('keeps every limited pollutant of every seeded device under its outlet limit over a day', () => {
    const bad: string[] = [];
    for (const d of seededDevices()) {
      for (const s of day(d)) {
        for (const [code, r] of Object.entries(s.values)) {
          const lim = d.limits[code];
          // a range (pH 6–9) must hold; a maximum must hold with a margin
          const max =
            lim?.min !== undefined
              ? (lim.max ?? Number.POSITIVE_INFINITY)
              : (lim?.max ?? Number.POSITIVE_INFINITY) * 0.8;
          if (r.v >= max || (lim?.min !== undefined && r.v <= lim.min) || r.flag !== 'N')
            bad.push(`${d.label} ${code}=${r.v}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('follows production hours for a factory: flow and COD higher at 10:00 than at 03:00', () => {
    const samples = day(device('BW01'));
    const mean = (h: number, code: string) => {
      const w = samples.filter((s) => s.t >= at(h) && s.t < at(h + 1));
      return w.reduce((a, s) => a + (s.values[code]?.v ?? 0), 0) / w.length;
    };
    expect(mean(10, 'w00000')).toBeGreaterThan(5 * mean(3, 'w00000'));
    expect(mean(10, 'w01018')).toBeGreaterThan(1.3 * mean(3, 'w01018'));
    expect(productionLevel(10)).toBe(1);
    expect(productionLevel(3)).toBe(0);
  });

  it('reports SB1 production and SB2 treatment for factories and none for the WWTP', () => {
    const bw = day(device('BW01'));
    expect(bw.find((s) => s.t === at(10))?.facilities).toEqual({ SB1: 1, SB2: 1 });
    expect(bw.find((s) => s.t === at(2))?.facilities).toEqual({ SB1: 0, SB2: 0 });
    expect(day(device('AB01'))[0]?.facilities).toBeUndefined();
  });

  it('keeps the gas boiler O2 between 3.4 and 6.2 % and moves it against the load', () => {
    const ga = device('GA01');
    const samples = day(ga);
    const o2s = samples.map((s) => s.values.a19001?.v ?? 0);
    expect(Math.min(...o2s)).toBeGreaterThanOrEqual(3.4);
    expect(Math.max(...o2s)).toBeLessThanOrEqual(6.2);
    expect(load('heating', at(7.5))).toBeGreaterThan(load('heating', at(2)));
    const o2 = (h: number) =>
      samples.filter((s) => s.t >= at(h) && s.t < at(h + 1)).map((s) => s.values.a19001?.v ?? 0);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(avg(o2(7))).toBeLessThan(avg(o2(2)));
  });

  it('puts values at factor × limit while an exceedance is injected', () => {
    const d = device('BW01');
    const gen = new ValueGenerator(d, 1);
    const inj = emptyInjections();
    inj.exceed.set('w01018', 2);
    const v = gen.sample(at(10), inj).values.w01018?.v ?? 0;
    expect(v).toBeGreaterThan(180);
    expect(v).toBeLessThan(220);
  });

  it('applies a data flag, flat-lines a pollutant and turns the treatment facility off on demand', () => {
    const d = device('PA01');
    const gen = new ValueGenerator(d, 1);
    const inj = emptyInjections();
    inj.flags.set('a24088', 'D');
    inj.flat.set('a24088', undefined);
    inj.treatmentOff = true;
    const samples = [0, 1, 2, 3].map((i) => gen.sample(at(10) + i * 30_000, inj));
    expect(new Set(samples.map((s) => s.values.a24088?.v)).size).toBe(1);
    expect(new Set(samples.map((s) => s.values.a00000?.v)).size).toBeGreaterThan(1);
    expect(samples[0]?.values.a24088?.flag).toBe('D');
    expect(samples[0]?.values.a00000?.flag).toBe('N');
    expect(samples[0]?.facilities).toEqual({ SB1: 1, SB2: 0 });
  });

  it('gives the gas boiler ST=44 meters: production draws with the load, treatment reads 0 kW when turned off', () => {
    const d = device('GA01');
    expect(d.power).toEqual({ production: 'd20105', treatment: 'd30106' });
    expect(d.facilities).toBe(false);
    const gen = new ValueGenerator(d, 1);
    const on = gen.sample(at(7.5));
    expect(on.power?.d20105).toBeGreaterThan(50);
    expect(on.power?.d30106).toBeGreaterThan(5);
    const inj = emptyInjections();
    inj.treatmentOff = true;
    const off = gen.sample(at(7.5) + 30_000, inj);
    expect(off.power?.d20105).toBeGreaterThan(50);
    expect(off.power?.d30106).toBe(0);
    expect(gen.sample(at(10)).facilities).toBeUndefined();
  });
});
