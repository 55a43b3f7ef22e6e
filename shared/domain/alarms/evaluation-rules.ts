import * as z from 'zod';

/**
 * The evaluator's own rules (exceedance, pre-warning, instrument flags, treatment facility) as data. Every field has a
 * default, so `EvaluationRules.parse({})` is the rule set a fresh platform starts with; officials replace it through
 * the API as part of the versioned `RuleSet` (rules.ts). The permit limits themselves are not here: they come from
 * the registry per outlet and pollutant (`AlarmSource.limits`).
 *
 * How the numbers are used (engine.ts):
 *  - A limit is judged on the data its basis names: `hourly` on hourly averages (CN 2061 `avg`), `daily` on daily
 *    averages (CN 2031 `avg`), `instant` on real-time values (CN 2011 `rtd`). For flue-gas pollutants the converted
 *    (折算) value `zsAvg` / `zsRtd` is judged when the device sends it, since GB 13271 / GB 13223 limits are on the
 *    concentration converted to the reference oxygen content (docs/domain.md §1.11, §4.3).
 *  - Only values flagged N (instrument normal) count; any other flag neither raises nor clears (docs/domain.md §1.8).
 *  - "Load" is how close a value is to its limit: value / max for an upper limit, min / value for a lower limit, and
 *    |value − centre| / half-width for a range such as pH 6–9. Load > 1 is an exceedance; the fractions below are
 *    loads (so for pH 6–9 the pre-warning at 0.8 starts at pH ≥ 8.7 or ≤ 6.3).
 */

const fraction = (d: number) => z.number().gt(0).lt(1).default(d);
const minutes = (d: number, max = 10_080) => z.number().min(0).max(max).default(d);
const count = (d: number, max = 1_000) => z.number().int().min(1).max(max).default(d);
const level = (d: 1 | 2 | 3 | 4) => z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).default(d);

/** A group of the crime thresholds of 法释〔2023〕7号 Art.1 (docs/domain.md §6.3 items 3 and 4). */
export const StatutoryGroup = z.object({
  /** e.g. 第一条第（三）项 */
  item: z.string().min(1).max(40),
  /** the substances as the interpretation names them (some have no HJ 212 code, hence `codes` separately) */
  elements: z.array(z.string().min(1).max(10)).min(1).max(20),
  /** HJ 212-2017 codes of the listed substances that county devices report */
  codes: z.array(z.string().regex(/^[a-z]\d{5}$/)).max(40),
  /** judged as C ≥ multiple × L (docs/domain.md §6.3: the judicial reading of "超过标准三倍以上") */
  multiple: z.number().gt(1).max(1000),
});
export type StatutoryGroup = z.infer<typeof StatutoryGroup>;

/**
 * Pb, Hg, Cd, Cr (total, Cr6+), As ≥ 3×; Ni, Cu, Zn, Mn ≥ 10×. Tl, Sb, Ag, V and Co have no code in pollutants.ts yet:
 * they stay listed in `elements` so that the group reads like the law, and their codes can be added as data.
 */
export const DEFAULT_STATUTORY_GROUPS: StatutoryGroup[] = [
  {
    item: '第一条第（三）项',
    elements: ['铅', '汞', '镉', '铬', '砷', '铊', '锑'],
    codes: ['w20120', 'w20111', 'w20115', 'w20116', 'w20117', 'w20119'],
    multiple: 3,
  },
  {
    item: '第一条第（四）项',
    elements: ['镍', '铜', '锌', '银', '钒', '锰', '钴'],
    codes: ['w20121', 'w20122', 'w20123', 'w20124'],
    multiple: 10,
  },
];

export const ExceedanceRules = z.object({
  enabled: z.boolean().default(true),
  /** judge `zsAvg` / `zsRtd` (converted to reference O2) for air pollutants when the device sends it */
  useConvertedForFlueGas: z.boolean().default(true),
  /** C ≥ this × L is 二级 (超过限值1倍以上, LEVELS[2]) */
  level2Multiple: z.number().gt(1).max(1000).default(2),
  /** exceeding without a compliant valid value in between for this long is 二级 (hourly and instant bases) */
  level2AfterHours: z.number().gt(0).max(720).default(3),
  /** the same for daily-basis limits, in days: one daily average is already 24 h, so it is counted in days */
  level2AfterDays: z.number().int().min(1).max(365).default(2),
  /** crime thresholds → 一级 */
  statutory: z.array(StatutoryGroup).max(20).default(DEFAULT_STATUTORY_GROUPS),
  /** any exceedance at an outlet in a drinking-water source protection zone → 一级 (docs/domain.md §6.3 item 1) */
  drinkingWaterZoneLevel1: z.boolean().default(true),
  /**
   * while an exceedance stays open its level never drops (a 3× lead episode stays 一级 on the duty board even when the
   * next hour is 1.5×); false = the level follows the latest value and duration, down as well as up
   */
  keepHighestLevel: z.boolean().default(true),
  /** hysteresis: an open exceedance clears only after valid values stay below this load … */
  clearBelowFraction: fraction(0.9),
  /**
   * … for this long, counted from the start of the first such value to the end of the latest one: one compliant
   * hourly average (60), ten minutes of real-time values, one compliant day
   */
  clearAfterMinutes: z.object({ hourly: minutes(60), instant: minutes(10), daily: minutes(1440) }).prefault({}),
});
export type ExceedanceRules = z.infer<typeof ExceedanceRules>;

export const PrewarningRules = z.object({
  enabled: z.boolean().default(true),
  /** 接近限值: real-time valid values at or above this load … */
  fraction: fraction(0.8),
  /** … this many times in a row (flagged values are skipped, they neither count nor break the run) */
  consecutive: count(3),
  /** clears after real-time valid values stay below this load … */
  clearBelowFraction: fraction(0.7),
  /** … for this long */
  clearAfterMinutes: minutes(30),
});
export type PrewarningRules = z.infer<typeof PrewarningRules>;

export const FAULT_ALARM_TYPES = ['device_fault', 'comm_loss', 'over_range'] as const;

export const FaultFlagRule = z.object({
  /** HJ 212 data flag (docs/domain.md §1.8) */
  flag: z.string().regex(/^[A-Z]$/, 'a data flag is one capital letter (数据标记为一个大写字母)'),
  type: z.enum(FAULT_ALARM_TYPES),
  level: level(3),
});
export type FaultFlagRule = z.infer<typeof FaultFlagRule>;

export const FaultRules = z.object({
  enabled: z.boolean().default(true),
  /** D 仪器故障 → 设备故障, B 通讯异常 → 通讯异常, T 超测定上限 → 超量程 (all 三级, LEVELS[3]) */
  flags: z
    .array(FaultFlagRule)
    .max(8)
    .default([
      { flag: 'D', type: 'device_fault', level: 3 },
      { flag: 'B', type: 'comm_loss', level: 3 },
      { flag: 'T', type: 'over_range', level: 3 },
    ]),
  /** consecutive real-time / minute values with the flag before the alarm opens (one stray flag is not a fault) */
  raiseAfterValues: count(3),
  /** consecutive N values that clear it (other flags in between neither count nor reset) */
  clearAfterValues: count(5),
  /** the same for hourly and daily aggregates: a flagged hourly value already means a bad hour (HJ 212 App. C) */
  raiseAfterAggregates: count(1),
  clearAfterAggregates: count(1),
  /** a device the registry marks as under maintenance or retired raises no flag alarms (the bureau knows) */
  suppressWhenNotActive: z.boolean().default(true),
});
export type FaultRules = z.infer<typeof FaultRules>;

export const FacilityRules = z.object({
  enabled: z.boolean().default(true),
  /** production running while every treatment piece is off or idle for this long → 治污设施异常 */
  raiseAfterMinutes: minutes(30),
  /** clears when a treatment piece has been running again for this long (production stopping alone does not clear) */
  clearAfterMinutes: minutes(15),
  level: level(2),
  /** SBx-RS values that count as running (1 运行, 5 反吹) and as off (0 停运); 2–4 (校准/维护/报警) are unknown */
  runningStatuses: z.array(z.number().int().min(0).max(9)).max(10).default([1, 5]),
  offStatuses: z.array(z.number().int().min(0).max(9)).max(10).default([0]),
  /** a status older than this (relative to the newest equipment reading) is unknown */
  staleAfterMinutes: minutes(15, 1440),
});
export type FacilityRules = z.infer<typeof FacilityRules>;

/**
 * 补传超标 (retrospective exceedances): data judged long after its DataTime never pages as a fresh alarm, but an
 * exceedance found in it is recorded (a retrospective, non-paging alarm record duty officers review), so a device
 * cannot escape an alarm by cutting its link during an exceedance and re-sending later. Judged retrospectively: every
 * reading of an HJ 212-2025 `RF=1` (re-sent) packet, and any other reading dated more than `lateAfterMinutes` before
 * the newest DataTime already evaluated for its series (a 2017 device's backlog after an outage). Later readings that
 * are only a little behind (reordered delivery) are skipped as before.
 */
export const RetrospectiveRules = z.object({
  enabled: z.boolean().default(true),
  lateAfterMinutes: minutes(60),
});
export type RetrospectiveRules = z.infer<typeof RetrospectiveRules>;

/**
 * 标样核查 (HJ 212-2025 CN 2062, automatic standard-sample checks): a check whose ResultType is 0 (fail) opens a
 * `standard_check_failed` alarm for the pollutant (a device-quality alarm, like a device fault); the next passed check
 * of that pollutant clears it. Passed checks are stored as readings (kind `check`) and raise nothing.
 */
export const StandardCheckRules = z.object({
  enabled: z.boolean().default(true),
  level: level(3),
});
export type StandardCheckRules = z.infer<typeof StandardCheckRules>;

/**
 * 炉膛温度 (HJ 212-2025 CN 2111, furnace temperature 5-minute averages `a01901-Avg`): at a unit registered as a waste
 * incinerator (enterprise `industry` in `industries`), a 5-minute average below `minCelsius` opens a
 * `furnace_low_temperature` alarm after `raiseAfterValues` such averages in a row; `clearAfterValues` averages at or
 * above it clear it. 850 °C: GB 18485-2014 (生活垃圾焚烧污染控制标准) requires the furnace at ≥ 850 °C, and the MEE's
 * 《生活垃圾焚烧发电厂自动监测数据应用管理规定》 (生态环境部令第10号) judges the 5-minute average against it
 * (docs/decisions.md). Values flagged other than N (or without a flag) are judged; flagged ones are not.
 */
export const FurnaceRules = z.object({
  enabled: z.boolean().default(true),
  minCelsius: z.number().min(0).max(2000).default(850),
  codes: z
    .array(z.string().regex(/^a\d{5}$/, 'an HJ 212 air code such as a01901 (须为废气因子编码，如炉膛温度 a01901)'))
    .min(1)
    .max(10)
    .default(['a01901']),
  industries: z
    .array(
      z
        .string()
        .regex(
          /^[a-z_]{2,40}$/,
          'a registry industry id such as waste_incineration (须为名录行业编号，如生活垃圾焚烧 waste_incineration)',
        ),
    )
    .max(10)
    .default(['waste_incineration']),
  raiseAfterValues: count(1, 288),
  clearAfterValues: count(3, 288),
  level: level(3),
});
export type FurnaceRules = z.infer<typeof FurnaceRules>;

export const EvaluationRules = z.object({
  exceedance: ExceedanceRules.prefault({}),
  prewarning: PrewarningRules.prefault({}),
  faults: FaultRules.prefault({}),
  facility: FacilityRules.prefault({}),
  retrospective: RetrospectiveRules.prefault({}),
  standardCheck: StandardCheckRules.prefault({}),
  furnace: FurnaceRules.prefault({}),
  /**
   * HJ 212-2017 requires a Flag with every value; a pollutant value without one does not count unless this is set
   * (for old devices that never send flags)
   */
  missingFlagIsNormal: z.boolean().default(false),
  /** how long a cleared exceedance stays in `recentExceedances` (given to the falsification rules) */
  recentExceedanceHours: z.number().min(0).max(720).default(24),
});
export type EvaluationRules = z.infer<typeof EvaluationRules>;
