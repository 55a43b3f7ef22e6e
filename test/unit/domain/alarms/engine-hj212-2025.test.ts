import { describe, expect, it } from 'vitest';
import { forgetAlarms } from '#shared/domain/alarms/engine.ts';
import type { Transition } from '#shared/domain/alarms/model.ts';
import { bambooSource, boilerSource, Device, kinds, PACKET, reading, rulesWith } from './engine-fixtures.ts';

const COD = 'w01018';
const SO2 = 'a21026';
const FURNACE = 'a01901';
const H = 3_600_000;
const hour = (base: string, i: number) => new Date(Date.parse(base) + i * H).toISOString();

/** one re-sent (RF=1) hourly COD average per packet, received `lateH` hours after its hour */
const resentHour = (d: Device, at: string, avg: number, lateH = 20) =>
  reading(d.source, { pollutant: COD, at, values: { avg }, resent: true, receivedAfterMs: lateH * H });

const retro = (ts: Transition[]) => ts.filter((t) => t.kind === 'retro') as Extract<Transition, { kind: 'retro' }>[];

describe('evaluate — 补传超标 (retrospective records)', () => {
  it('turns an exceedance in RF=1 re-sent data into one retrospective record growing over its window, and never a live alarm', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, '2026-11-29T00:00:00Z', [60, 60]); // live data up to 01:00, then the link is cut
    // the device re-sends 02:00–06:00 the next day (RF=1), one packet per hour; 03:00–05:00 exceeded 100 mg/L
    const out: Transition[] = [];
    for (const [i, avg] of [60, 130, 180, 140, 70].entries()) {
      out.push(...d.feed([resentHour(d, hour('2026-11-29T02:00:00Z', i), avg)], PACKET));
    }
    const ts = retro(out);
    expect(out).toHaveLength(3);
    expect(ts.map((t) => [t.alarmId, t.extend])).toEqual([
      ['alarm-1', false],
      ['alarm-1', true],
      ['alarm-1', true],
    ]);
    expect(ts[2]?.window).toEqual({
      from: '2026-11-29T03:00:00.000Z',
      to: '2026-11-29T05:00:00.000Z',
      kind: 'hour',
      count: 3,
      peak: 180,
      resent: true,
    });
    expect(ts[2]?.signal).toMatchObject({ type: 'exceedance', pollutant: COD, key: 'retro#exceedance#w01018' });
    expect(ts[2]?.signal.evidence[0]?.packet).toEqual(PACKET);
    // nothing live: no open alarm, the live watermark is still 01:00, the next fresh hour is judged as usual
    expect(d.state.open).toEqual({});
    expect(d.state.series[`${COD}#hour`]?.w).toBe(Date.parse('2026-11-29T01:00:00Z'));
    expect(kinds(d.hourly(COD, '2026-11-30T08:00:00Z', [60]))).toEqual([]);
  });

  it('records nothing when the same backlog is re-sent again (idempotent)', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, '2026-11-30T00:00:00Z', [60]);
    const backlog = [130, 180].map((avg, i) => resentHour(d, hour('2026-11-29T03:00:00Z', i), avg));
    expect(retro(d.feed(backlog))).toHaveLength(2);
    expect(d.feed(backlog)).toEqual([]);
    expect(d.feed([{ ...(backlog[1] as (typeof backlog)[number]) }])).toEqual([]);
  });

  it('judges data far behind its watermark (a 2017 backlog without RF) retrospectively, and skips data only a little late', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, '2026-11-29T10:00:00Z', [60]);
    const late = (at: string) =>
      reading(d.source, { pollutant: COD, at, values: { avg: 150 }, receivedAfterMs: 9 * H });
    // 09:00 is one hour behind (not more than lateAfterMinutes = 60): skipped as before
    expect(d.feed([late('2026-11-29T09:00:00Z')])).toEqual([]);
    const [t] = retro(d.feed([late('2026-11-29T02:00:00Z')]));
    expect(t?.window).toMatchObject({ from: '2026-11-29T02:00:00.000Z', resent: false, count: 1 });
    expect(d.state.open).toEqual({});
  });

  it('records nothing for late data a live alarm already covered', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, '2026-11-29T02:00:00Z', [130, 150, 60, 60, 60, 60]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3', 'clear:exceedance#w01018']);
    expect(d.feed([resentHour(d, '2026-11-29T03:00:00Z', 150)])).toEqual([]);
  });

  it('keeps judging only valid values against the limit: flagged or non-exceeding re-sent data records nothing', () => {
    const d = new Device(bambooSource());
    const at = '2026-11-29T03:00:00Z';
    expect(d.feed([reading(d.source, { pollutant: COD, at, values: { avg: 150 }, flag: 'D', resent: true })])).toEqual(
      [],
    );
    expect(d.feed([resentHour(d, '2026-11-29T04:00:00Z', 90)])).toEqual([]);
  });

  it('starts a new record after officials closed the last one, and still records nothing inside the closed window', () => {
    const d = new Device(bambooSource());
    const [first] = retro(d.feed([resentHour(d, '2026-11-29T03:00:00Z', 150)]));
    forgetAlarms(d.state, [first?.alarmId as string]);
    expect(d.feed([resentHour(d, '2026-11-29T03:00:00Z', 150)])).toEqual([]);
    const [next] = retro(d.feed([resentHour(d, '2026-11-29T04:00:00Z', 150)]));
    expect(next).toMatchObject({ alarmId: 'alarm-2', extend: false });
  });

  it('is off when the rules say so (re-sent data is then skipped like any late data)', () => {
    const d = new Device(bambooSource(), rulesWith({ retrospective: { enabled: false } }));
    expect(d.feed([resentHour(d, '2026-11-29T03:00:00Z', 150)])).toEqual([]);
  });
});

describe('evaluate — not computable converted values (+9999.99)', () => {
  it('never judges the raw value of a flue-gas pollutant whose converted value was not computable', () => {
    const d = new Device(boilerSource());
    const nc = reading(d.source, {
      pollutant: SO2,
      at: '2026-11-29T02:00:00Z',
      values: { avg: 400 },
      notComputable: ['zsAvg'],
    });
    expect(d.feed([nc])).toEqual([]);
    // the same raw value with a computed converted one over the limit does open
    const ok = reading(d.source, { pollutant: SO2, at: '2026-11-29T03:00:00Z', values: { avg: 400, zsAvg: 80 } });
    expect(kinds(d.feed([ok]))).toEqual(['open:exceedance#a21026@3']);
  });
});

describe('evaluate — standard-sample checks (CN 2062)', () => {
  const check = (d: Device, at: string, result: number, sampleRd = 58.2) =>
    reading(d.source, {
      pollutant: COD,
      kind: 'check',
      at,
      values: { sampleRd, standardValue: 50, result },
      subject: 'pollutant',
    });

  it('opens a standard_check_failed alarm on a failed check, keeps it on the next failure, clears it on a passed check', () => {
    const d = new Device(bambooSource());
    const [open] = d.feed([check(d, '2026-11-29T01:30:00Z', 0)]);
    expect(open).toMatchObject({ kind: 'open', signal: { type: 'standard_check_failed', level: 3, pollutant: COD } });
    expect(open?.signal.reasonZh).toContain('标样核查不合格');
    expect(open?.signal.reasonZh).toContain('标准值 50');
    expect(d.feed([check(d, '2026-11-29T05:30:00Z', 0)])).toEqual([]);
    expect(kinds(d.feed([check(d, '2026-11-29T09:30:00Z', 1, 50.4)]))).toEqual(['clear:standard_check_failed#w01018']);
  });

  it('records a passed check without any alarm, and the same check delivered twice once', () => {
    const d = new Device(bambooSource());
    expect(d.feed([check(d, '2026-11-29T01:30:00Z', 1, 50.4)])).toEqual([]);
    const failed = check(d, '2026-11-29T02:30:00Z', 0);
    expect(d.feed([failed])).toHaveLength(1);
    d.feed([check(d, '2026-11-29T03:30:00Z', 1)]);
    expect(d.feed([failed])).toEqual([]);
  });
});

describe('evaluate — furnace temperature at an incinerator (CN 2111)', () => {
  const incinerator = () => bambooSource({ industry: 'waste_incineration' });
  const furnace = (d: Device, at: string, avg: number, extra: { resent?: boolean; receivedAfterMs?: number } = {}) =>
    reading(d.source, { pollutant: FURNACE, kind: 'furnace', at, values: { avg }, flag: 'N', ...extra });
  const fiveMin = (i: number) => new Date(Date.parse('2026-11-29T02:00:00Z') + i * 300_000).toISOString();

  it('opens furnace_low_temperature on a 5-minute average below 850 °C and clears after three at or above it', () => {
    const d = new Device(incinerator());
    expect(d.feed([furnace(d, fiveMin(0), 910)])).toEqual([]);
    const [open] = d.feed([furnace(d, fiveMin(1), 832.5)]);
    expect(open).toMatchObject({
      kind: 'open',
      signal: { type: 'furnace_low_temperature', level: 3, value: 832.5, limit: 850, unit: '°C' },
    });
    expect(d.feed([furnace(d, fiveMin(2), 820)])).toEqual([]);
    expect(d.feed([furnace(d, fiveMin(3), 870)])).toEqual([]);
    expect(d.feed([furnace(d, fiveMin(4), 880)])).toEqual([]);
    expect(kinds(d.feed([furnace(d, fiveMin(5), 890)]))).toEqual(['clear:furnace_low_temperature#a01901']);
  });

  it('applies only to units registered as incinerators, and takes the threshold from the rules', () => {
    const d = new Device(bambooSource());
    expect(d.feed([furnace(d, fiveMin(0), 700)])).toEqual([]);
    const strict = new Device(incinerator(), rulesWith({ furnace: { minCelsius: 900 } }));
    expect(kinds(strict.feed([furnace(strict, fiveMin(0), 880)]))).toEqual(['open:furnace_low_temperature#a01901@3']);
  });

  it('records a low furnace temperature found in re-sent data retrospectively', () => {
    const d = new Device(incinerator());
    d.feed([furnace(d, fiveMin(100), 900)]);
    const [t] = retro(d.feed([furnace(d, fiveMin(3), 800, { resent: true, receivedAfterMs: 6 * H })]));
    expect(t?.signal).toMatchObject({ type: 'furnace_low_temperature', key: 'retro#furnace_low_temperature#a01901' });
    expect(t?.window).toMatchObject({ kind: 'furnace', peak: 800, resent: true });
    expect(d.state.open).toEqual({});
  });
});
