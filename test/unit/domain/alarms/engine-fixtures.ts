import { type EvalState, emptyEvalState, evaluate } from '#shared/domain/alarms/engine.ts';
import { EvaluationRules } from '#shared/domain/alarms/evaluation-rules.ts';
import type { AlarmSource, PacketRef, Transition } from '#shared/domain/alarms/model.ts';
import { defaultRuleSet, type RuleSet } from '#shared/domain/alarms/rules.ts';
import type { Reading, ReadingKind, ReadingValues } from '#shared/domain/readings/model.ts';
import type { LimitValue } from '#shared/domain/registry/model.ts';
import { BAMBOO, BOILER } from '#shared/domain/registry/qingyuan-seed.ts';

/**
 * Sources and readings for the engine tests, after the Qingyuan seed (shared/domain/registry/qingyuan-seed.ts) and the
 * limits of docs/domain.md §4: GB 8978-1996 表4 一级 for the bamboo factory, GB 13271-2014 表2 gas boiler for the heating
 * station, GB 18918-2002 一级A (daily) for the WWTP, GB 8978 表1 first-class metals at a workshop outlet.
 */
export { BAMBOO, BOILER };

const lim = (
  pollutant: string,
  unit: string,
  standard: string,
  grade: string,
  basis: LimitValue['basis'],
  max?: number,
  min?: number,
): LimitValue => ({
  pollutant,
  unit,
  standard,
  grade,
  basis,
  ...(max !== undefined ? { max } : {}),
  ...(min !== undefined ? { min } : {}),
});

const gb8978 = (p: string, unit: string, max?: number, min?: number) =>
  lim(p, unit, 'GB 8978-1996', '表4 一级', 'hourly', max, min);
const gb13271 = (p: string, max: number) => lim(p, 'mg/m³', 'GB 13271-2014', '表2 新建燃气锅炉', 'hourly', max);

const base = {
  townshipId: 'huangtian',
  regulator: '庆元县经济商务科技局',
  deviceStatus: 'active' as const,
};

/** 庆元县示例竹木制品有限公司, 蒸煮废水总排口 DW001: COD 100, NH3-N 15, SS 70, pH 6–9 (hourly); cooker and treatment. */
export const bambooSource = (over: Partial<AlarmSource> = {}): AlarmSource => ({
  ...base,
  mn: '33112600000000000000BW01',
  enterpriseId: BAMBOO,
  enterpriseName: '庆元县示例竹木制品有限公司',
  outletId: `${BAMBOO}-DW001`,
  outletCode: 'DW001',
  outletName: '蒸煮废水总排口',
  medium: 'water',
  industry: 'bamboo_wood',
  permitClass: 'simplified',
  inDrinkingWaterProtectionZone: false,
  limits: {
    w01018: gb8978('w01018', 'mg/L', 100),
    w21003: gb8978('w21003', 'mg/L', 15),
    w01012: gb8978('w01012', 'mg/L', 70),
    w01001: gb8978('w01001', '无量纲', 9, 6),
  },
  intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
  equipment: [
    { code: 'i33200', role: 'production', name: '竹笋蒸煮锅炉电流', runningAbove: 10 },
    { code: 'SB1', role: 'treatment', name: '生化处理设施' },
    { code: 'i33201', role: 'treatment', name: '曝气风机电流', runningAbove: 5 },
  ],
  ...over,
});

/** 庆元县示例集中供热站, 燃气锅炉烟囱 DA001: particulate 20, SO2 50, NOx 200 mg/m³ (converted to 3.5 % O2). Key unit. */
export const boilerSource = (over: Partial<AlarmSource> = {}): AlarmSource => ({
  ...base,
  townshipId: 'songyuan',
  mn: '33112600000000000000GA01',
  enterpriseId: BOILER,
  enterpriseName: '庆元县示例集中供热站',
  outletId: `${BOILER}-DA001`,
  outletCode: 'DA001',
  outletName: '燃气锅炉烟囱',
  medium: 'air',
  industry: 'boiler_heating',
  permitClass: 'key',
  inDrinkingWaterProtectionZone: false,
  limits: {
    a34013: gb13271('a34013', 20),
    a21026: gb13271('a21026', 50),
    a21002: gb13271('a21002', 200),
  },
  intervals: { realtimeSeconds: 30, minuteMinutes: 1, hourly: true },
  equipment: [],
  ...over,
});

/** A surface-treatment workshop outlet (车间排口) with GB 8978 表1 / 表4 metals: Pb 1.0 mg/L = 1000 μg/L, Cd 100 μg/L, Cu 0.5, Mn 2.0 mg/L. */
export const metalsSource = (over: Partial<AlarmSource> = {}): AlarmSource =>
  bambooSource({
    outletCode: 'DW002',
    outletName: '表面处理车间排口',
    outletId: `${BAMBOO}-DW002`,
    limits: {
      w20120: lim('w20120', 'μg/L', 'GB 8978-1996', '表1 第一类污染物', 'hourly', 1000),
      w20115: lim('w20115', 'μg/L', 'GB 8978-1996', '表1 第一类污染物', 'hourly', 100),
      w20122: gb8978('w20122', 'mg/L', 0.5),
      w20124: gb8978('w20124', 'mg/L', 2),
      w01018: gb8978('w01018', 'mg/L', 100),
    },
    equipment: [],
    ...over,
  });

/** 示例城镇污水处理厂 尾水排放口: GB 18918 一级A daily averages (COD 50). */
export const wwtpSource = (over: Partial<AlarmSource> = {}): AlarmSource =>
  bambooSource({
    permitClass: 'key',
    industry: 'wastewater_treatment',
    limits: { w01018: lim('w01018', 'mg/L', 'GB 18918-2002', '一级A', 'daily', 50) },
    equipment: [],
    ...over,
  });

export const PACKET: PacketRef = {
  receivedAt: '2026-11-29T02:00:41.000Z',
  source: 'mqtt',
  rawSha256: 'a3f1c2d4e5b6978877665544332211009988776655443322110099887766554e',
};

export interface ReadingSpec {
  pollutant: string;
  kind?: ReadingKind;
  at: string;
  values: ReadingValues;
  flag?: string;
  subject?: Reading['subject'];
  /** HJ 212-2025 RF=1 */
  resent?: boolean;
  /** received this long after its period ended (default a minute) */
  receivedAfterMs?: number;
  notComputable?: Reading['notComputable'];
}

const PERIOD_MS: Record<ReadingKind, number> = {
  realtime: 0,
  minute: 600_000,
  hour: 3_600_000,
  day: 86_400_000,
  check: 0,
  furnace: 300_000,
};

/** A normalized reading as the ingest path produces it; received a minute after its period ends. */
export function reading(src: AlarmSource, spec: ReadingSpec): Reading {
  const kind = spec.kind ?? 'hour';
  const dataTime = new Date(spec.at).toISOString();
  const r: Reading = {
    mn: src.mn,
    enterpriseId: src.enterpriseId,
    outletId: src.outletId,
    pollutant: spec.pollutant,
    subject: spec.subject ?? 'pollutant',
    kind,
    dataTime,
    values: spec.values,
    source: 'mqtt',
    receivedAt: new Date(Date.parse(dataTime) + PERIOD_MS[kind] + (spec.receivedAfterMs ?? 60_000)).toISOString(),
  };
  if (spec.resent) r.resent = true;
  if (spec.notComputable) r.notComputable = spec.notComputable;
  const flag = spec.flag ?? ((spec.subject ?? 'pollutant') === 'pollutant' ? 'N' : undefined);
  if (flag !== undefined) r.flag = flag;
  return r;
}

export function rulesWith(evaluation: Record<string, unknown> = {}): RuleSet {
  return { ...defaultRuleSet(), evaluation: EvaluationRules.parse(evaluation) };
}

/** One device under test: its state, and every transition so far. */
export class Device {
  readonly state: EvalState = emptyEvalState();
  readonly transitions: Transition[] = [];
  private ids = 0;

  constructor(
    readonly source: AlarmSource,
    public rules: RuleSet = rulesWith(),
  ) {}

  /** Evaluates one packet's readings; returns that call's transitions. */
  feed(readings: readonly Reading[], packet?: PacketRef): Transition[] {
    const { transitions } = evaluate(this.state, readings, this.source, this.rules, {
      ...(packet ? { packet } : {}),
      newId: () => `alarm-${++this.ids}`,
    });
    this.transitions.push(...transitions);
    return transitions;
  }

  /** Hourly averages of one pollutant, one per hour from `start`. */
  hourly(pollutant: string, start: string, avgs: (number | { avg?: number; zsAvg?: number; flag?: string })[]) {
    const out: Transition[] = [];
    avgs.forEach((x, i) => {
      const at = new Date(Date.parse(start) + i * 3_600_000).toISOString();
      const spec =
        typeof x === 'number'
          ? { pollutant, at, values: { avg: x } }
          : {
              pollutant,
              at,
              values: {
                ...(x.avg !== undefined ? { avg: x.avg } : {}),
                ...(x.zsAvg !== undefined ? { zsAvg: x.zsAvg } : {}),
              },
              ...(x.flag ? { flag: x.flag } : {}),
            };
      out.push(...this.feed([reading(this.source, spec)]));
    });
    return out;
  }

  /** Real-time values of one pollutant at the source's real-time interval from `start`. */
  realtime(pollutant: string, start: string, values: (number | { rtd?: number; zsRtd?: number; flag?: string })[]) {
    const step = this.source.intervals.realtimeSeconds * 1000;
    const out: Transition[] = [];
    values.forEach((x, i) => {
      const at = new Date(Date.parse(start) + i * step).toISOString();
      const spec =
        typeof x === 'number'
          ? { pollutant, kind: 'realtime' as const, at, values: { rtd: x } }
          : {
              pollutant,
              kind: 'realtime' as const,
              at,
              values: {
                ...(x.rtd !== undefined ? { rtd: x.rtd } : {}),
                ...(x.zsRtd !== undefined ? { zsRtd: x.zsRtd } : {}),
              },
              ...(x.flag ? { flag: x.flag } : {}),
            };
      out.push(...this.feed([reading(this.source, spec)]));
    });
    return out;
  }
}

export const kinds = (ts: readonly Transition[]) =>
  ts.map((t) => `${t.kind}:${t.signal.key}${t.signal.level !== undefined ? `@${t.signal.level}` : ''}`);
