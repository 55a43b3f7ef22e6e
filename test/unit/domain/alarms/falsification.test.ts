import { describe, expect, it } from 'vitest';
import {
  emptyFalsState,
  type FalsContext,
  FalsificationRules,
  type FalsState,
  type HourlySeries,
  identicalSeries,
  identicalSeriesSignal,
  isoMs,
  observeFalsification,
} from '#shared/domain/alarms/falsification.ts';
import type { AlarmSignal, AlarmSource, EquipmentMeter } from '#shared/domain/alarms/model.ts';
import type { Reading, ReadingKind, ReadingValues } from '#shared/domain/readings/model.ts';
import { DEVICES, ENTERPRISES, OUTLETS } from '#shared/domain/registry/qingyuan-seed.ts';

/**
 * Realistic series for each falsification rule, on the Qingyuan sample units (registry/qingyuan-seed.ts): the
 * town WWTP (key unit, COD 50 一级A), the bamboo factory (COD 100, GB 8978 一级), the pencil factory, the
 * mushroom factory's sterilisation boiler (SO2 50) and the central heating station's gas boiler (key unit).
 */

const MN = {
  wwtp: '33112600000000000000AB01',
  bamboo: '33112600000000000000BW01',
  pencil: '33112600000000000000PW01',
  fungiBoiler: '33112600000000000000FA01',
  gasBoiler: '33112600000000000000GA01',
  fungiWater: '33112600000000000000FW01',
};

/** The AlarmSource the evaluator would resolve from the registry for a seed device. */
function source(mn: string, over: Partial<AlarmSource> = {}): AlarmSource {
  const device = DEVICES.find((d) => d.mn === mn);
  const outlet = OUTLETS.find((o) => o.id === device?.outletId);
  const ent = ENTERPRISES.find((e) => e.id === device?.enterpriseId);
  if (!device || !outlet || !ent) throw new Error(`no seed device ${mn}`);
  return {
    mn,
    enterpriseId: ent.id,
    enterpriseName: ent.name,
    outletId: outlet.id,
    outletCode: outlet.code,
    outletName: outlet.name,
    medium: outlet.medium,
    townshipId: ent.townshipId,
    industry: ent.industry,
    regulator: ent.regulator,
    permitClass: ent.permitClass,
    inDrinkingWaterProtectionZone: outlet.inDrinkingWaterProtectionZone,
    limits: Object.fromEntries(outlet.limits.map((l) => [l.pollutant, l])),
    intervals: device.intervals,
    equipment: [],
    deviceStatus: 'active',
    ...over,
  };
}

const COOKER: EquipmentMeter = { code: 'SB1', role: 'production', name: '蒸煮锅' };
const wwtp = source(MN.wwtp);
const bamboo = source(MN.bamboo, { equipment: [COOKER] });
/** as if the pencil factory discharged straight into 松源溪 (GB 8978 表4 一级, COD 100) instead of the sewer */
const pencil = (() => {
  const s = source(MN.pencil);
  const cod = s.limits.w01018;
  if (!cod) throw new Error('seed pencil outlet has no COD limit');
  return { ...s, limits: { ...s.limits, w01018: { ...cod, max: 100, grade: '表4 一级' } } };
})();
const fungiBoiler = source(MN.fungiBoiler);
const gasBoiler = source(MN.gasBoiler);

const DEFAULTS = FalsificationRules.parse({});
const NO_EXCEEDANCES: FalsContext['exceedances'] = new Map();

/** 2026-03-10 08:00 Beijing time */
const T0 = Date.parse('2026-03-10T08:00:00+08:00');
const MIN = 60_000;
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Deterministic noise in [−amp, amp], rounded to the 2 decimals devices report. */
const noise = (i: number, amp: number, seed = 1) => {
  const x = Math.sin(i * 12.9898 + seed * 78.233) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2 * amp;
};
const r2 = (x: number) => Math.round(x * 100) / 100;

function reading(
  src: AlarmSource,
  pollutant: string,
  kind: ReadingKind,
  ms: number,
  values: ReadingValues,
  flag?: string,
): Reading {
  const subject = /^SB\d/.test(pollutant) ? 'facility' : /^i3/.test(pollutant) ? 'info' : 'pollutant';
  return {
    mn: src.mn,
    enterpriseId: src.enterpriseId,
    outletId: src.outletId,
    pollutant,
    subject,
    kind,
    dataTime: iso(ms),
    values,
    ...(subject === 'pollutant' ? { flag: flag ?? 'N' } : {}),
    source: 'mqtt',
    receivedAt: iso(ms + 3_000),
  };
}

/** One CN 2011 message: real-time values, all N unless `flags` says otherwise. */
function rt(src: AlarmSource, ms: number, values: Record<string, number>, flags: Record<string, string> = {}) {
  return Object.entries(values).map(([p, v]) => reading(src, p, 'realtime', ms, { rtd: v }, flags[p]));
}

/** One CN 2061 message: hourly averages. */
function hourly(src: AlarmSource, ms: number, values: Record<string, number>) {
  return Object.entries(values).map(([p, v]) => reading(src, p, 'hour', ms, { avg: v, min: v * 0.95, max: v * 1.05 }));
}

/** One CN 2021 message: facility status. */
const facility = (src: AlarmSource, ms: number, code: string, rs: number) => [
  reading(src, code, 'realtime', ms, { rs }),
];

const packetOf = (msg: readonly Reading[]) => ({
  receivedAt: msg[0]?.receivedAt ?? '',
  source: 'mqtt',
  rawSha256: `${(msg[0]?.dataTime ?? '').replace(/\D/g, '').padEnd(64, 'a')}`,
});

interface Fed {
  signal: AlarmSignal;
  /** index of the message that produced it */
  at: number;
}

/** Feeds messages in order, as the engine does, and collects the signals with the message index. */
function feed(
  src: AlarmSource,
  messages: readonly (readonly Reading[])[],
  opts: { rules?: FalsificationRules; ctx?: Partial<FalsContext>; state?: FalsState; roundTrip?: boolean } = {},
): { signals: Fed[]; state: FalsState } {
  let state = opts.state ?? emptyFalsState();
  const signals: Fed[] = [];
  messages.forEach((msg, i) => {
    const ctx: FalsContext = { exceedances: NO_EXCEEDANCES, ...opts.ctx, packet: packetOf(msg) };
    for (const s of observeFalsification(state, msg, src, opts.rules ?? DEFAULTS, ctx))
      signals.push({ signal: s, at: i });
    if (opts.roundTrip) state = JSON.parse(JSON.stringify(state)) as FalsState;
  });
  return { signals, state };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The WWTP's effluent, one message a minute: flow, pH, NH3-N vary; COD as given. */
const wwtpMinute = (i: number, cod: number) =>
  rt(wwtp, T0 + i * MIN, {
    w00000: r2(132 + noise(i, 6)),
    w01001: r2(7.1 + noise(i, 0.06, 2)),
    w01018: cod,
    w21003: r2(0.8 + noise(i, 0.15, 3)),
  });

describe('FalsificationRules', () => {
  it('gives every parameter a default', () => {
    expect(DEFAULTS.clearAfterHours).toBe(24);
    expect(DEFAULTS.flatValues).toMatchObject({ enabled: true, minValues: 30, minMinutes: 30, slowMinMinutes: 180 });
    expect(DEFAULTS.flatValues.slowPollutants).toContain('w01018');
    expect(DEFAULTS.nearLimit).toMatchObject({
      minHours: 12,
      windowHours: 24,
      fraction: 0.9,
      bandLow: 0.9,
      bandHigh: 1,
    });
    expect(DEFAULTS.drop).toMatchObject({ withinMinutes: 10, meanMinutes: 5, dropFraction: 0.6 });
    expect(DEFAULTS.flagsAfterHigh).toMatchObject({ flags: ['M', 'C', 'D'], withinMinutes: 30, minCount: 2 });
    expect(DEFAULTS.ambientO2).toMatchObject({ o2AtOrAbove: 20.5, minMinutes: 15 });
    expect(DEFAULTS.identicalSeries).toMatchObject({ minHours: 12, minDistinctValues: 3 });
  });

  it('refuses nonsense (a share above 1)', () => {
    expect(FalsificationRules.safeParse({ nearLimit: { fraction: 1.5 } }).success).toBe(false);
  });

  it('does not share default arrays between parses', () => {
    const a = FalsificationRules.parse({});
    a.flatValues.exempt.push('w01018');
    expect(FalsificationRules.parse({}).flatValues.exempt).not.toContain('w01018');
  });
});

describe('flat_values (数据恒定无自然波动)', () => {
  const stuck = range(201).map((i) => wwtpMinute(i, 38.2));

  it('fires when the WWTP COD analyser is stuck at 38.20 for 3 hours, at 一级 for a key unit', () => {
    const { signals } = feed(wwtp, stuck);
    expect(signals).toHaveLength(1);
    const [{ signal, at }] = signals as [Fed];
    expect(at).toBe(180);
    expect(signal).toMatchObject({
      key: 'suspected_falsification#w01018',
      type: 'suspected_falsification',
      pollutant: 'w01018',
      level: 1,
      rules: ['flat_values'],
      at: iso(T0 + 180 * MIN),
      value: 38.2,
      limit: 50,
    });
    expect(signal.reasonZh).toContain('化学需氧量');
    expect(signal.reasonZh).toContain('181个');
    expect(signal.reasonZh).toContain('38.2');
    expect(signal.evidence[0]).toMatchObject({ dataTime: iso(T0), value: 38.2, flag: 'N' });
    expect(signal.evidence.at(-1)?.packet?.rawSha256).toMatch(/^\d+a+$/);
  });

  it('does not fire on a batch COD analyser that holds each hourly measurement', () => {
    const cycle = [36.4, 38.9, 35.1, 41.2, 37.7, 39.5, 36.8];
    const { signals } = feed(
      wwtp,
      range(7 * 60).map((i) => wwtpMinute(i, cycle[Math.floor(i / 60)] as number)),
    );
    expect(signals).toEqual([]);
  });

  it('does not fire on flat zeros at night while the flow is zero and production stopped', () => {
    const night = Date.parse('2026-03-10T22:00:00+08:00');
    const messages = range(8 * 60).flatMap((i) => {
      const ms = night + i * MIN;
      const values = rt(bamboo, ms, { w00000: 0, w01001: 7.02, w01018: 0, w21003: 0, w01012: 0 });
      return i % 10 === 0 ? [values, facility(bamboo, ms, 'SB1', 0)] : [values];
    });
    expect(feed(bamboo, messages).signals).toEqual([]);
  });

  it('counts a message delivered twice once and survives a JSON round trip of its state', () => {
    const twice = stuck.flatMap((m) => [m, m]);
    const { signals } = feed(wwtp, twice, { roundTrip: true });
    expect(signals.map((s) => s.at)).toEqual([360]);
  });

  it('stays quiet when the rule is disabled', () => {
    const rules = FalsificationRules.parse({ flatValues: { enabled: false } });
    expect(feed(wwtp, stuck, { rules }).signals).toEqual([]);
  });

  it('clears after 24 hours of data without the pattern', () => {
    const after = range(24 * 60 + 5).map((i) => wwtpMinute(201 + i, r2(38.2 + noise(i, 3, 9))));
    const { signals } = feed(wwtp, [...stuck, ...after]);
    expect(signals.map((s) => s.signal.level)).toEqual([1, undefined]);
    const clear = signals[1] as Fed;
    // last seen at minute 200 (the final stuck value) → clear at minute 200 + 1440
    expect(clear.signal).toMatchObject({
      key: 'suspected_falsification#w01018',
      rules: ['flat_values'],
      at: iso(T0 + (200 + 1440) * MIN),
      evidence: [],
    });
    expect(clear.signal.reasonZh).toContain('24小时');
  });

  it('keeps the state of a busy device small', () => {
    const day = range(24 * 60).map((i) => wwtpMinute(i, r2(38 + noise(i, 4, 5))));
    const hours = range(24).map((h) => hourly(wwtp, T0 + h * HOUR, { w01018: 38, w21003: 0.8, w00000: 130 }));
    const { state } = feed(wwtp, [...day, ...hours]);
    expect(JSON.stringify(state).length).toBeLessThan(2_000);
  });
});

describe('near_limit (长期贴近限值)', () => {
  const hugging = [
    96.8, 97.5, 95.9, 98.7, 97.1, 96.2, 98.9, 97.7, 95.4, 96.9, 98.1, 97.3, 95.8, 98.4, 96.6, 97.9, 98.8, 96.1, 97.2,
    95.6,
  ];

  it("fires on a pencil factory's COD hugging 95–99 against a 100 limit, at 三级", () => {
    const { signals } = feed(
      pencil,
      hugging.map((v, h) => hourly(pencil, T0 + h * HOUR, { w01018: v })),
    );
    expect(signals).toHaveLength(1);
    const [{ signal, at }] = signals as [Fed];
    expect(at).toBe(11);
    expect(signal).toMatchObject({ level: 3, rules: ['near_limit'], pollutant: 'w01018', limit: 100, unit: 'mg/L' });
    expect(signal.reasonZh).toContain('12个');
    expect(signal.evidence).toHaveLength(12);
    expect(signal.evidence.every((e) => e.kind === 'hour' && e.value >= 95 && e.value < 100)).toBe(true);
    expect(signal.evidence[0]?.dataTime).toBe(iso(T0));
    expect(signal.evidence.at(-1)?.packet).toBeDefined();
  });

  it('does not fire on a real plant running near the limit with ordinary variance', () => {
    const noisy = [82.4, 91.7, 76.3, 95.2, 88.1, 97.4, 79.6, 93.3, 85.0, 98.2, 74.8, 90.5];
    const messages = range(48).map((h) => hourly(pencil, T0 + h * HOUR, { w01018: noisy[h % 12] as number }));
    expect(feed(pencil, messages).signals).toEqual([]);
  });

  it('counts only hourly values flagged N (11 valid hours, then the analyser in maintenance)', () => {
    const messages = hugging.map((v, h) => {
      const msg = hourly(pencil, T0 + h * HOUR, { w01018: v });
      return h >= 11 ? msg.map((r) => ({ ...r, flag: 'M' })) : msg;
    });
    expect(feed(pencil, messages).signals).toEqual([]);
  });
});

describe('drop_after_trigger (超标或检查后数据骤降)', () => {
  const opened = { w01018: { openedAt: iso(T0 - 60 * MIN) } };
  /** the bamboo factory's cooking wastewater: COD as given, flow 8 L/s */
  const bambooMinute = (i: number, cod: number) =>
    rt(bamboo, T0 + i * MIN, { w00000: r2(8 + noise(i, 0.6)), w01018: r2(cod) });

  const sudden = range(70).map((i) => {
    const cod = i < 40 ? 160 + noise(i, 5, 4) : i < 50 ? 160 - (140 * (i - 40)) / 10 : 20 + noise(i, 1, 4);
    return bambooMinute(i, cod);
  });

  it("fires when the bamboo factory's COD falls from 160 to 20 within 10 minutes after an exceedance", () => {
    const { signals } = feed(bamboo, sudden, { ctx: { exceedances: new Map(Object.entries(opened)) } });
    expect(signals).toHaveLength(1);
    const [{ signal, at }] = signals as [Fed];
    expect(at).toBeGreaterThan(40);
    expect(at).toBeLessThanOrEqual(55);
    expect(signal).toMatchObject({ level: 3, rules: ['drop_after_trigger'], pollutant: 'w01018' });
    expect(signal.reasonZh).toContain('超标');
    expect(signal.reasonZh).toContain('骤降');
    const means = signal.evidence.filter((e) => e.kind === 'realtime-1min-mean').map((e) => e.value);
    expect(Math.max(...means)).toBeGreaterThan(150);
    expect(Math.min(...means)).toBeLessThan(60);
  });

  it('also accepts the exceedance keyed by alarm key', () => {
    const exceedances = new Map([['exceedance#w01018', { openedAt: iso(T0 - 60 * MIN) }]]);
    expect(feed(bamboo, sudden, { ctx: { exceedances } }).signals).toHaveLength(1);
  });

  it('fires after an inspection notice too', () => {
    const { signals } = feed(bamboo, sudden, { ctx: { inspectionNotices: [iso(T0 + 35 * MIN)] } });
    expect(signals).toHaveLength(1);
    expect(signals[0]?.signal.reasonZh).toContain('检查通知');
  });

  it('does not fire on a genuine slow decline after a process fix', () => {
    const slow = range(200).map((i) => bambooMinute(i, Math.max(20, 160 - (140 * i) / 180) + noise(i, 3, 6)));
    expect(feed(bamboo, slow, { ctx: { exceedances: new Map(Object.entries(opened)) } }).signals).toEqual([]);
  });

  it('does not fire on the same drop with no exceedance and no inspection notice', () => {
    expect(feed(bamboo, sudden).signals).toEqual([]);
  });

  it('does not fire when the trigger is long over', () => {
    const old = new Map([['w01018', { openedAt: iso(T0 - 10 * HOUR), clearedAt: iso(T0 - 6 * HOUR) }]]);
    expect(feed(bamboo, sudden, { ctx: { exceedances: old } }).signals).toEqual([]);
  });
});

describe('flags_after_high (高值后集中出现维护/校准/故障标记)', () => {
  const STEP = 30_000;
  /** the mushroom factory's sterilisation boiler, one CEMS message every 30 s from 00:00 */
  const day0 = Date.parse('2026-03-10T00:00:00+08:00');
  const boilerMsg = (i: number, so2: number, flag = 'N') =>
    rt(
      fungiBoiler,
      day0 + i * STEP,
      {
        a00000: r2(3.2 + noise(i, 0.2)),
        a01012: r2(135 + noise(i, 4, 2)),
        a19001: r2(9.5 + noise(i, 0.4, 3)),
        a21026: r2(so2),
        a21002: r2(80 + noise(i, 8, 5)),
      },
      flag === 'N' ? {} : { a21026: flag, a21002: flag },
    );
  /** one episode: SO2 climbs over the limit for 5 minutes, then the analyser goes into calibration for 20 minutes */
  const episodeAt = (start: number) => (i: number) => {
    const k = i - start;
    if (k >= 0 && k < 10) return { so2: 56 + noise(i, 2, 7), flag: 'N' };
    if (k >= 14 && k < 54) return { so2: 0, flag: 'C' };
    return undefined;
  };
  const episodes = [8, 13, 19].map((h) => episodeAt(h * 120));
  const day = (eps: ((i: number) => { so2: number; flag: string } | undefined)[]) =>
    range(24 * 120).map((i) => {
      const e = eps.map((f) => f(i)).find((x) => x !== undefined);
      return boilerMsg(i, e ? e.so2 : 25 + noise(i, 3, 8), e?.flag);
    });

  it('fires when C flags follow SO2 exceedances three times in a day, from the second time', () => {
    const { signals } = feed(fungiBoiler, day(episodes));
    expect(signals).toHaveLength(1);
    const [{ signal, at }] = signals as [Fed];
    expect(at).toBe(13 * 120 + 14);
    expect(signal).toMatchObject({ key: 'suspected_falsification#a21026', level: 3, rules: ['flags_after_high'] });
    expect(signal.reasonZh).toContain('2次');
    expect(signal.evidence.filter((e) => e.flag === 'C')).toHaveLength(2);
    expect(signal.evidence.filter((e) => e.flag === 'N' && e.value > 50)).toHaveLength(2);
  });

  it('does not fire on a single coincidence in a day', () => {
    expect(feed(fungiBoiler, day(episodes.slice(0, 1))).signals).toEqual([]);
  });

  it('does not fire on calibration at its scheduled time with no exceedance around it', () => {
    const scheduled = (i: number) => {
      const k = i % (24 * 120);
      return k >= 3 * 120 && k < 3 * 120 + 40 ? { so2: 0, flag: 'C' } : undefined;
    };
    const days = range(3 * 24 * 120).map((i) => {
      const e = scheduled(i);
      return boilerMsg(i, e ? e.so2 : 22 + noise(i, 3, 8), e?.flag);
    });
    expect(feed(fungiBoiler, days).signals).toEqual([]);
  });
});

describe('zero_flow_changing (流量为零时浓度仍在变化)', () => {
  it('fires when COD keeps changing while the flow reads zero', () => {
    const messages = range(60).map((i) =>
      rt(bamboo, T0 + i * MIN, { w00000: 0, w01018: r2(75 + 15 * Math.sin(i / 3)) }),
    );
    const { signals } = feed(bamboo, messages);
    expect(signals).toHaveLength(1);
    const [{ signal, at }] = signals as [Fed];
    expect(at).toBe(30);
    expect(signal).toMatchObject({ key: 'suspected_falsification#w01018', level: 3, rules: ['zero_flow_changing'] });
    expect(signal.reasonZh).toContain('流量');
    expect(signal.evidence.some((e) => e.pollutant === 'w00000' && e.value === 0 && e.packet)).toBe(true);
  });

  it('does not fire while water flows', () => {
    const messages = range(60).map((i) =>
      rt(bamboo, T0 + i * MIN, { w00000: r2(8 + noise(i, 1)), w01018: r2(75 + 15 * Math.sin(i / 3)) }),
    );
    expect(feed(bamboo, messages).signals).toEqual([]);
  });
});

describe('ambient_o2 (烟气含氧量接近空气仍报浓度)', () => {
  const STEP = 30_000;
  const gas = (i: number, v: { o2: number; flow: number; temp: number; so2: number; nox: number; dust: number }) =>
    rt(gasBoiler, T0 + i * STEP, {
      a00000: r2(v.flow + noise(i, 0.3)),
      a01012: r2(v.temp + noise(i, 2, 2)),
      a19001: v.o2,
      a21026: r2(v.so2 + noise(i, 2, 3)),
      a21002: r2(v.nox + noise(i, 5, 4)),
      a34013: r2(v.dust + noise(i, v.dust / 8, 5)),
    });

  it('fires at 一级 when O2 reads 20.9% while flue-gas flow is high and SO2 reads 35', () => {
    const { signals } = feed(
      gasBoiler,
      range(40).map((i) => gas(i, { o2: 20.9, flow: 8.5, temp: 96, so2: 35, nox: 62, dust: 4.1 })),
    );
    expect(signals).toHaveLength(1);
    const [{ signal, at }] = signals as [Fed];
    expect(at).toBe(30);
    expect(signal).toMatchObject({
      key: 'suspected_falsification#a19001',
      level: 1,
      rules: ['ambient_o2'],
      value: 20.9,
    });
    expect(signal.reasonZh).toContain('20.9%');
    expect(signal.reasonZh).toContain('二氧化硫');
    expect(signal.evidence.map((e) => e.pollutant)).toEqual(['a19001', 'a19001', 'a00000', 'a01012', 'a21026']);
  });

  it('does not fire while the fan purges a stopped boiler (air in the stack, concentrations near zero)', () => {
    const purge = range(60).map((i) => gas(i, { o2: 20.9, flow: 6, temp: 90 - i * 0.6, so2: 2, nox: 5, dust: 0.4 }));
    expect(feed(gasBoiler, purge).signals).toEqual([]);
  });

  it('does not fire in normal operation', () => {
    const normal = range(60).map((i) =>
      gas(i, { o2: r2(9.4 + noise(i, 0.5, 6)), flow: 8.5, temp: 96, so2: 35, nox: 62, dust: 4.1 }),
    );
    expect(feed(gasBoiler, normal).signals).toEqual([]);
  });
});

describe('production_zero_flow (生产运行而排放流量为零)', () => {
  const run = (rs: number) =>
    range(150).flatMap((i) => {
      const ms = T0 + i * MIN;
      const flow = rt(bamboo, ms, { w00000: 0 });
      return i % 5 === 0 ? [facility(bamboo, ms, 'SB1', rs), flow] : [flow];
    });

  it('fires when the cooker runs while the discharge flow reads zero for 2 hours', () => {
    const { signals } = feed(bamboo, run(1));
    expect(signals).toHaveLength(1);
    const [{ signal }] = signals as [Fed];
    expect(signal).toMatchObject({ key: 'suspected_falsification#w00000', level: 3, rules: ['production_zero_flow'] });
    expect(signal.at).toBe(iso(T0 + 120 * MIN));
    expect(signal.reasonZh).toContain('蒸煮锅');
  });

  it('does not fire when the cooker is off', () => {
    expect(feed(bamboo, run(0)).signals).toEqual([]);
  });
});

describe('identicalSeries (不同设备小时数据雷同)', () => {
  const day0 = Date.parse('2026-03-09T00:00:00+08:00');
  const base = [
    62.4, 58.1, 55.3, 51.8, 49.6, 53.2, 66.7, 78.4, 85.1, 88.9, 84.3, 80.2, 76.5, 79.8, 83.6, 81.2, 74.9, 70.3, 68.8,
    65.1, 63.7, 60.2, 59.5, 61.0,
  ];
  const series = (mn: string, enterpriseId: string, values: number[], from = 0): HourlySeries => ({
    mn,
    enterpriseId,
    pollutant: 'w01018',
    points: values.map((value, h) => ({ dataTime: iso(day0 + (from + h) * HOUR), value })),
  });
  const fungiWater = source(MN.fungiWater);

  it('finds two MNs of different units reporting the same hourly COD for 14 hours', () => {
    const copied = base.map((v, h) => (h >= 5 && h < 19 ? v : r2(v + 3.7 + noise(h, 2))));
    const hits = identicalSeries(
      [series(MN.fungiWater, fungiWater.enterpriseId, base), series(MN.bamboo, bamboo.enterpriseId, copied)],
      DEFAULTS,
    );
    expect(hits).toHaveLength(1);
    const [hit] = hits as [(typeof hits)[number]];
    expect(hit).toMatchObject({
      rule: 'identical_series',
      pollutant: 'w01018',
      hours: 14,
      sameEnterprise: false,
      from: iso(day0 + 5 * HOUR),
      to: iso(day0 + 18 * HOUR),
    });
    expect(hit.devices.map((d) => d.mn)).toEqual([MN.bamboo, MN.fungiWater]);
    expect(hit.points).toHaveLength(14);
    expect(hit.reasonZh).toContain('连续14小时');

    const signal = identicalSeriesSignal(hit, bamboo);
    expect(signal).toMatchObject({
      key: 'suspected_falsification#w01018',
      level: 3,
      rules: ['identical_series'],
      at: hit.to,
      limit: 100,
    });
    expect(signal.reasonZh).toContain(MN.fungiWater);
    expect(identicalSeriesSignal(hit, wwtp).level).toBe(1);
  });

  it('does not report similar but not identical series', () => {
    const similar = base.map((v, h) => r2(v + 0.1 + Math.abs(noise(h, 0.5))));
    const hits = identicalSeries(
      [series(MN.fungiWater, fungiWater.enterpriseId, base), series(MN.bamboo, bamboo.enterpriseId, similar)],
      DEFAULTS,
    );
    expect(hits).toEqual([]);
  });

  it('does not report two stopped plants both reading zero, nor an identical run shorter than 12 hours', () => {
    const zeros = base.map(() => 0);
    const short = base.map((v, h) => (h < 10 ? v : r2(v + 1.3)));
    expect(
      identicalSeries(
        [
          series(MN.fungiWater, fungiWater.enterpriseId, zeros),
          series(MN.bamboo, bamboo.enterpriseId, zeros),
          series(MN.pencil, pencil.enterpriseId, base),
          series(MN.wwtp, wwtp.enterpriseId, short),
        ],
        DEFAULTS,
      ),
    ).toEqual([]);
  });

  it('does not compare a device with itself', () => {
    expect(
      identicalSeries(
        [series(MN.bamboo, bamboo.enterpriseId, base), series(MN.bamboo, bamboo.enterpriseId, base)],
        DEFAULTS,
      ),
    ).toEqual([]);
  });
});

describe('isoMs', () => {
  it('reads normalized ISO instants like Date.parse, and falls back for other forms', () => {
    for (const s of [
      '2026-03-10T00:15:30.250Z',
      '2024-02-29T23:59:59.999Z',
      '2000-01-01T00:00:00.000Z',
      '1999-12-31T12:00:00.000Z',
      '2100-03-01T08:00:00.000Z',
      '2026-03-10T08:00:00+08:00',
      '2026-03-10T08:00:00Z',
    ]) {
      expect(isoMs(s)).toBe(Date.parse(s));
    }
    expect(isoMs('2026-13-10T00:00:00.000Z')).toBeNaN();
    expect(isoMs('not a time')).toBeNaN();
  });
});
