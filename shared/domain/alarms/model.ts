import type { LimitValue } from '#shared/domain/registry/model.ts';

/**
 * The alarm engine's vocabulary. Pure types: the evaluator (engine.ts), the falsification pack
 * (falsification.ts), the lifecycle (lifecycle.ts), notification (notify.ts) and the DynamoDB adapter all speak these.
 *
 * Levels follow the Chinese convention: 一级 is the most severe. Who hears about each level is in `LEVELS`.
 */
export const ALARM_TYPES = [
  'exceedance',
  'prewarning',
  'over_range',
  'device_fault',
  'comm_loss',
  'data_gap',
  'facility_abnormal',
  'suspected_falsification',
  'standard_check_failed',
  'furnace_low_temperature',
] as const;
export type AlarmType = (typeof ALARM_TYPES)[number];

export const ALARM_TYPE_LABELS: Record<AlarmType, string> = {
  exceedance: '超标',
  prewarning: '接近限值',
  over_range: '超量程',
  device_fault: '设备故障',
  comm_loss: '通讯异常',
  data_gap: '数据缺失',
  facility_abnormal: '治污设施异常',
  suspected_falsification: '数据造假嫌疑',
  standard_check_failed: '标样核查不合格',
  furnace_low_temperature: '炉膛温度过低',
};

export type AlarmLevel = 1 | 2 | 3 | 4;
export const ALARM_LEVELS: readonly AlarmLevel[] = [1, 2, 3, 4];

export interface LevelInfo {
  label: string;
  colour: string;
  meaning: string;
  /** who is told at once when an alarm opens at (or rises to) this level */
  audiences: readonly Audience[];
}

/** 一级 … 四级: what each level means and who hears about it (docs/alarms.md repeats this table). */
export const LEVELS: Record<AlarmLevel, LevelInfo> = {
  1: {
    label: '一级',
    colour: '红色',
    meaning:
      '涉嫌污染环境犯罪情形：重金属超标≥3倍/≥10倍（法释〔2023〕7号第一条第三、四项）、饮用水水源保护区内排放超标、重点排污单位自动监测数据造假或干扰监测设施',
    audiences: ['bureau', 'regulator', 'enterprise'],
  },
  2: {
    label: '二级',
    colour: '橙色',
    meaning: '严重超标：超过限值1倍以上，或持续超标达到设定小时数；治污设施在生产时停运',
    audiences: ['bureau', 'regulator', 'enterprise'],
  },
  3: {
    label: '三级',
    colour: '黄色',
    meaning:
      '一般超标；设备故障、通讯中断、数据缺失；超量程；标样核查不合格；焚烧炉炉膛温度低于限值；数据造假嫌疑线索（待研判）',
    audiences: ['bureau', 'enterprise'],
  },
  4: {
    label: '四级',
    colour: '蓝色',
    meaning: '接近限值预警；仅提醒企业自查，并在局值班台可见',
    audiences: ['enterprise'],
  },
};

/** The three audiences of alarm notification (the policy's 生态环境局、行业主管部门、企业负责人). */
export const AUDIENCES = ['bureau', 'regulator', 'enterprise'] as const;
export type Audience = (typeof AUDIENCES)[number];

/**
 * Everything the evaluator needs to know about one device, resolved from the registry (device → outlet → enterprise)
 * and cached per container.
 */
export interface AlarmSource {
  mn: string;
  enterpriseId: string;
  enterpriseName: string;
  outletId: string;
  outletCode: string;
  outletName: string;
  medium: 'water' | 'air';
  townshipId: string;
  industry: string;
  regulator: string;
  /** 重点管理 (key) units: interfering with their monitoring is a crime item (docs/domain.md §6.3 item 7) */
  permitClass: 'key' | 'simplified' | 'registration';
  inDrinkingWaterProtectionZone: boolean;
  /** permit limits of the outlet, by pollutant code */
  limits: Record<string, LimitValue>;
  intervals: { realtimeSeconds: number; minuteMinutes: number; hourly: boolean };
  /** production and treatment equipment whose status or current the device reports (treatment-facility monitoring) */
  equipment: EquipmentMeter[];
  deviceStatus: 'active' | 'maintenance' | 'retired';
  /** the enterprise's responsible person (企业负责人), the third audience of an alarm */
  responsiblePerson?: { name: string; phone: string };
}

/** One monitored piece of equipment: an HJ 212 facility (`SB1`, status from `-RS`) or a current meter (`i33200`). */
export interface EquipmentMeter {
  /** the reading's code: `SBx` (facility status) or an `i332xx` current / power code */
  code: string;
  role: 'production' | 'treatment';
  name: string;
  /** for meters: the value at or above which the equipment counts as running (A or kW) */
  runningAbove?: number;
}

/** A pointer to the raw message a reading came from, verifiable in the sealed archive (chain `d#<mn>`). */
export interface PacketRef {
  receivedAt: string;
  source: string;
  /** SHA-256 of the raw bytes, as in the archive record's `rawSha256` */
  rawSha256: string;
}

/** One reading value as evidence: what was measured, when, with which flag, from which packet. */
export interface EvidencePoint {
  pollutant: string;
  kind: string;
  dataTime: string;
  value: number;
  flag?: string;
  packet?: PacketRef;
}

/** `<type>#<pollutant or '-'>`: one active alarm per source (MN), type and pollutant. */
export const alarmKey = (type: AlarmType, pollutant: string | undefined): string => `${type}#${pollutant ?? '-'}`;

/**
 * What a rule concluded about one key after a batch of readings: raise (at a level) or clear. Rules emit a signal
 * only when their conclusion is definite; no signal means "no change".
 */
export interface AlarmSignal {
  key: string;
  type: AlarmType;
  pollutant?: string;
  /** undefined = the condition is over (hysteresis satisfied): clear */
  level?: AlarmLevel;
  /** DataTime of the reading that decided it */
  at: string;
  value?: number;
  limit?: number;
  unit?: string;
  /** value / limit */
  multiple?: number;
  /** rule ids that fired (falsification: which pattern) */
  rules: string[];
  /** a short reason in Chinese, for the SMS and the timeline */
  reasonZh: string;
  /** and in English, for logs and the API */
  reason: string;
  evidence: EvidencePoint[];
}

/** What the evaluator remembers of an alarm it opened for this device (the lifecycle owns the rest). */
export interface OpenRef {
  alarmId: string;
  level: AlarmLevel;
  openedAt: string;
}

/**
 * A retrospective record's window (补传超标): data judged long after its DataTime (HJ 212-2025 `RF=1` re-sent data, or
 * data far behind its series' watermark) that shows a violation. It never pages and never takes the key's slot of
 * the live alarm; duty officers review it (evaluation-rules.ts RetrospectiveRules, docs/alarms.md).
 */
export interface RetrospectiveWindow {
  /** DataTime of the first and the last violating value of the window (ISO) */
  from: string;
  to: string;
  /** the kind of data judged (hour, realtime …) */
  kind: string;
  /** how many violating values the window holds */
  count: number;
  /** the value furthest beyond the limit */
  peak: number;
  /** true: some of the data came in `RF=1` (re-sent) packets; false: late data without RF */
  resent: boolean;
}

/** A change the evaluator wants recorded: the adapter turns each into one transaction with the state write. */
export type Transition =
  | { kind: 'open'; alarmId: string; signal: AlarmSignal }
  | { kind: 'level'; alarmId: string; from: AlarmLevel; signal: AlarmSignal }
  | { kind: 'clear'; alarmId: string; signal: AlarmSignal }
  /** a retrospective record opened (`extend` false) or its window grown by adjacent late data (`extend` true) */
  | { kind: 'retro'; alarmId: string; signal: AlarmSignal; window: RetrospectiveWindow; extend: boolean };

export type AlarmState = 'active' | 'acknowledged' | 'cleared';
