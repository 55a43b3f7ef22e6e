import { describe, expect, it } from 'vitest';
import { type SimDevice, seededDevices } from '../../../scripts/simulate/devices.ts';
import { Timeline } from '../../../scripts/simulate/timeline.ts';
import { emptyInjections, ValueGenerator } from '../../../scripts/simulate/values.ts';

const device = (label: string): SimDevice => {
  const d = seededDevices().find((x) => x.label === label);
  if (!d) throw new Error(label);
  return d;
};
const T0 = Date.parse('2026-11-30T09:55:00+08:00');
const timeline = (d: SimDevice, start = T0) => new Timeline(d, new ValueGenerator(d, 1), start);

describe('Timeline', () => {
  it('sends real-time data every interval, minute data per window and hourly data at the top of the hour', () => {
    const d = device('AB01'); // 60 s real-time, 10-minute data
    const out = timeline(d).advance(T0 + 65 * 60_000, emptyInjections());
    const of = (cn: string) => out.filter((e) => e.cn === cn);
    expect(of('2011')).toHaveLength(66);
    expect(of('2051').map((e) => new Date(e.dataTime).toISOString())).toEqual([
      '2026-11-30T01:50:00.000Z',
      '2026-11-30T02:00:00.000Z',
      '2026-11-30T02:10:00.000Z',
      '2026-11-30T02:20:00.000Z',
      '2026-11-30T02:30:00.000Z',
      '2026-11-30T02:40:00.000Z',
      '2026-11-30T02:50:00.000Z',
    ]);
    // the partial 09:00 hour (from 09:55) closes at 10:00, the 10:00 hour at 11:00
    expect(of('2061').map((e) => e.dataTime)).toEqual([
      Date.parse('2026-11-30T09:00:00+08:00'),
      Date.parse('2026-11-30T10:00:00+08:00'),
    ]);
    const full = timeline(d, Date.parse('2026-11-30T10:00:00+08:00')).advance(
      Date.parse('2026-11-30T11:00:00+08:00'),
      emptyInjections(),
    );
    const hour = full.find((e) => e.cn === '2061');
    expect(hour?.cn === '2061' && hour.values.w01018?.count).toBe(60);
  });

  it('continues where it stopped when advanced in steps', () => {
    const d = device('GA01');
    const a = timeline(d);
    const stepped = [...a.advance(T0 + 90_000, emptyInjections()), ...a.advance(T0 + 600_000, emptyInjections())];
    const once = timeline(d).advance(T0 + 600_000, emptyInjections());
    expect(stepped).toEqual(once);
  });

  it('sends nothing during a gap and no minute data for a window without samples', () => {
    const d = device('AB01');
    const inj = emptyInjections();
    inj.gapUntil = T0 + 30 * 60_000;
    const out = timeline(d).advance(T0 + 40 * 60_000, inj);
    expect(out.filter((e) => e.cn === '2011').every((e) => e.dataTime >= T0 + 30 * 60_000)).toBe(true);
    // silent 09:55–10:25: the 09:50, 10:00 and 10:10 windows send nothing; the 10:20 window (10:25–10:29) closes at 10:30
    expect(out.filter((e) => e.cn === '2051').map((e) => new Date(e.dataTime).toISOString())).toEqual([
      '2026-11-30T02:20:00.000Z',
    ]);
  });
});
