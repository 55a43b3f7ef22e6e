import { describe, expect, it } from 'vitest';
import {
  applySignals,
  emptyEvalState,
  evaluate,
  exceedanceLevel,
  forgetAlarms,
  isoMs,
  lastSeenByKind,
  limitLoad,
  MAX_SERIES,
} from '#shared/domain/alarms/engine.ts';
import { EvaluationRules } from '#shared/domain/alarms/evaluation-rules.ts';
import type { Transition } from '#shared/domain/alarms/model.ts';
import { decodeFrame, encodeCp, encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { normalizePacket } from '#shared/domain/readings/normalize.ts';
import {
  bambooSource,
  boilerSource,
  Device,
  kinds,
  metalsSource,
  PACKET,
  reading,
  rulesWith,
  wwtpSource,
} from './engine-fixtures.ts';

const DAY0 = '2026-11-29T00:00:00.000Z';
const COD = 'w01018';
const SO2 = 'a21026';

const only = (ts: Transition[]): Transition => {
  expect(ts).toHaveLength(1);
  return ts[0] as Transition;
};

describe('evaluate — exceedance on hourly averages', () => {
  it('opens 三级 at a bamboo factory COD hourly average above 100 mg/L and clears after a compliant hour', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [72, 85, 92, 104, 98, 112, 87]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3', 'clear:exceedance#w01018']);
    const [open, clear] = d.transitions as [Transition, Transition];
    expect(open.signal).toMatchObject({
      type: 'exceedance',
      pollutant: COD,
      at: '2026-11-29T03:00:00.000Z',
      value: 104,
      limit: 100,
      unit: 'mg/L',
      multiple: 1.04,
      rules: ['exceedance'],
    });
    expect(open.signal.reasonZh).toContain('化学需氧量小时均值 104 mg/L');
    expect(open.signal.reasonZh).toContain('GB 8978-1996');
    expect(clear.alarmId).toBe(open.alarmId);
    expect(clear.signal.at).toBe('2026-11-29T06:00:00.000Z');
    expect(d.state.open).toEqual({});
  });

  it('does not fire on 100 mg/L exactly (the limit itself is compliant)', () => {
    const d = new Device(bambooSource());
    expect(d.hourly(COD, DAY0, [95, 100, 99.9, 100])).toEqual([]);
  });

  it('hovering at the limit does not re-alarm: one alarm until values drop below 90 %', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [99, 101, 99.5, 100.5, 95, 101, 92, 100.2]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3']);
    d.hourly(COD, '2026-11-29T08:00:00Z', [89]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3', 'clear:exceedance#w01018']);
  });

  it('a new exceedance after a clear is a new alarm', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [130, 60, 125]);
    expect(kinds(d.transitions)).toEqual([
      'open:exceedance#w01018@3',
      'clear:exceedance#w01018',
      'open:exceedance#w01018@3',
    ]);
    expect(d.transitions[2]?.alarmId).not.toBe(d.transitions[0]?.alarmId);
  });

  it('escalates 三级 → 二级 after 3 consecutive hours above the limit', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [110, 115, 120, 118]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3', 'level:exceedance#w01018@2']);
    const level = d.transitions[1] as Extract<Transition, { kind: 'level' }>;
    expect(level.from).toBe(3);
    expect(level.signal.rules).toContain('exceedance.duration');
    expect(level.signal.reasonZh).toContain('已持续超标3小时');
    // the first value of the streak is part of the evidence
    expect(level.signal.evidence.map((e) => [e.dataTime, e.value])).toEqual([
      ['2026-11-29T00:00:00.000Z', 110],
      ['2026-11-29T02:00:00.000Z', 120],
    ]);
  });

  it('a compliant hour inside the streak restarts the duration count', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [110, 115, 95, 120, 118]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3']);
  });

  it('opens at 二级 when the value is at least twice the limit (超过限值1倍以上)', () => {
    const d = new Device(bambooSource());
    const t = only(d.hourly(COD, DAY0, [215]));
    expect(t.signal.level).toBe(2);
    expect(t.signal.rules).toEqual(['exceedance', 'exceedance.multiple']);
    expect(t.signal.reasonZh).toContain('超过限值1倍以上');
  });

  it('keeps the highest level while open by default, and follows the value down when keepHighestLevel is off', () => {
    const held = new Device(bambooSource());
    held.hourly(COD, DAY0, [215, 120]);
    expect(kinds(held.transitions)).toEqual(['open:exceedance#w01018@2']);

    const follows = new Device(bambooSource(), rulesWith({ exceedance: { keepHighestLevel: false } }));
    follows.hourly(COD, DAY0, [215, 120]);
    expect(kinds(follows.transitions)).toEqual(['open:exceedance#w01018@2', 'level:exceedance#w01018@3']);
    expect((follows.transitions[1] as Extract<Transition, { kind: 'level' }>).from).toBe(2);
  });

  it('ignores values flagged M or C even far above the limit, and they neither raise nor clear', () => {
    const d = new Device(bambooSource());
    expect(
      d.hourly(COD, DAY0, [
        { avg: 260, flag: 'M' },
        { avg: 310, flag: 'C' },
        { avg: 180, flag: 'S' },
      ]),
    ).toEqual([]);
    d.hourly(COD, '2026-11-29T03:00:00Z', [120, { avg: 40, flag: 'M' }, { avg: 30, flag: 'C' }]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3']);
    d.hourly(COD, '2026-11-29T06:00:00Z', [40]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3', 'clear:exceedance#w01018']);
  });

  it('counts a value without a flag only when missingFlagIsNormal is set', () => {
    const strict = new Device(bambooSource());
    const r = reading(strict.source, { pollutant: COD, at: DAY0, values: { avg: 150 } });
    delete r.flag;
    expect(strict.feed([r])).toEqual([]);
    const lenient = new Device(bambooSource(), rulesWith({ missingFlagIsNormal: true }));
    expect(kinds(lenient.feed([r]))).toEqual(['open:exceedance#w01018@3']);
  });

  it('judges pH (6–9) on both bounds', () => {
    const d = new Device(bambooSource());
    const high = only(d.hourly('w01001', DAY0, [7.2, 8.9, 9.4]));
    expect(high.signal).toMatchObject({ value: 9.4, limit: 9, unit: '无量纲' });
    expect(high.signal.multiple).toBeUndefined();
    expect(high.signal.reasonZh).toContain('限值范围 6–9');
    d.hourly('w01001', '2026-11-29T03:00:00Z', [7.5]);
    const low = only(d.hourly('w01001', '2026-11-29T04:00:00Z', [5.6]));
    expect(low.signal).toMatchObject({ value: 5.6, limit: 6, level: 3 });
  });

  it('does not judge hourly-basis limits on real-time, minute or daily data', () => {
    const d = new Device(bambooSource(), rulesWith({ prewarning: { enabled: false } }));
    const src = d.source;
    expect(
      d.feed([
        reading(src, { pollutant: COD, kind: 'realtime', at: DAY0, values: { rtd: 180 } }),
        reading(src, { pollutant: COD, kind: 'minute', at: DAY0, values: { avg: 170 } }),
        reading(src, { pollutant: COD, kind: 'day', at: DAY0, values: { avg: 160 } }),
      ]),
    ).toEqual([]);
  });

  it('carries the packet in the evidence', () => {
    const d = new Device(bambooSource());
    const t = only(d.feed([reading(d.source, { pollutant: COD, at: DAY0, values: { avg: 130 } })], PACKET));
    expect(t.signal.evidence).toEqual([
      { pollutant: COD, kind: 'hour', dataTime: DAY0, value: 130, flag: 'N', packet: PACKET },
    ]);
  });
});

describe('evaluate — limit bases', () => {
  it('judges a daily-basis limit (GB 18918 一级A) on the daily average only', () => {
    const d = new Device(wwtpSource(), rulesWith({ prewarning: { enabled: false } }));
    expect(d.hourly(COD, DAY0, [70, 80])).toEqual([]);
    const t = only(d.feed([reading(d.source, { pollutant: COD, kind: 'day', at: DAY0, values: { avg: 55 } })]));
    expect(t.signal).toMatchObject({ level: 3, value: 55, limit: 50 });
    expect(t.signal.reasonZh).toContain('日均值');
    // a second exceeding day is 二级 (level2AfterDays = 2), one compliant day clears
    const next = only(
      d.feed([reading(d.source, { pollutant: COD, kind: 'day', at: '2026-11-30T00:00:00Z', values: { avg: 52 } })]),
    );
    expect(next.signal.level).toBe(2);
    const clear = only(
      d.feed([reading(d.source, { pollutant: COD, kind: 'day', at: '2026-12-01T00:00:00Z', values: { avg: 40 } })]),
    );
    expect(clear.kind).toBe('clear');
  });

  it('judges an instant-basis limit on real-time values and clears after 10 minutes below 90 %', () => {
    const src = bambooSource({
      limits: {
        w01018: {
          pollutant: COD,
          unit: 'mg/L',
          standard: '排污许可证',
          grade: '瞬时限值',
          basis: 'instant',
          max: 100,
        },
      },
    });
    const d = new Device(src, rulesWith({ prewarning: { enabled: false } }));
    d.realtime(COD, DAY0, [95, 101, 96, ...Array(9).fill(80)]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3']);
    // 96 (dead band) resets; 9 values below 90 cover 9 minutes; the 10th completes 10 minutes
    const clear = only(d.realtime(COD, '2026-11-29T00:12:00Z', [80]));
    expect(clear.kind).toBe('clear');
  });
});

describe('evaluate — flue gas (converted concentration)', () => {
  it('judges SO2 and NOx on zsAvg and particulate on avg when no converted value is sent', () => {
    const d = new Device(boilerSource());
    const so2 = only(d.hourly(SO2, DAY0, [{ avg: 45, zsAvg: 62 }]));
    expect(so2.signal).toMatchObject({ key: 'exceedance#a21026', value: 62, limit: 50, multiple: 1.24 });
    expect(so2.signal.reasonZh).toContain('二氧化硫折算小时均值 62 mg/m³');
    expect(d.hourly('a21002', DAY0, [{ avg: 210, zsAvg: 180 }])).toEqual([]);
    const dust = only(d.hourly('a34013', DAY0, [{ avg: 25 }]));
    expect(dust.signal).toMatchObject({ value: 25, limit: 20 });
  });

  it('judges the measured value when useConvertedForFlueGas is off', () => {
    const d = new Device(boilerSource(), rulesWith({ exceedance: { useConvertedForFlueGas: false } }));
    expect(d.hourly(SO2, DAY0, [{ avg: 45, zsAvg: 62 }])).toEqual([]);
  });
});

describe('evaluate — statutory 一级', () => {
  const src = metalsSource();

  it('lead at ≥ 3× the standard is 一级 (法释〔2023〕7号 第一条第（三）项)', () => {
    const d = new Device(src);
    const t = only(d.hourly('w20120', DAY0, [3100]));
    expect(t.signal.level).toBe(1);
    expect(t.signal.rules).toContain('exceedance.statutory');
    expect(t.signal.reasonZh).toContain('涉嫌污染环境罪');
    expect(t.signal.reasonZh).toContain('第一条第（三）项');
  });

  it('lead at 2.9× is 二级 only, cadmium at exactly 3× is 一级', () => {
    const d = new Device(src);
    expect(only(d.hourly('w20120', DAY0, [2900])).signal.level).toBe(2);
    expect(only(d.hourly('w20115', DAY0, [300])).signal.level).toBe(1);
  });

  it('copper and manganese need 10× (第一条第（四）项)', () => {
    const d = new Device(src);
    expect(only(d.hourly('w20122', DAY0, [4.5])).signal.level).toBe(2);
    expect(only(d.hourly('w20124', DAY0, [20])).signal.level).toBe(1);
    const cu = new Device(src);
    expect(only(cu.hourly('w20122', DAY0, [5.25])).signal.level).toBe(1);
  });

  it('COD at 5× is 二级, not 一级 (not a listed substance)', () => {
    const d = new Device(src);
    expect(only(d.hourly(COD, DAY0, [500])).signal.level).toBe(2);
  });

  it('any exceedance at an outlet in a drinking-water source protection zone is 一级', () => {
    const d = new Device(bambooSource({ inDrinkingWaterProtectionZone: true }));
    const t = only(d.hourly(COD, DAY0, [101]));
    expect(t.signal.level).toBe(1);
    expect(t.signal.rules).toContain('exceedance.drinking-water-zone');
    expect(t.signal.reasonZh).toContain('饮用水水源保护区');
    // but nothing below the limit
    expect(new Device(bambooSource({ inDrinkingWaterProtectionZone: true })).hourly(COD, DAY0, [99])).toEqual([]);
  });
});

describe('evaluate — duplicates and late data', () => {
  it('three deliveries of the same reading give one transition', () => {
    const d = new Device(bambooSource());
    const r = reading(d.source, { pollutant: COD, at: DAY0, values: { avg: 140 } });
    const copies = [r, { ...r }, { ...r, receivedAt: '2026-11-29T01:05:00.000Z' }];
    const all = copies.flatMap((c) => d.feed([c]));
    expect(kinds(all)).toEqual(['open:exceedance#w01018@3']);
    // and in one batch
    const e = new Device(bambooSource());
    expect(kinds(e.feed(copies))).toEqual(['open:exceedance#w01018@3']);
  });

  it('a redelivered value is not counted again (pre-warning and flag runs count values)', () => {
    const d = new Device(boilerSource());
    const high = reading(d.source, { pollutant: SO2, kind: 'realtime', at: DAY0, values: { zsRtd: 45 } });
    const fault = reading(d.source, { pollutant: 'a21002', kind: 'realtime', at: DAY0, values: { rtd: 0 }, flag: 'D' });
    for (let i = 0; i < 3; i++) d.feed([high, fault]);
    d.feed([{ ...high }, { ...fault }]);
    expect(d.transitions).toEqual([]);
    expect(d.state.series['a21026#realtime']?.pn).toBe(1);
  });

  it('late data does not reopen a cleared alarm', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, '2026-11-29T02:00:00Z', [130, 60]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3', 'clear:exceedance#w01018']);
    // the 01:00 hour arrives late (device back-fill), and the 02:00 hour is redelivered: the late exceedance is a
    // retrospective record (补传超标), never a reopening; the redelivered hour is covered by the live alarm
    expect(kinds(d.hourly(COD, '2026-11-29T01:00:00Z', [150, 150]))).toEqual(['retro:retro#exceedance#w01018@3']);
    expect(d.state.open).toEqual({});
  });

  it('out-of-order real-time data in one batch: the older reading is skipped', () => {
    const d = new Device(bambooSource());
    const newer = reading(d.source, { pollutant: COD, at: '2026-11-29T00:05:00Z', values: { avg: 40 } });
    const older = reading(d.source, { pollutant: COD, at: DAY0, values: { avg: 150 } });
    expect(d.feed([newer, older])).toEqual([]);
  });

  it('skips a reading dated more than 10 minutes after it was received (wrong device clock)', () => {
    const d = new Device(bambooSource());
    const future = {
      ...reading(d.source, { pollutant: COD, at: '2027-01-01T00:00:00Z', values: { avg: 150 } }),
      receivedAt: DAY0,
    };
    expect(d.feed([future])).toEqual([]);
    // the watermark was not pushed into the future: today's data still count
    expect(kinds(d.hourly(COD, DAY0, [150]))).toEqual(['open:exceedance#w01018@3']);
  });

  it('continues identically from a JSON round trip of its state', () => {
    const a = new Device(bambooSource());
    a.hourly(COD, DAY0, [110, 115]);
    const b = new Device(bambooSource());
    Object.assign(b.state, JSON.parse(JSON.stringify(a.state)));
    const next = (dev: Device) => kinds(dev.hourly(COD, '2026-11-29T02:00:00Z', [120, 120]));
    const fromJson = next(b);
    expect(fromJson).toEqual(['level:exceedance#w01018@2']);
    expect(next(a)).toEqual(fromJson);
    expect(JSON.parse(JSON.stringify(b.state))).toEqual(a.state);
  });
});

describe('evaluate — pre-warning (接近限值)', () => {
  it('raises 四级 after 3 consecutive real-time SO2 values at ≥ 80 % of the limit (converted)', () => {
    const d = new Device(boilerSource());
    d.realtime(SO2, DAY0, [
      { rtd: 30, zsRtd: 41 },
      { rtd: 31, zsRtd: 42 },
    ]);
    expect(d.transitions).toEqual([]);
    const t = only(d.realtime(SO2, '2026-11-29T00:01:00Z', [{ rtd: 31, zsRtd: 43 }]));
    expect(t.signal).toMatchObject({ key: 'prewarning#a21026', level: 4, value: 43, limit: 50, multiple: 0.86 });
    expect(t.signal.reasonZh).toContain('接近限值');
  });

  it('does not fire for values just under 80 % of the limit', () => {
    const d = new Device(boilerSource());
    expect(d.realtime(SO2, DAY0, Array(40).fill({ rtd: 30, zsRtd: 39.9 }))).toEqual([]);
  });

  it('flagged values neither count nor break the run', () => {
    const d = new Device(boilerSource());
    d.realtime(SO2, DAY0, [{ zsRtd: 41 }, { zsRtd: 48, flag: 'C' }, { zsRtd: 42 }]);
    expect(d.transitions).toEqual([]);
    expect(kinds(d.realtime(SO2, '2026-11-29T00:01:30Z', [{ zsRtd: 41 }]))).toEqual(['open:prewarning#a21026@4']);
  });

  it('clears after 30 minutes below 70 %', () => {
    const d = new Device(boilerSource());
    d.realtime(SO2, DAY0, [{ zsRtd: 45 }, { zsRtd: 45 }, { zsRtd: 45 }, { zsRtd: 30 }]);
    expect(kinds(d.transitions)).toEqual(['open:prewarning#a21026@4']);
    // 30 s values below 35: the run started at 00:01:30; 59 more values end at 00:31:00
    d.realtime(SO2, '2026-11-29T00:02:00Z', Array(58).fill({ zsRtd: 30 }));
    expect(kinds(d.transitions)).toEqual(['open:prewarning#a21026@4']);
    const clear = only(d.realtime(SO2, '2026-11-29T00:31:00Z', [{ zsRtd: 30 }]));
    expect(clear.kind).toBe('clear');
  });

  it('is not raised while the exceedance of the same pollutant is open', () => {
    const d = new Device(boilerSource());
    d.hourly(SO2, DAY0, [{ zsAvg: 60 }]);
    expect(d.realtime(SO2, '2026-11-29T01:00:00Z', Array(5).fill({ zsRtd: 55 }))).toEqual([]);
  });
});

describe('evaluate — instrument flags D / B / T', () => {
  const D = (n: number) => Array(n).fill({ rtd: 0, flag: 'D' });

  it('three consecutive D values open device_fault 三级; five N values clear it', () => {
    const d = new Device(bambooSource());
    d.realtime(COD, DAY0, [40, ...D(2)]);
    expect(d.transitions).toEqual([]);
    const open = only(d.realtime(COD, '2026-11-29T00:03:00Z', D(1)));
    expect(open.signal).toMatchObject({ key: 'device_fault#w01018', type: 'device_fault', level: 3 });
    expect(open.signal.reasonZh).toContain('仪器故障（D）');
    d.realtime(COD, '2026-11-29T00:04:00Z', [...D(2), 41, 42, { rtd: 43, flag: 'M' }, 40, 41]);
    expect(kinds(d.transitions)).toEqual(['open:device_fault#w01018@3']);
    const clear = only(d.realtime(COD, '2026-11-29T00:11:00Z', [44]));
    expect(clear.kind).toBe('clear');
  });

  it('two D values and a normal one raise nothing', () => {
    const d = new Device(bambooSource());
    expect(d.realtime(COD, DAY0, [...D(2), 40, ...D(2), 41])).toEqual([]);
  });

  it('B opens comm_loss and T opens over_range', () => {
    const d = new Device(bambooSource());
    d.realtime(COD, DAY0, Array(3).fill({ rtd: 0, flag: 'B' }));
    d.realtime('w21003', DAY0, Array(3).fill({ rtd: 50, flag: 'T' }));
    expect(kinds(d.transitions)).toEqual(['open:comm_loss#w01018@3', 'open:over_range#w21003@3']);
  });

  it('a D-flagged hourly average opens at once (a bad hour)', () => {
    const d = new Device(bambooSource());
    expect(kinds(d.hourly(COD, DAY0, [{ avg: 0, flag: 'D' }]))).toEqual(['open:device_fault#w01018@3']);
  });

  it('stays open while another kind of the same pollutant is still faulty', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [{ avg: 0, flag: 'D' }]);
    d.realtime(COD, '2026-11-29T01:00:00Z', D(3));
    d.hourly(COD, '2026-11-29T01:00:00Z', [40]);
    expect(kinds(d.transitions)).toEqual(['open:device_fault#w01018@3']);
    d.realtime(COD, '2026-11-29T01:03:00Z', Array(5).fill(40));
    expect(kinds(d.transitions)).toEqual(['open:device_fault#w01018@3', 'clear:device_fault#w01018']);
  });

  it('raises nothing for a device under maintenance, but still clears what was open', () => {
    const d = new Device(bambooSource({ deviceStatus: 'maintenance' }));
    expect(d.realtime(COD, DAY0, D(6))).toEqual([]);
    const active = new Device(bambooSource());
    active.realtime(COD, DAY0, D(3));
    const maintained = new Device(bambooSource({ deviceStatus: 'maintenance' }), active.rules);
    Object.assign(maintained.state, JSON.parse(JSON.stringify(active.state)));
    const after = maintained.realtime(COD, '2026-11-29T00:03:00Z', Array(5).fill(40));
    expect(kinds(after)).toEqual(['clear:device_fault#w01018']);
  });
});

describe('evaluate — treatment facility abnormal (治污设施异常)', () => {
  /** one minute of equipment data: the cooker's current, SB1 status, the blower's current */
  const minute = (d: Device, at: string, cookerA: number, sb1: number, blowerA: number) =>
    d.feed(
      [
        reading(d.source, { pollutant: 'i33200', subject: 'info', kind: 'realtime', at, values: { info: cookerA } }),
        reading(d.source, { pollutant: 'SB1', subject: 'facility', kind: 'realtime', at, values: { rs: sb1 } }),
        reading(d.source, { pollutant: 'i33201', subject: 'info', kind: 'realtime', at, values: { info: blowerA } }),
      ],
      PACKET,
    );
  const minutes = (d: Device, from: string, n: number, cookerA: number, sb1: number, blowerA: number) => {
    const out: Transition[] = [];
    for (let i = 0; i < n; i++) {
      out.push(...minute(d, new Date(Date.parse(from) + i * 60_000).toISOString(), cookerA, sb1, blowerA));
    }
    return out;
  };

  it('production running while SB1 is off and the blower idles for 30 minutes → 二级; clears after 15 minutes of treatment', () => {
    const d = new Device(bambooSource());
    expect(minutes(d, DAY0, 30, 42, 0, 0.4)).toEqual([]); // 00:00 … 00:29: 29 minutes
    const open = only(minute(d, '2026-11-29T00:30:00Z', 42, 0, 0.4));
    expect(open.signal).toMatchObject({ key: 'facility_abnormal#-', type: 'facility_abnormal', level: 2 });
    expect(open.signal.reasonZh).toContain('治污设施全部停运或空转');
    expect(open.signal.evidence.map((e) => [e.pollutant, e.value])).toEqual([
      ['i33200', 42],
      ['SB1', 0],
      ['i33201', 0.4],
    ]);
    expect(open.signal.evidence[0]?.packet).toEqual(PACKET);
    // still down: no repeat; production stopping alone does not clear
    expect(minutes(d, '2026-11-29T00:31:00Z', 10, 2, 0, 0.4)).toEqual([]);
    // treatment back on at 00:41; 15 minutes later it clears
    expect(minutes(d, '2026-11-29T00:41:00Z', 15, 42, 1, 8)).toEqual([]);
    expect(only(minute(d, '2026-11-29T00:56:00Z', 42, 1, 8)).kind).toBe('clear');
  });

  it('does not fire when treatment idles while production is also stopped', () => {
    const d = new Device(bambooSource());
    expect(minutes(d, DAY0, 120, 3, 0, 0.2)).toEqual([]);
  });

  it('does not fire while one treatment piece still runs', () => {
    const d = new Device(bambooSource());
    expect(minutes(d, DAY0, 60, 42, 0, 7.5)).toEqual([]);
  });

  it('does not conclude anything from a status it has not heard for 15 minutes', () => {
    const d = new Device(bambooSource());
    minute(d, DAY0, 42, 0, 0.4);
    // only the cooker keeps reporting: the treatment statuses go stale
    for (let i = 1; i <= 60; i++) {
      const at = new Date(Date.parse(DAY0) + i * 60_000).toISOString();
      d.feed([reading(d.source, { pollutant: 'i33200', subject: 'info', kind: 'realtime', at, values: { info: 42 } })]);
    }
    expect(d.transitions).toEqual([]);
  });
});

describe('evaluate — treatment facility abnormal from HJ 212-2025 electricity (ST=44)', () => {
  const powered = () =>
    bambooSource({
      equipment: [
        { code: 'd20105', role: 'production', name: '蒸煮锅炉用电', runningAbove: 10 },
        { code: 'd30106', role: 'treatment', name: '污水处理站用电', runningAbove: 2 },
      ],
    });
  /** one minute of ST=44 real-time data: production and treatment kW, with the treatment meter's flag */
  const minute = (d: Device, at: string, productionKw: number, treatmentKw: number, flag = 'N') =>
    d.feed(
      [
        reading(d.source, {
          pollutant: 'd20105',
          subject: 'power',
          kind: 'realtime',
          at,
          values: { rtd: productionKw },
          flag: 'N',
        }),
        reading(d.source, {
          pollutant: 'd30106',
          subject: 'power',
          kind: 'realtime',
          at,
          values: { rtd: treatmentKw },
          flag,
        }),
      ],
      PACKET,
    );
  const minutes = (d: Device, n: number, productionKw: number, treatmentKw: number, flag = 'N') => {
    const out: Transition[] = [];
    for (let i = 0; i < n; i++) {
      out.push(...minute(d, new Date(Date.parse(DAY0) + i * 60_000).toISOString(), productionKw, treatmentKw, flag));
    }
    return out;
  };

  it('opens 二级 when production draws power while the treatment meter reads zero for 30 minutes', () => {
    const d = new Device(powered());
    const out = minutes(d, 31, 55, 0);
    expect(kinds(out)).toEqual(['open:facility_abnormal#-@2']);
    const open = only(out);
    expect(open.signal.reasonZh).toContain('污水处理站用电');
    expect(open.signal.evidence.map((e) => [e.pollutant, e.value])).toEqual([
      ['d20105', 55],
      ['d30106', 0],
    ]);
  });

  it('concludes nothing from a treatment meter flagged other than N', () => {
    const d = new Device(powered());
    expect(minutes(d, 60, 55, 0, 'D')).toEqual([]);
  });

  it('does not fire while the treatment facility draws power above its threshold', () => {
    const d = new Device(powered());
    expect(minutes(d, 60, 55, 6.5)).toEqual([]);
  });

  it('uses ST=45 production conditions as the production side', () => {
    const d = new Device(
      bambooSource({
        equipment: [
          { code: 'p99101', role: 'production', name: '焚烧炉工况', runningAbove: 1 },
          { code: 'd30106', role: 'treatment', name: '脱硝系统用电', runningAbove: 2 },
        ],
      }),
    );
    for (let i = 0; i <= 30; i++) {
      const at = new Date(Date.parse(DAY0) + i * 60_000).toISOString();
      d.feed([
        reading(d.source, { pollutant: 'p99101', subject: 'condition', kind: 'realtime', at, values: { rtd: 1 } }),
        reading(d.source, {
          pollutant: 'd30106',
          subject: 'power',
          kind: 'realtime',
          at,
          values: { rtd: 0 },
          flag: 'N',
        }),
      ]);
    }
    expect(kinds(d.transitions)).toEqual(['open:facility_abnormal#-@2']);
  });
});

describe('evaluate — state housekeeping', () => {
  it('clears an open data-gap alarm when data of that kind arrives', () => {
    const d = new Device(bambooSource());
    d.state.open['data_gap#hour'] = { alarmId: 'gap-1', level: 3, openedAt: DAY0 };
    d.state.open['data_gap#realtime'] = { alarmId: 'gap-2', level: 3, openedAt: DAY0 };
    const t = only(d.hourly(COD, DAY0, [50]));
    expect(t).toMatchObject({ kind: 'clear', alarmId: 'gap-1' });
    expect(Object.keys(d.state.open)).toEqual(['data_gap#realtime']);
  });

  it('after officials clear an alarm by hand, a persisting exceedance raises a fresh alarm', () => {
    const d = new Device(bambooSource());
    const open = only(d.hourly(COD, DAY0, [130]));
    d.state.forget = [open.alarmId];
    const again = only(d.hourly(COD, '2026-11-29T01:00:00Z', [128]));
    expect(again.kind).toBe('open');
    expect(again.alarmId).not.toBe(open.alarmId);
    expect(d.state.forget).toBeUndefined();
  });

  it('forgetAlarms marks the exceedance as cleared in recentExceedances', () => {
    const d = new Device(bambooSource());
    const open = only(d.hourly(COD, DAY0, [130]));
    expect(d.state.recentExceedances[COD]).toEqual({ openedAt: DAY0 });
    forgetAlarms(d.state, [open.alarmId], '2026-11-29T00:30:00.000Z');
    expect(d.state.open).toEqual({});
    expect(d.state.recentExceedances[COD]).toEqual({ openedAt: DAY0, clearedAt: '2026-11-29T00:30:00.000Z' });
  });

  it('forgets a cleared exceedance after recentExceedanceHours', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [130, 50]);
    expect(d.state.recentExceedances[COD]?.clearedAt).toBe('2026-11-29T01:00:00.000Z');
    d.hourly(COD, '2026-11-30T01:00:00Z', [50]);
    expect(d.state.recentExceedances[COD]).toBeDefined();
    d.hourly(COD, '2026-11-30T02:00:00Z', [50]);
    expect(d.state.recentExceedances).toEqual({});
  });

  it('keeps open alarms and streaks across a rule change', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [110, 115]);
    d.rules = rulesWith({ exceedance: { level2AfterHours: 2 } });
    d.hourly(COD, '2026-11-29T02:00:00Z', [112]);
    expect(kinds(d.transitions)).toEqual(['open:exceedance#w01018@3', 'level:exceedance#w01018@2']);
  });

  it('reports the newest DataTime per kind for the data-gap job', () => {
    const d = new Device(bambooSource());
    d.hourly(COD, DAY0, [50, 50]);
    d.realtime('w21003', '2026-11-29T02:10:00Z', [5, 5]);
    expect(lastSeenByKind(d.state)).toEqual([
      { kind: 'realtime', lastDataTime: '2026-11-29T02:11:00.000Z' },
      { kind: 'hour', lastDataTime: '2026-11-29T01:00:00.000Z' },
    ]);
  });

  it('an empty state is JSON and an empty batch changes nothing', () => {
    const s = emptyEvalState();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    const rules = rulesWith();
    expect(evaluate(s, [], bambooSource(), rules, { newId: () => 'x' })).toEqual({ transitions: [] });
  });
});

describe('evaluate — from the wire', () => {
  it('raises on an HJ 212 hourly packet (CN 2061) decoded and normalized as the ingest path does', () => {
    const d = new Device(bambooSource());
    const dataTime = '2026-11-29T02:00:00.000Z';
    const frame = encodePacket({
      qn: isoToBeijing('2026-11-29T03:00:12.000Z', true),
      st: '32',
      cn: '2061',
      pw: '123456',
      mn: d.source.mn,
      flag: 5,
      cp: encodeCp({
        dataTime,
        pollutants: {
          w01018: { values: { Min: 96.2, Avg: 118.4, Max: 131.0, Cou: 4.1 }, flag: 'N' },
          w21003: { values: { Min: 3.1, Avg: 4.2, Max: 5.0 }, flag: 'N' },
          w01001: { values: { Min: 7.1, Avg: 7.4, Max: 7.6 }, flag: 'N' },
        },
      }),
    });
    const decoded = decodeFrame(Buffer.from(frame));
    if (!decoded.ok) throw new Error('the test packet does not decode');
    const normalized = normalizePacket(
      decoded.packet,
      { mn: d.source.mn, enterpriseId: d.source.enterpriseId, outletId: d.source.outletId },
      { source: 'tcp', receivedAt: '2026-11-29T03:00:12.000Z' },
    );
    if (!normalized.ok) throw new Error(normalized.reason);
    const t = only(d.feed(normalized.readings, PACKET));
    expect(t.signal).toMatchObject({ key: 'exceedance#w01018', level: 3, value: 118.4, at: dataTime });
  });
});

describe('applySignals', () => {
  it('reconciles outside signals (the data-gap job) the same way', () => {
    const state = emptyEvalState();
    const sig = {
      key: 'data_gap#realtime',
      type: 'data_gap' as const,
      level: 3 as const,
      at: DAY0,
      rules: ['data-gap'],
      reasonZh: '实时数据已12分钟未上传',
      reason: 'no realtime data',
      evidence: [],
    };
    expect(applySignals(state, [sig, sig], () => 'gap-1').map((t) => t.kind)).toEqual(['open']);
    expect(state.open['data_gap#realtime']?.alarmId).toBe('gap-1');
    const { level: _, ...clear } = sig;
    expect(applySignals(state, [clear], () => 'unused').map((t) => t.kind)).toEqual(['clear']);
    expect(applySignals(state, [clear], () => 'unused')).toEqual([]);
  });
});

describe('evaluate — bounded state', () => {
  it('keeps at most MAX_SERIES series and skips readings of further ones', () => {
    const d = new Device(bambooSource());
    const batch = Array.from({ length: MAX_SERIES + 20 }, (_, i) =>
      reading(d.source, {
        pollutant: `w9${String(i).padStart(4, '0')}`,
        kind: 'realtime',
        at: DAY0,
        values: { rtd: 1 },
      }),
    );
    d.feed(batch);
    expect(Object.keys(d.state.series)).toHaveLength(MAX_SERIES);
    expect(Buffer.byteLength(JSON.stringify(d.state))).toBeLessThan(40_000);
  });
});

describe('isoMs', () => {
  it('reads toISOString forms like Date.parse and hands anything else to it', () => {
    for (const s of [
      '2026-11-29T08:00:00.000Z',
      '2026-11-29T08:00:00Z',
      '2024-02-29T23:59:59.999Z',
      '2000-03-01T00:00:00.000Z',
      '1969-12-31T23:59:59.000Z',
      '2026-02-30T00:00:00Z',
      '2026-11-29T08:00:00+08:00',
      '2026-13-01T00:00:00.000Z',
      '2026-1a-01T00:00:00.000Z',
      'not a time',
    ]) {
      expect(Object.is(isoMs(s), Date.parse(s))).toBe(true);
    }
  });
});

describe('exceedanceLevel', () => {
  const rules = EvaluationRules.parse({}).exceedance;
  const facts = {
    pollutant: COD,
    durationMs: 3_600_000,
    basis: 'hourly' as const,
    inDrinkingWaterProtectionZone: false,
  };

  it('grades by multiple, duration, statutory group and protection zone', () => {
    expect(exceedanceLevel({ ...facts, multiple: 1.5 }, rules).level).toBe(3);
    expect(exceedanceLevel({ ...facts, multiple: 2 }, rules).level).toBe(2);
    expect(exceedanceLevel({ ...facts, multiple: 1.1, durationMs: 3 * 3_600_000 }, rules).level).toBe(2);
    expect(exceedanceLevel({ ...facts, multiple: 1.1, durationMs: 86_400_000, basis: 'daily' }, rules).level).toBe(3);
    expect(exceedanceLevel({ ...facts, pollutant: 'w20111', multiple: 3 }, rules).level).toBe(1);
    expect(exceedanceLevel({ ...facts, pollutant: 'w20123', multiple: 9.9 }, rules).level).toBe(2);
    expect(exceedanceLevel({ ...facts, multiple: 1.01, inDrinkingWaterProtectionZone: true }, rules).level).toBe(1);
  });
});

describe('limitLoad', () => {
  it('is value/max for an upper limit, min/value for a lower limit, distance from the centre for a range', () => {
    expect(limitLoad({ max: 100 }, 80)).toBe(0.8);
    expect(limitLoad({ min: 5 }, 4)).toBe(1.25);
    expect(limitLoad({ min: 6, max: 9 }, 9)).toBe(1);
    expect(limitLoad({ min: 6, max: 9 }, 8.7)).toBeCloseTo(0.8);
    expect(limitLoad({ min: 6, max: 9 }, 6)).toBe(1);
  });
});

describe('EvaluationRules', () => {
  it('parses {} to the documented defaults', () => {
    const r = EvaluationRules.parse({});
    expect(r.prewarning).toMatchObject({ fraction: 0.8, consecutive: 3 });
    expect(r.exceedance).toMatchObject({ level2Multiple: 2, level2AfterHours: 3, clearBelowFraction: 0.9 });
    expect(r.exceedance.clearAfterMinutes).toEqual({ hourly: 60, instant: 10, daily: 1440 });
    expect(r.exceedance.statutory.map((g) => g.multiple)).toEqual([3, 10]);
    expect(r.faults.flags.map((f) => `${f.flag}:${f.type}`)).toEqual(['D:device_fault', 'B:comm_loss', 'T:over_range']);
    expect(r.facility).toMatchObject({ raiseAfterMinutes: 30, clearAfterMinutes: 15, level: 2 });
  });

  it('refuses fractions outside (0, 1) and a level 5', () => {
    expect(EvaluationRules.safeParse({ prewarning: { fraction: 1.2 } }).success).toBe(false);
    expect(EvaluationRules.safeParse({ facility: { level: 5 } }).success).toBe(false);
  });
});
