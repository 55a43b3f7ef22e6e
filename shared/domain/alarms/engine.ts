import { pollutant as pollutantInfo } from '#shared/domain/pollutants.ts';
import type { Reading, ReadingKind } from '#shared/domain/readings/model.ts';
import type { LimitValue } from '#shared/domain/registry/model.ts';
import type { EvaluationRules, ExceedanceRules, FaultFlagRule, StatutoryGroup } from './evaluation-rules.ts';
import { emptyFalsState, type FalsState, observeFalsification } from './falsification.ts';
import { arrivalClears, gapKey, type LastSeen } from './gaps.ts';
import {
  type AlarmLevel,
  type AlarmSignal,
  type AlarmSource,
  alarmKey,
  type EquipmentMeter,
  type EvidencePoint,
  type OpenRef,
  type PacketRef,
  type RetrospectiveWindow,
  type Transition,
} from './model.ts';
import type { RuleSet } from './rules.ts';

/**
 * The pure alarm evaluator: one device's normalized readings in, alarm transitions out, its state mutated in
 * place. The adapter keeps the state as one DynamoDB item per device and writes it (with the alarm items, when there
 * are transitions) after each call.
 *
 * Per reading:
 *  1. Watermark. Each series (`<pollutant>#<kind>` in this per-device state) remembers the newest DataTime it
 *     evaluated; a reading at or before it is skipped (a redelivered packet, late or out-of-order data), so a reading
 *     delivered three times is evaluated once and late data never reopens a cleared alarm. A DataTime more than
 *     `MAX_FUTURE_MS` after the reading's receivedAt (a device with a wrong clock) is skipped too: it would otherwise
 *     freeze the series' watermark in the future.
 *  2. Flags D / B / T (and any flag rule) count towards the instrument alarms (device_fault, comm_loss, over_range).
 *  3. Only values flagged N count towards exceedance and pre-warning; any other flag neither raises nor clears them.
 *     A limit is judged on the data its basis names (hourly → hourly `avg`, daily → daily `avg`, instant → real-time
 *     `rtd`), using the converted value (`zsAvg` / `zsRtd`) of an air pollutant when the device sends one: flue-gas
 *     limits (GB 13271, GB 13223) are on the concentration converted to reference O2. Pre-warnings use real-time data.
 *  4. Facility status (SBx-RS), current / power meters (i332xx), HJ 212-2025 electricity meters (ST=44 d2xxxx /
 *     d3xxxx) and production conditions (ST=45 pxxxxx) of the device's registered equipment update the equipment
 *     picture; after the batch the treatment-facility rule looks at it.
 *  5. HJ 212-2025 standard-sample checks (CN 2062, kind `check`) open / clear `standard_check_failed`; furnace
 *     temperature 5-minute averages (CN 2111, kind `furnace`) at a registered incinerator open / clear
 *     `furnace_low_temperature` (evaluation-rules.ts StandardCheckRules, FurnaceRules).
 *  6. Retrospective data: a reading of an `RF=1` (re-sent) packet, or one dated more than
 *     `retrospective.lateAfterMinutes` before its series' watermark, never touches the live state (watermark, streaks,
 *     open alarms, falsification); when it violates a limit (or the furnace minimum) and no live alarm covered that
 *     time, it becomes or grows a retrospective record (补传超标): a `retro` transition, never paged. Each series keeps
 *     the windows it recorded (`state.retro`), so data re-sent again inside a window records nothing (idempotent) and
 *     data adjacent to one (within 1.5 periods) grows it.
 * After the batch: arrivals clear open data-gap alarms (gaps.ts), and the falsification rules (falsification.ts) see
 * the fresh readings. Every rule's signals are reconciled against `state.open` at once, in order: open when the key is
 * not open, level change when the level differs (up or down), clear only for an open key.
 *
 * Hot path (bench/alarm-eval.bench.ts): nothing is allocated per reading unless a rule fires or a series is new.
 * DataTimes are parsed once per distinct string (a packet's readings share one) by a digit reader, and per-source
 * lookups are compiled once per source and rules object and cached (a WeakMap keyed by the source); treat rule sets
 * and sources as immutable values (the container caches replace them, never edit them in place). Readings should be
 * built with one fixed shape (one object literal, every field in the same order): readings made by object spreads get
 * a hidden class each, and every property read on them becomes an inline-cache miss (≈3–5× slower here).
 */

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** readings dated more than this after their receipt are refused (device clock wrong) */
export const MAX_FUTURE_MS = 10 * MIN;
/** at most this many series per device (the registry allows 40 pollutants × 4 kinds, plus equipment) */
export const MAX_SERIES = 200;

/** What the evaluator remembers of one series. Numbers keep the stored item small; times are epoch milliseconds. */
export interface SeriesState {
  /** watermark: DataTime (ms) of the newest evaluated reading */
  w: number;
  /** exceedance streak: consecutive valid values above the limit, DataTime (ms) and value of the first (0 = none) */
  en: number;
  es: number;
  ev: number;
  /** exceedance clear run: DataTime (ms) of the first valid value below the clear fraction since the last one above */
  ec: number;
  /** pre-warning: consecutive valid real-time values at or above the fraction; clear-run start (ms) */
  pn: number;
  pc: number;
  /** instrument flags: the flags raised on this series (e.g. 'D'), the flag being counted, its run, the N run since */
  fo: string;
  ff: string;
  fn: number;
  fk: number;
}

/** One piece of equipment's latest state: DataTime (ms), the value seen, and running (1) / off or idle (0) / unknown (-1). */
export interface EquipmentState {
  t: number;
  v: number;
  s: 1 | 0 | -1;
}

export interface FacilityState {
  eq: Record<string, EquipmentState>;
  /** since when (ms) production has been running while all treatment is down; 0 = not now */
  since: number;
  /** since when (ms) a treatment piece has been running again; 0 = not now */
  okSince: number;
}

/** An exceedance open now, or cleared within `recentExceedanceHours` (ISO times), by pollutant. */
export interface RecentExceedance {
  openedAt: string;
  clearedAt?: string;
}

/**
 * A retrospective record's window as the evaluator remembers it: DataTime (ms) of its first and last violating value,
 * the record's alarm id ('' once officials closed it: the window still covers its times, but no longer grows), the
 * number of violating values, and the value furthest beyond the limit.
 */
export type RetroWindowState = [from: number, to: number, alarmId: string, count: number, peak: number];
/** windows remembered per `<type>#<code>#<kind>` (the oldest are dropped first) */
export const MAX_RETRO_WINDOWS = 24;

/** One device's evaluator state: JSON-serializable, a few KB (see bench/alarm-eval.bench.ts). */
export interface EvalState {
  v: 1;
  series: Record<string, SeriesState>;
  /** alarms this evaluator opened and that are still open, by alarm key (`<type>#<pollutant>`) */
  open: Record<string, OpenRef>;
  recentExceedances: Record<string, RecentExceedance>;
  facility: FacilityState;
  fals: FalsState;
  /** retrospective records' windows by `<type>#<code>#<kind>` (absent until the first one) */
  retro?: Record<string, RetroWindowState[]>;
  /**
   * alarm ids officials cleared by hand (lifecycle.ts, MANUAL CLEAR): the adapter appends them here, the next
   * evaluation drops them from `open` first, so a condition that persists raises a fresh alarm
   */
  forget?: string[];
}

export function emptyEvalState(): EvalState {
  return {
    v: 1,
    series: {},
    open: {},
    recentExceedances: {},
    facility: { eq: {}, since: 0, okSince: 0 },
    fals: emptyFalsState(),
  };
}

const newSeries = (): SeriesState => ({
  w: 0,
  en: 0,
  es: 0,
  ev: 0,
  ec: 0,
  pn: 0,
  pc: 0,
  fo: '',
  ff: '',
  fn: 0,
  fk: 0,
});

// ───────────────────────────── levels ─────────────────────────────

export type LimitBasis = 'hourly' | 'daily' | 'instant';

export interface ExceedanceFacts {
  pollutant: string;
  /** value / limit, for an upper limit; undefined for lower limits and ranges (pH), where multiples do not apply */
  multiple?: number;
  /** from the start of the first value of the uninterrupted exceedance to the end of the latest one */
  durationMs: number;
  basis: LimitBasis;
  inDrinkingWaterProtectionZone: boolean;
}

/** The statutory (crime-threshold) group a pollutant belongs to, if any. */
export function statutoryGroupOf(code: string, rules: ExceedanceRules): StatutoryGroup | undefined {
  return rules.statutory.find((g) => g.codes.includes(code));
}

/**
 * The level of an exceedance: 三级 by default; 二级 at `level2Multiple` × the limit or after `level2AfterHours`
 * (daily basis: `level2AfterDays`) of uninterrupted exceedance; 一级 at a statutory multiple of a listed heavy metal
 * (C ≥ k × L) or at an outlet in a drinking-water source protection zone. Returns the ids of the rules that decided.
 */
export function exceedanceLevel(f: ExceedanceFacts, rules: ExceedanceRules): { level: AlarmLevel; rules: string[] } {
  const ids = ['exceedance'];
  let level: AlarmLevel = 3;
  if (f.multiple !== undefined && f.multiple >= rules.level2Multiple) {
    level = 2;
    ids.push('exceedance.multiple');
  }
  const longMs = f.basis === 'daily' ? rules.level2AfterDays * DAY : rules.level2AfterHours * HOUR;
  if (f.durationMs >= longMs) {
    level = 2;
    ids.push('exceedance.duration');
  }
  const group = statutoryGroupOf(f.pollutant, rules);
  if (group && f.multiple !== undefined && f.multiple >= group.multiple) {
    level = 1;
    ids.push('exceedance.statutory');
  }
  if (rules.drinkingWaterZoneLevel1 && f.inDrinkingWaterProtectionZone) {
    level = 1;
    ids.push('exceedance.drinking-water-zone');
  }
  return { level, rules: ids };
}

// ───────────────────────────── limits ─────────────────────────────

/** 0 upper limit, 1 lower limit, 2 range */
type Shape = 0 | 1 | 2;

interface LimitPlan {
  value: LimitValue;
  shape: Shape;
  max: number;
  min: number;
  centre: number;
  half: number;
  basis: LimitBasis;
  judgeKind: ReadingKind;
  /** judge the converted value when present */
  flue: boolean;
  exKey: string;
  pwKey: string;
  clearAfterMs: number;
}

/**
 * How close a value is to its limit: value / max for an upper limit, min / value for a lower one, |v − centre| /
 * half-width for a range (pH 6–9). Above 1 is an exceedance.
 */
export function limitLoad(limit: Pick<LimitValue, 'max' | 'min'>, value: number): number {
  const { max, min } = limit;
  if (max !== undefined && min !== undefined) return Math.abs(value - (max + min) / 2) / ((max - min) / 2);
  if (max !== undefined) return value / max;
  if (min !== undefined) return value > 0 ? min / value : Number.POSITIVE_INFINITY;
  return 0;
}

function load(lp: LimitPlan, v: number): number {
  if (lp.shape === 0) return v / lp.max;
  if (lp.shape === 2) return Math.abs(v - lp.centre) / lp.half;
  return v > 0 ? lp.min / v : Number.POSITIVE_INFINITY;
}

// ───────────────────────────── compiled plan ─────────────────────────────

const KINDS: readonly ReadingKind[] = ['realtime', 'minute', 'hour', 'day', 'check', 'furnace'];
/** the first index past the kinds of monitoring data proper (checks and furnace averages follow) */
const DATA_KIND_COUNT = 4;
const CHECK = 4;
const FURNACE = 5;
const JUDGE_KIND: Record<LimitBasis, ReadingKind> = { hourly: 'hour', daily: 'day', instant: 'realtime' };

/** The index of a kind in KINDS (-1: not a kind), from its first letter: no string hashing on the hot path. */
function kindIndex(kind: string): number {
  switch (kind.charCodeAt(0)) {
    case 114: // r
      return kind === 'realtime' ? 0 : -1;
    case 109: // m
      return kind === 'minute' ? 1 : -1;
    case 104: // h
      return kind === 'hour' ? 2 : -1;
    case 100: // d
      return kind === 'day' ? 3 : -1;
    case 99: // c
      return kind === 'check' ? CHECK : -1;
    case 102: // f
      return kind === 'furnace' ? FURNACE : -1;
    default:
      return -1;
  }
}

interface PollutantPlan {
  code: string;
  /** series keys by kind index */
  keys: string[];
  limit: LimitPlan | undefined;
  equipment: EquipmentMeter | undefined;
  /**
   * the series states by kind index, remembered for the `series` record they belong to (`owner`): a plan is per
   * device, so in steady state the evaluator reaches a series without a keyed lookup; another record (a state read
   * back from the store) simply refills it
   */
  owner: Record<string, SeriesState> | undefined;
  states: (SeriesState | undefined)[];
}

interface Plan {
  er: EvaluationRules;
  byCode: Map<string, PollutantPlan>;
  periodMs: number[];
  faultByFlag: Record<string, FaultFlagRule>;
  production: EquipmentMeter[];
  treatment: EquipmentMeter[];
  source: AlarmSource;
}

/** compiled per source, rebuilt when the rules object changes */
const plans = new WeakMap<AlarmSource, Plan>();
/** cap on the codes a plan remembers (unknown codes beyond it get a throw-away plan) */
const MAX_PLAN_CODES = 500;

function planFor(er: EvaluationRules, source: AlarmSource): Plan {
  const known = plans.get(source);
  if (known !== undefined && known.er === er) return known;
  const faultByFlag: Record<string, FaultFlagRule> = {};
  for (const f of er.faults.flags) faultByFlag[f.flag] = f;
  const plan: Plan = {
    er,
    source,
    byCode: new Map(),
    periodMs: [source.intervals.realtimeSeconds * 1000, source.intervals.minuteMinutes * MIN, HOUR, DAY, 0, 5 * MIN],
    faultByFlag,
    production: source.equipment.filter((e) => e.role === 'production'),
    treatment: source.equipment.filter((e) => e.role === 'treatment'),
  };
  plans.set(source, plan);
  return plan;
}

function pollutantPlan(plan: Plan, code: string): PollutantPlan {
  const known = plan.byCode.get(code);
  if (known !== undefined) return known;
  const lv = plan.source.limits[code];
  const pp: PollutantPlan = {
    code,
    keys: KINDS.map((k) => `${code}#${k}`),
    limit: lv && (lv.max !== undefined || lv.min !== undefined) ? limitPlan(plan, code, lv) : undefined,
    equipment: plan.source.equipment.find((e) => e.code === code),
    owner: undefined,
    states: [undefined, undefined, undefined, undefined, undefined, undefined],
  };
  if (plan.byCode.size < MAX_PLAN_CODES) plan.byCode.set(code, pp);
  return pp;
}

function limitPlan(plan: Plan, code: string, lv: LimitValue): LimitPlan {
  const ex = plan.er.exceedance;
  const basis: LimitBasis = lv.basis ?? 'hourly';
  const max = lv.max ?? 0;
  const min = lv.min ?? 0;
  const shape: Shape = lv.max !== undefined && lv.min !== undefined ? 2 : lv.max !== undefined ? 0 : 1;
  return {
    value: lv,
    shape,
    max,
    min,
    centre: (max + min) / 2,
    half: (max - min) / 2,
    basis,
    judgeKind: JUDGE_KIND[basis],
    flue: ex.useConvertedForFlueGas && pollutantInfo(code)?.medium === 'air',
    exKey: alarmKey('exceedance', code),
    pwKey: alarmKey('prewarning', code),
    clearAfterMs: ex.clearAfterMinutes[basis] * MIN,
  };
}

// ───────────────────────────── time ─────────────────────────────

/**
 * Epoch ms of an ISO instant. Readings carry `toISOString()` forms (`2026-11-29T08:00:00.000Z`, or without the
 * milliseconds), which are read digit by digit here (~20× faster than Date.parse); anything else, or a day past the
 * 28th (month lengths), goes to Date.parse.
 */
export function isoMs(s: string): number {
  const n = s.length;
  if ((n !== 24 && n !== 20) || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(10) !== 84 /* T */) {
    return Date.parse(s);
  }
  const y = d4(s, 0);
  const mo = d2(s, 5);
  const d = d2(s, 8);
  const h = d2(s, 11);
  const mi = d2(s, 14);
  const sec = d2(s, 17);
  const ms = n === 24 ? d2(s, 20) * 10 + digit(s, 22) : 0;
  if (
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > 28 ||
    h > 23 ||
    mi > 59 ||
    sec > 59 ||
    ms < 0 ||
    (n === 24 && s.charCodeAt(19) !== 46) /* . */ ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  ) {
    return Date.parse(s);
  }
  // days from 1970-01-01 to y-mo-d (proleptic Gregorian; H. Hinnant's days_from_civil)
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146_097 + doe - 719_468;
  return days * DAY + h * HOUR + mi * MIN + sec * 1000 + ms;
}

/** a digit's value, or a large negative number for anything else (so that a bad field fails the range checks) */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -100_000;
}
const d2 = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);
const d4 = (s: string, i: number): number => d2(s, i) * 100 + d2(s, i + 2);

// One-entry caches: a packet's readings share their DataTime and receivedAt strings.
let lastData = '';
let lastDataMs = Number.NaN;
let lastRecv = '';
let lastRecvMs = Number.NaN;

function dataMs(iso: string): number {
  if (iso !== lastData) {
    lastData = iso;
    lastDataMs = isoMs(iso);
  }
  return lastDataMs;
}

function recvMs(iso: string): number {
  if (iso !== lastRecv) {
    lastRecv = iso;
    lastRecvMs = isoMs(iso);
  }
  return lastRecvMs;
}

const iso = (ms: number): string => new Date(ms).toISOString();

// ───────────────────────────── evaluation ─────────────────────────────

export interface EvaluateOptions {
  /** the raw message the readings came from (evidence points carry it) */
  packet?: PacketRef;
  newId: () => string;
  /** ISO times a notice of inspection was served to this unit (passed to the falsification rules) */
  inspectionNotices?: readonly string[];
}

/** The working context of one call. */
interface Run {
  state: EvalState;
  plan: Plan;
  er: EvaluationRules;
  packet: PacketRef | undefined;
  newId: () => string;
  /** created at the first transition: most calls have none */
  transitions: Transition[] | undefined;
  seriesCount: number;
  /** false for a device under maintenance or retired (suppressWhenNotActive): flag alarms still clear, none opens */
  raiseFaults: boolean;
  facilityAt: number;
}

/**
 * Evaluates one batch of a device's readings (normally one packet's). Mutates `state`; returns the transitions to
 * record (read-only: the frequent "no transitions" answer is a shared frozen object). Readings are taken in the given
 * order (pass them in arrival order).
 */
export function evaluate(
  state: EvalState,
  readings: readonly Reading[],
  source: AlarmSource,
  rules: RuleSet,
  opts: EvaluateOptions,
): { transitions: Transition[] } {
  const er = rules.evaluation;
  const run: Run = {
    state,
    plan: planFor(er, source),
    er,
    packet: opts.packet,
    newId: opts.newId,
    transitions: undefined,
    seriesCount: -1,
    raiseFaults: source.deviceStatus === 'active' || !er.faults.suppressWhenNotActive,
    facilityAt: 0,
  };
  if (state.forget !== undefined) forgetNow(state);

  let fresh: Reading[] | undefined;
  let kinds = 0;
  let newest = 0;
  let newestIso = '';
  const series = state.series;
  const n = readings.length;
  for (let i = 0; i < n; i++) {
    const r = readings[i] as Reading;
    const t = dataMs(r.dataTime);
    const pp = pollutantPlan(run.plan, r.pollutant);
    const ki = kindIndex(r.kind);
    let s: SeriesState | undefined;
    if (ki >= 0) {
      if (pp.owner !== series) {
        pp.owner = series;
        pp.states = [undefined, undefined, undefined, undefined, undefined, undefined];
      }
      s = pp.states[ki];
      if (s === undefined) {
        const key = pp.keys[ki] as string;
        s = series[key] ?? (t > 0 ? addSeries(run, key) : undefined);
        pp.states[ki] = s;
      }
    }
    if (s === undefined || !(t > s.w) || r.resent === true || t > recvMs(r.receivedAt) + MAX_FUTURE_MS) {
      // skipped: duplicate, late, re-sent, future-dated, not a kind, or beyond the series cap; re-sent data and data
      // far behind the watermark are judged retrospectively (a record, never a page)
      if (
        s !== undefined &&
        er.retrospective.enabled &&
        (r.resent === true || s.w - t > er.retrospective.lateAfterMinutes * MIN) &&
        t <= recvMs(r.receivedAt) + MAX_FUTURE_MS
      ) {
        retrospective(run, r, t, pp, ki);
      }
      if (fresh === undefined) fresh = readings.slice(0, i);
      continue;
    }
    s.w = t;
    if (fresh !== undefined) fresh.push(r);
    if (ki < DATA_KIND_COUNT) kinds |= 1 << ki;
    if (t > newest) {
      newest = t;
      newestIso = r.dataTime;
    }
    if (ki === CHECK) checkRule(run, r, pp);
    else if (ki === FURNACE) furnaceRule(run, r, t, s, pp);
    else if (r.subject === 'pollutant') onPollutant(run, r, t, s, pp, ki);
    else if (pp.equipment !== undefined) onEquipment(run, r, t, pp.equipment);
  }
  const batch = fresh ?? readings;
  if (batch.length === 0) return result(run);

  if (run.facilityAt > 0) facilityRule(run, run.facilityAt);
  if (kinds !== 0) gapArrivals(run, kinds, newestIso);
  const fals = observeFalsification(state.fals, batch, source, rules.falsification, {
    packet: opts.packet,
    exceedances: recentExceedances(run, newest),
    inspectionNotices: opts.inspectionNotices,
  });
  for (const sig of fals) apply(run, sig);
  return result(run);
}

/** The usual answer, shared: nothing changed. Treat results as read-only. */
const NO_TRANSITIONS: { transitions: Transition[] } = Object.freeze({
  transitions: Object.freeze([]) as unknown as Transition[],
});

const result = (run: Run): { transitions: Transition[] } =>
  run.transitions === undefined ? NO_TRANSITIONS : { transitions: run.transitions };

function addSeries(run: Run, key: string): SeriesState | undefined {
  if (run.seriesCount < 0) run.seriesCount = Object.keys(run.state.series).length;
  if (run.seriesCount >= MAX_SERIES) return undefined;
  run.seriesCount++;
  const s = newSeries();
  run.state.series[key] = s;
  return s;
}

// ───────────────────────────── reconcile ─────────────────────────────

/**
 * Reconciles one signal against `state.open` and records the transition: open when the key is not open, level change
 * when the level differs, clear only when the key is open. Keeps `recentExceedances` in step.
 */
function apply(run: Run, sig: AlarmSignal): void {
  const state = run.state;
  const cur = state.open[sig.key];
  if (sig.level === undefined) {
    if (cur === undefined) return;
    delete state.open[sig.key];
    record(run, { kind: 'clear', alarmId: cur.alarmId, signal: sig });
    if (sig.type === 'exceedance' && sig.pollutant !== undefined) {
      state.recentExceedances[sig.pollutant] = { openedAt: cur.openedAt, clearedAt: sig.at };
    }
  } else if (cur === undefined) {
    const alarmId = run.newId();
    state.open[sig.key] = { alarmId, level: sig.level, openedAt: sig.at };
    record(run, { kind: 'open', alarmId, signal: sig });
    if (sig.type === 'exceedance' && sig.pollutant !== undefined) {
      state.recentExceedances[sig.pollutant] = { openedAt: sig.at };
    }
  } else if (cur.level !== sig.level) {
    record(run, { kind: 'level', alarmId: cur.alarmId, from: cur.level, signal: sig });
    cur.level = sig.level;
  }
}

function record(run: Run, t: Transition): void {
  if (run.transitions === undefined) run.transitions = [t];
  else run.transitions.push(t);
}

/**
 * The same reconciliation for signals from outside the evaluator (the scheduled data-gap job): mutates `state`,
 * returns the transitions.
 */
export function applySignals(state: EvalState, signals: readonly AlarmSignal[], newId: () => string): Transition[] {
  const run = { state, newId, transitions: undefined } as Run;
  for (const sig of signals) apply(run, sig);
  return run.transitions ?? [];
}

/**
 * Drops alarms officials cleared by hand from `open` (and marks their exceedances cleared at `at`), so that a
 * condition that persists raises a fresh alarm. Also run by `evaluate` for ids queued in `state.forget`.
 */
export function forgetAlarms(state: EvalState, alarmIds: readonly string[], at?: string): void {
  // a retrospective record officials closed keeps covering its times (a re-send records nothing) but grows no more
  for (const windows of Object.values(state.retro ?? {})) {
    for (const w of windows) if (w[2] !== '' && alarmIds.includes(w[2])) w[2] = '';
  }
  for (const [key, ref] of Object.entries(state.open)) {
    if (!alarmIds.includes(ref.alarmId)) continue;
    delete state.open[key];
    const [type, pollutant] = key.split('#');
    const recent = pollutant === undefined ? undefined : state.recentExceedances[pollutant];
    if (type === 'exceedance' && pollutant !== undefined && recent !== undefined && recent.clearedAt === undefined) {
      state.recentExceedances[pollutant] = { openedAt: recent.openedAt, clearedAt: at ?? ref.openedAt };
    }
  }
}

function forgetNow(state: EvalState): void {
  const ids = state.forget ?? [];
  delete state.forget;
  if (ids.length > 0) forgetAlarms(state, ids);
}

// ───────────────────────────── pollutant rules ─────────────────────────────

function onPollutant(run: Run, r: Reading, t: number, s: SeriesState, pp: PollutantPlan, ki: number): void {
  const er = run.er;
  const flag = r.flag;
  const valid = flag === 'N' || (flag === undefined && er.missingFlagIsNormal);
  // the usual case (a normal value, no flag run, no flag alarm on this series) has nothing for the flag rule to do
  if (er.faults.enabled && !(valid && s.fo === '' && s.ff === '')) faultRule(run, r, s, pp, flag, valid);
  const lp = pp.limit;
  if (lp === undefined || !valid) return;
  const vals = r.values;
  // a flue-gas value whose converted form the device could not compute (+9999.99): the raw value is not what the
  // limit is on, so nothing is judged (HJ 212-2025 §8.1.1 d)
  if (lp.flue && r.notComputable !== undefined && convertedMissing(r)) return;
  if (r.kind === 'realtime') {
    const zs = lp.flue && vals.zsRtd !== undefined;
    const v = zs ? vals.zsRtd : vals.rtd;
    if (v === undefined) return;
    if (er.prewarning.enabled) prewarningRule(run, r, t, s, pp, lp, v, zs);
    if (lp.judgeKind === 'realtime' && er.exceedance.enabled) exceedanceRule(run, r, t, s, pp, lp, v, zs, 0);
  } else if (r.kind === lp.judgeKind && er.exceedance.enabled) {
    const zs = lp.flue && vals.zsAvg !== undefined;
    const v = zs ? vals.zsAvg : vals.avg;
    if (v === undefined) return;
    exceedanceRule(run, r, t, s, pp, lp, v, zs, ki);
  }
}

/**
 * Exceedance with hysteresis: opens on the first valid value above the limit; its level follows exceedanceLevel
 * (never dropping while open when `keepHighestLevel`); clears once valid values have stayed below
 * `clearBelowFraction` of the limit for `clearAfterMinutes`. Values between the clear fraction and the limit (the dead
 * band) keep an open alarm open and a closed one closed, so a value hovering at the limit does not re-alarm.
 */
function exceedanceRule(
  run: Run,
  r: Reading,
  t: number,
  s: SeriesState,
  pp: PollutantPlan,
  lp: LimitPlan,
  v: number,
  zs: boolean,
  ki: number,
): void {
  const ld = load(lp, v);
  const end = t + (run.plan.periodMs[ki] ?? 0);
  const open = run.state.open;
  const rules = run.er.exceedance;
  if (ld > 1) {
    if (s.en === 0) {
      s.es = t;
      s.ev = v;
    }
    s.en++;
    s.ec = 0;
    const cur = open[lp.exKey];
    if (cur !== undefined && cur.level === 1 && rules.keepHighestLevel) return;
    const multiple = lp.shape === 0 ? v / lp.max : undefined;
    const decided = exceedanceLevel(
      {
        pollutant: pp.code,
        multiple,
        durationMs: end - s.es,
        basis: lp.basis,
        inDrinkingWaterProtectionZone: run.plan.source.inDrinkingWaterProtectionZone,
      },
      rules,
    );
    let level = decided.level;
    if (cur !== undefined) {
      if (rules.keepHighestLevel && cur.level < level) level = cur.level;
      if (cur.level === level) return;
    }
    apply(run, exceedanceSignal(run, r, s, pp, lp, v, zs, level, decided.rules, end - s.es));
    return;
  }
  s.en = 0;
  s.es = 0;
  s.ev = 0;
  if (ld < rules.clearBelowFraction) {
    if (s.ec === 0) s.ec = t;
    if (open[lp.exKey] !== undefined && end - s.ec >= lp.clearAfterMs) {
      apply(run, clearSignal(run, r, pp, lp, v, zs, 'exceedance', end - s.ec));
    }
  } else {
    s.ec = 0;
  }
}

/**
 * Pre-warning (接近限值, 四级) on real-time values: `consecutive` valid values at or above `fraction` of the limit
 * open it (not while the pollutant's exceedance is open: that says more); valid values below `clearBelowFraction`
 * for `clearAfterMinutes` clear it.
 */
function prewarningRule(
  run: Run,
  r: Reading,
  t: number,
  s: SeriesState,
  pp: PollutantPlan,
  lp: LimitPlan,
  v: number,
  zs: boolean,
): void {
  const pw = run.er.prewarning;
  const ld = load(lp, v);
  const open = run.state.open;
  if (ld >= pw.fraction) {
    s.pn++;
    s.pc = 0;
    if (s.pn >= pw.consecutive && open[lp.pwKey] === undefined && open[lp.exKey] === undefined) {
      apply(run, prewarningSignal(run, r, pp, lp, v, zs, s.pn));
    }
    return;
  }
  s.pn = 0;
  if (ld < pw.clearBelowFraction) {
    if (s.pc === 0) s.pc = t;
    const end = t + (run.plan.periodMs[0] ?? 0);
    if (open[lp.pwKey] !== undefined && end - s.pc >= pw.clearAfterMinutes * MIN) {
      apply(run, clearSignal(run, r, pp, lp, v, zs, 'prewarning', end - s.pc));
    }
  } else {
    s.pc = 0;
  }
}

/**
 * Instrument flags (D 故障, B 通讯异常, T 超量程 …): `raiseAfterValues` consecutive values with the flag open the
 * alarm (aggregates: `raiseAfterAggregates`); `clearAfterValues` consecutive N values clear it. Other flags in between
 * neither count nor reset. One alarm per pollutant and type: it clears when no series of the pollutant still has it.
 */
function faultRule(
  run: Run,
  r: Reading,
  s: SeriesState,
  pp: PollutantPlan,
  flag: string | undefined,
  valid: boolean,
): void {
  const rule = flag === undefined ? undefined : run.plan.faultByFlag[flag];
  const fr = run.er.faults;
  const aggregate = r.kind === 'hour' || r.kind === 'day';
  if (rule !== undefined && flag !== undefined) {
    if (s.ff === flag) s.fn++;
    else {
      s.ff = flag;
      s.fn = 1;
    }
    s.fk = 0;
    if (run.raiseFaults && s.fn >= (aggregate ? fr.raiseAfterAggregates : fr.raiseAfterValues)) {
      if (!s.fo.includes(flag)) s.fo += flag;
      const key = alarmKey(rule.type, pp.code);
      if (run.state.open[key] === undefined) apply(run, faultSignal(run, r, pp, rule, s.fn));
    }
    return;
  }
  if (s.ff !== '') {
    s.ff = '';
    s.fn = 0;
  }
  if (s.fo === '' || !valid) return;
  s.fk++;
  if (s.fk < (aggregate ? fr.clearAfterAggregates : fr.clearAfterValues)) return;
  const was = s.fo;
  s.fo = '';
  s.fk = 0;
  for (const f of was) {
    const type = run.plan.faultByFlag[f]?.type;
    if (type === undefined || faultStillOn(run, pp, type)) continue;
    const key = alarmKey(type, pp.code);
    if (run.state.open[key] === undefined) continue;
    apply(run, {
      key,
      type,
      pollutant: pp.code,
      at: r.dataTime,
      rules: [`flag.${f}`],
      reasonZh: `${nameZh(pp.code)}连续${aggregate ? fr.clearAfterAggregates : fr.clearAfterValues}个数据恢复正常（N），${FAULT_ZH[type] ?? type}解除`,
      reason: `${pp.code} data flagged N again, ${type} over`,
      evidence: [point(run, r, readingValue(r), r.flag)],
    });
  }
}

function faultStillOn(run: Run, pp: PollutantPlan, type: string): boolean {
  for (const key of pp.keys) {
    const s = run.state.series[key];
    if (s === undefined || s.fo === '') continue;
    for (const f of s.fo) if (run.plan.faultByFlag[f]?.type === type) return true;
  }
  return false;
}

/** The converted value the limit would be judged on was sent as not computable (+9999.99). */
function convertedMissing(r: Reading): boolean {
  const nc = r.notComputable as readonly string[];
  return r.kind === 'realtime' ? nc.includes('zsRtd') : nc.includes('zsAvg');
}

// ───────────────────────────── device quality (HJ 212-2025) ─────────────────────────────

/**
 * 标样核查 (CN 2062): ResultType 0 opens `standard_check_failed` for the pollutant (one alarm per pollutant, like a
 * device fault); ResultType 1 (a passed check) clears it. A check without a ResultType concludes nothing.
 */
function checkRule(run: Run, r: Reading, pp: PollutantPlan): void {
  const rules = run.er.standardCheck;
  const result = r.values.result;
  if (!rules.enabled || result === undefined) return;
  const key = alarmKey('standard_check_failed', pp.code);
  const open = run.state.open[key];
  const { sampleRd, standardValue } = r.values;
  const measured =
    sampleRd !== undefined && standardValue !== undefined
      ? `测定值 ${fmt(sampleRd)}，标准值 ${fmt(standardValue)}${standardValue !== 0 ? `（相对误差 ${fmt(((sampleRd - standardValue) / standardValue) * 100)}%）` : ''}`
      : '';
  const measuredEn =
    sampleRd !== undefined && standardValue !== undefined
      ? ` (measured ${fmt(sampleRd)}, standard ${fmt(standardValue)})`
      : '';
  const evidence = [point(run, r, sampleRd ?? result, r.flag)];
  if (result === 0) {
    if (open !== undefined) return;
    const sig: AlarmSignal = {
      key,
      type: 'standard_check_failed',
      pollutant: pp.code,
      level: rules.level,
      at: r.dataTime,
      value: sampleRd ?? result,
      rules: ['standard-check.failed'],
      reasonZh: `${nameZh(pp.code)}标样核查不合格${measured ? `：${measured}` : ''}`,
      reason: `${pp.code} standard-sample check failed${measuredEn}`,
      evidence,
    };
    if (standardValue !== undefined) sig.limit = standardValue;
    apply(run, sig);
  } else if (result === 1 && open !== undefined) {
    apply(run, {
      key,
      type: 'standard_check_failed',
      pollutant: pp.code,
      at: r.dataTime,
      rules: ['standard-check.passed'],
      reasonZh: `${nameZh(pp.code)}标样核查合格${measured ? `（${measured}）` : ''}，标样核查不合格告警解除`,
      reason: `${pp.code} standard-sample check passed${measuredEn}`,
      evidence,
    });
  }
}

/** Whether the furnace-temperature rule applies to this code at this source (a registered incinerator). */
function furnaceApplies(run: Run, code: string): boolean {
  const fr = run.er.furnace;
  return fr.enabled && fr.codes.includes(code) && fr.industries.includes(run.plan.source.industry);
}

/** A furnace average the rule may judge: its 5-minute average (or real-time value), unless flagged other than N. */
function furnaceValue(r: Reading): number | undefined {
  if (r.flag !== undefined && r.flag !== 'N') return undefined;
  return r.values.avg ?? r.values.rtd;
}

/**
 * 炉膛温度过低 (CN 2111) at a registered incinerator: `raiseAfterValues` 5-minute averages in a row below
 * `minCelsius` open `furnace_low_temperature`; `clearAfterValues` in a row at or above it clear it. The series keeps the
 * run of low averages in `en` (the first one's DataTime and value in `es`/`ev`) and the run of good ones in `fk`.
 */
function furnaceRule(run: Run, r: Reading, t: number, s: SeriesState, pp: PollutantPlan): void {
  if (!furnaceApplies(run, pp.code)) return;
  const fr = run.er.furnace;
  const v = furnaceValue(r);
  if (v === undefined) return;
  const key = alarmKey('furnace_low_temperature', pp.code);
  const open = run.state.open[key];
  if (v < fr.minCelsius) {
    if (s.en === 0) {
      s.es = t;
      s.ev = v;
    }
    s.en++;
    s.fk = 0;
    if (open === undefined && s.en >= fr.raiseAfterValues) apply(run, furnaceSignal(run, r, pp, v, s.en));
    return;
  }
  s.en = 0;
  s.fk++;
  if (open !== undefined && s.fk >= fr.clearAfterValues) {
    apply(run, {
      key,
      type: 'furnace_low_temperature',
      pollutant: pp.code,
      at: r.dataTime,
      value: v,
      limit: fr.minCelsius,
      unit: '°C',
      rules: ['furnace.low-temperature'],
      reasonZh: `炉膛温度连续${s.fk}个5分钟均值不低于${fmt(fr.minCelsius)}℃（最新 ${fmt(v)}℃），炉膛温度过低告警解除`,
      reason: `furnace temperature at or above ${fmt(fr.minCelsius)} °C for ${s.fk} 5-minute averages`,
      evidence: [point(run, r, v, r.flag)],
    });
  }
}

function furnaceSignal(run: Run, r: Reading, pp: PollutantPlan, v: number, n: number): AlarmSignal {
  const fr = run.er.furnace;
  return {
    key: alarmKey('furnace_low_temperature', pp.code),
    type: 'furnace_low_temperature',
    pollutant: pp.code,
    level: fr.level,
    at: r.dataTime,
    value: v,
    limit: fr.minCelsius,
    unit: '°C',
    rules: ['furnace.low-temperature'],
    reasonZh: `焚烧炉炉膛温度5分钟均值 ${fmt(v)}℃，低于${fmt(fr.minCelsius)}℃${n > 1 ? `（连续${n}个）` : ''}（GB 18485-2014）`,
    reason: `furnace temperature 5-minute average ${fmt(v)} °C below ${fmt(fr.minCelsius)} °C${n > 1 ? ` (${n} in a row)` : ''}`,
    evidence: [point(run, r, v, r.flag)],
  };
}

// ───────────────────────────── retrospective (补传超标) ─────────────────────────────

/** What a retrospective reading violates: the alarm type, the value judged, its limit and how far beyond it is. */
interface Violation {
  type: 'exceedance' | 'furnace_low_temperature';
  value: number;
  limit: number;
  unit: string;
  /** larger is worse: the limit load (exceedance) or how far below the minimum (furnace) */
  load: number;
  multiple?: number;
  zs: boolean;
  lp?: LimitPlan;
}

/** The violation a reading judged retrospectively shows (the live rules' judgement, without their state), if any. */
function violationOf(run: Run, r: Reading, pp: PollutantPlan, ki: number): Violation | undefined {
  if (ki === FURNACE) {
    if (!furnaceApplies(run, pp.code)) return undefined;
    const v = furnaceValue(r);
    const min = run.er.furnace.minCelsius;
    if (v === undefined || !(v < min)) return undefined;
    return { type: 'furnace_low_temperature', value: v, limit: min, unit: '°C', load: min - v, zs: false };
  }
  if (ki >= DATA_KIND_COUNT || r.subject !== 'pollutant') return undefined;
  const er = run.er;
  const lp = pp.limit;
  if (lp === undefined || !er.exceedance.enabled) return undefined;
  if (!(r.flag === 'N' || (r.flag === undefined && er.missingFlagIsNormal))) return undefined;
  if (r.kind !== lp.judgeKind) return undefined;
  if (lp.flue && r.notComputable !== undefined && convertedMissing(r)) return undefined;
  const vals = r.values;
  const realtime = r.kind === 'realtime';
  const zs = lp.flue && (realtime ? vals.zsRtd : vals.zsAvg) !== undefined;
  const v = realtime ? (zs ? vals.zsRtd : vals.rtd) : zs ? vals.zsAvg : vals.avg;
  if (v === undefined) return undefined;
  const ld = load(lp, v);
  if (!(ld > 1)) return undefined;
  const lim = limitText(lp, v);
  const out: Violation = { type: 'exceedance', value: v, limit: lim.limit, unit: lp.value.unit, load: ld, zs, lp };
  if (lp.shape === 0) out.multiple = round2(v / lp.max);
  return out;
}

/** Whether a live alarm already covered time `t` of this pollutant (then the late reading adds nothing). */
function liveCovered(run: Run, type: Violation['type'], code: string, t: number): boolean {
  if (type === 'exceedance') {
    const e = run.state.recentExceedances[code];
    return e !== undefined && isoMs(e.openedAt) <= t && (e.clearedAt === undefined || t <= isoMs(e.clearedAt));
  }
  const open = run.state.open[alarmKey(type, code)];
  return open !== undefined && isoMs(open.openedAt) <= t;
}

function retrospective(run: Run, r: Reading, t: number, pp: PollutantPlan, ki: number): void {
  const v = violationOf(run, r, pp, ki);
  if (v === undefined || liveCovered(run, v.type, pp.code, t)) return;
  const state = run.state;
  state.retro ??= {};
  const wkey = `${v.type}#${pp.code}#${r.kind}`;
  let windows = state.retro[wkey];
  if (windows === undefined) {
    windows = [];
    state.retro[wkey] = windows;
  }
  for (const w of windows) if (t >= w[0] && t <= w[1]) return; // recorded already: a re-send of the same backlog
  const slack = Math.max(run.plan.periodMs[ki] ?? 0, MIN) * 1.5;
  let w = windows.find((x) => x[2] !== '' && t >= x[0] - slack && t <= x[1] + slack);
  const extend = w !== undefined;
  if (w === undefined) {
    w = [t, t, run.newId(), 1, v.value];
    windows.push(w);
    if (windows.length > MAX_RETRO_WINDOWS) {
      let oldest = 0;
      for (let i = 1; i < windows.length; i++)
        if ((windows[i] as RetroWindowState)[1] < (windows[oldest] as RetroWindowState)[1]) oldest = i;
      windows.splice(oldest, 1);
    }
  } else {
    if (t < w[0]) w[0] = t;
    if (t > w[1]) w[1] = t;
    w[3]++;
    if (worse(v, w[4])) w[4] = v.value;
  }
  const period = run.plan.periodMs[ki] ?? 0;
  const window: RetrospectiveWindow = {
    from: iso(w[0]),
    to: iso(w[1]),
    kind: r.kind,
    count: w[3],
    peak: w[4],
    resent: r.resent === true,
  };
  record(run, { kind: 'retro', alarmId: w[2], signal: retroSignal(run, r, pp, v, w, period), window, extend });
}

/** Is `v` further beyond the limit than the value `peak`? */
function worse(v: Violation, peak: number): boolean {
  if (v.type === 'furnace_low_temperature') return v.value < peak;
  const lp = v.lp as LimitPlan;
  return load(lp, v.value) > load(lp, peak);
}

function retroSignal(
  run: Run,
  r: Reading,
  pp: PollutantPlan,
  v: Violation,
  w: RetroWindowState,
  period: number,
): AlarmSignal {
  const when = r.resent === true ? '补传数据' : '迟到数据';
  const whenEn = r.resent === true ? 're-sent (RF=1) data' : 'late data';
  let level: AlarmLevel = run.er.furnace.level;
  let ids = ['retrospective', 'furnace.low-temperature'];
  let zh: string;
  let en: string;
  if (v.type === 'exceedance' && v.lp !== undefined) {
    const lp = v.lp;
    const peakMultiple = lp.shape === 0 ? w[4] / lp.max : undefined;
    const decided = exceedanceLevel(
      {
        pollutant: pp.code,
        multiple: peakMultiple,
        durationMs: w[1] + period - w[0],
        basis: lp.basis,
        inDrinkingWaterProtectionZone: run.plan.source.inDrinkingWaterProtectionZone,
      },
      run.er.exceedance,
    );
    level = decided.level;
    ids = ['retrospective', ...decided.rules];
    const what = described(r, pp.code, v.zs);
    const lim = limitText(lp, v.value);
    zh = `${when}显示${what.zh}超标：${fmt(v.value)} ${lp.value.unit}，超出${lim.zh}${v.multiple !== undefined ? `（${v.multiple}倍）` : ''}`;
    en = `${whenEn}: ${what.en} ${fmt(v.value)} ${lp.value.unit} exceeds the ${lim.en}`;
  } else {
    zh = `${when}显示焚烧炉炉膛温度5分钟均值 ${fmt(v.value)}℃，低于${fmt(v.limit)}℃`;
    en = `${whenEn}: furnace temperature 5-minute average ${fmt(v.value)} °C below ${fmt(v.limit)} °C`;
  }
  zh += `；超标时段 ${iso(w[0])} 至 ${iso(w[1])}，共${w[3]}个数据（补传超标，不推送通知）`;
  en += `; window ${iso(w[0])} to ${iso(w[1])}, ${w[3]} values (retrospective, not paged)`;
  const sig: AlarmSignal = {
    key: `retro#${alarmKey(v.type, pp.code)}`,
    type: v.type,
    pollutant: pp.code,
    level,
    at: r.dataTime,
    value: v.value,
    limit: v.limit,
    unit: v.unit,
    rules: ids,
    reasonZh: zh,
    reason: en,
    evidence: [point(run, r, v.value, r.flag)],
  };
  if (v.multiple !== undefined) sig.multiple = v.multiple;
  return sig;
}

// ───────────────────────────── treatment facility ─────────────────────────────

function onEquipment(run: Run, r: Reading, t: number, eq: EquipmentMeter): void {
  const fac = run.er.facility;
  const vals = r.values;
  let v: number | undefined;
  let st: 1 | 0 | -1;
  if (vals.rs !== undefined) {
    v = vals.rs;
    st = fac.runningStatuses.includes(v) ? 1 : fac.offStatuses.includes(v) ? 0 : -1;
  } else {
    v = vals.info ?? vals.rtd ?? vals.avg;
    if (v === undefined) return;
    // a meter or condition value flagged other than N (fault, calibration, maintenance …) tells nothing either way
    const valid = r.flag === undefined || r.flag === 'N';
    st = eq.runningAbove === undefined || !valid ? -1 : v >= eq.runningAbove ? 1 : 0;
  }
  const all = run.state.facility.eq;
  const e = all[eq.code];
  if (e === undefined) all[eq.code] = { t, v, s: st };
  else if (t >= e.t) {
    e.t = t;
    e.v = v;
    e.s = st;
  }
  if (t > run.facilityAt) run.facilityAt = t;
}

/**
 * 治污设施异常: production running (any production piece running) while every treatment piece is off (SBx-RS 0) or
 * idling (its meter below `runningAbove`) for `raiseAfterMinutes` → facility_abnormal at `level` (二级). A piece whose
 * status is unknown or older than `staleAfterMinutes` is neither, so nothing is concluded from missing data. Clears
 * when a treatment piece has been running for `clearAfterMinutes`; production stopping alone does not clear it.
 */
function facilityRule(run: Run, at: number): void {
  const rules = run.er.facility;
  const { production, treatment } = run.plan;
  if (!rules.enabled || production.length === 0 || treatment.length === 0) return;
  const eq = run.state.facility.eq;
  const oldest = at - rules.staleAfterMinutes * MIN;
  let producing = false;
  for (const m of production) if (statusOf(eq, m, oldest) === 1) producing = true;
  let allDown = true;
  let treating = false;
  for (const m of treatment) {
    const st = statusOf(eq, m, oldest);
    if (st !== 0) allDown = false;
    if (st === 1) treating = true;
  }
  const f = run.state.facility;
  const key = alarmKey('facility_abnormal', undefined);
  const open = run.state.open[key];
  if (producing && allDown) {
    if (f.since === 0) f.since = at;
    f.okSince = 0;
    if (open === undefined && at - f.since >= rules.raiseAfterMinutes * MIN) {
      const minutes = Math.round((at - f.since) / MIN);
      const names = (ms: EquipmentMeter[]) => ms.map((m) => m.name).join('、');
      apply(run, {
        key,
        type: 'facility_abnormal',
        level: rules.level,
        at: iso(at),
        rules: ['facility.treatment-down'],
        reasonZh: `生产设施运行中（${names(production)}），治污设施全部停运或空转（${names(treatment)}）已持续${minutes}分钟`,
        reason: `production running while all treatment is off or idle for ${minutes} min`,
        evidence: equipmentEvidence(run, at, [...production, ...treatment]),
      });
    }
    return;
  }
  f.since = 0;
  if (!treating) {
    f.okSince = 0;
    return;
  }
  if (f.okSince === 0) f.okSince = at;
  if (open !== undefined && at - f.okSince >= rules.clearAfterMinutes * MIN) {
    apply(run, {
      key,
      type: 'facility_abnormal',
      at: iso(at),
      rules: ['facility.treatment-down'],
      reasonZh: `治污设施已恢复运行${Math.round((at - f.okSince) / MIN)}分钟，治污设施异常解除`,
      reason: 'treatment running again',
      evidence: equipmentEvidence(run, at, treatment),
    });
  }
}

/** 1 running, 0 off or idle, -1 unknown or older than `oldest` (ms) */
function statusOf(eq: Record<string, EquipmentState>, m: EquipmentMeter, oldest: number): number {
  const e = eq[m.code];
  return e === undefined || e.t < oldest ? -1 : e.s;
}

function equipmentEvidence(run: Run, at: number, meters: EquipmentMeter[]): EvidencePoint[] {
  const out: EvidencePoint[] = [];
  for (const m of meters) {
    const e = run.state.facility.eq[m.code];
    if (e === undefined) continue;
    const p: EvidencePoint = { pollutant: m.code, kind: 'realtime', dataTime: iso(e.t), value: e.v };
    if (e.t === at && run.packet !== undefined) p.packet = run.packet;
    out.push(p);
  }
  return out;
}

// ───────────────────────────── after the batch ─────────────────────────────

/** the kinds the data-gap job watches, with their alarm keys and bits (1 << kind index) */
const GAP_KINDS = (['realtime', 'minute', 'hour'] as const).map((kind, i) => ({
  kind,
  key: gapKey(kind),
  bit: 1 << i,
}));

function gapArrivals(run: Run, kinds: number, at: string): void {
  const open = run.state.open;
  let any = false;
  for (const g of GAP_KINDS) if ((kinds & g.bit) !== 0 && open[g.key] !== undefined) any = true;
  if (!any) return;
  const arrived = GAP_KINDS.filter((g) => (kinds & g.bit) !== 0).map((g) => g.kind);
  for (const sig of arrivalClears(arrived, at, new Set(Object.keys(open)))) apply(run, sig);
}

const NO_EXCEEDANCES: ReadonlyMap<string, RecentExceedance> = new Map();

/**
 * Drops exceedances cleared more than `recentExceedanceHours` before the newest reading, and returns the rest as the
 * falsification rules' context (a shared empty map in the usual case of none).
 */
function recentExceedances(run: Run, newest: number): ReadonlyMap<string, RecentExceedance> {
  const recent = run.state.recentExceedances;
  let map: Map<string, RecentExceedance> | undefined;
  for (const p in recent) {
    const e = recent[p] as RecentExceedance;
    if (e.clearedAt !== undefined && isoMs(e.clearedAt) < newest - run.er.recentExceedanceHours * HOUR) {
      delete recent[p];
      continue;
    }
    map ??= new Map();
    map.set(p, e);
  }
  return map ?? NO_EXCEEDANCES;
}

/** The newest DataTime of each kind this device sent (for the data-gap job), from the series watermarks. */
export function lastSeenByKind(state: EvalState): LastSeen[] {
  const newest: Record<string, number> = {};
  for (const [key, s] of Object.entries(state.series)) {
    const kind = key.slice(key.lastIndexOf('#') + 1);
    if (s.w > (newest[kind] ?? 0)) newest[kind] = s.w;
  }
  return KINDS.slice(0, DATA_KIND_COUNT)
    .filter((k) => newest[k] !== undefined)
    .map((kind) => ({
      kind,
      lastDataTime: iso(newest[kind] as number),
    }));
}

// ───────────────────────────── signals ─────────────────────────────

const KIND_ZH: Record<string, string> = {
  realtime: '实时值',
  minute: '分钟均值',
  hour: '小时均值',
  day: '日均值',
  check: '标样核查',
  furnace: '5分钟均值',
};
const KIND_EN: Record<string, string> = {
  realtime: 'real-time value',
  minute: 'minute average',
  hour: 'hourly average',
  day: 'daily average',
  check: 'standard-sample check',
  furnace: '5-minute average',
};
const FAULT_ZH: Record<string, string> = { device_fault: '设备故障', comm_loss: '通讯异常', over_range: '超量程' };
const FLAG_ZH: Record<string, string> = {
  D: '仪器故障（D）',
  B: '仪器与数采仪通讯异常（B）',
  T: '超测定上限（T）',
};

const nameZh = (code: string): string => pollutantInfo(code)?.nameZh ?? code;
const nameEn = (code: string): string => pollutantInfo(code)?.nameEn ?? code;
const fmt = (x: number): string => String(Math.round(x * 1000) / 1000);
const round2 = (x: number): number => Math.round(x * 100) / 100;
const hours = (ms: number): string => fmt(ms / HOUR);

function readingValue(r: Reading): number {
  const v = r.values;
  return v.rtd ?? v.avg ?? v.zsRtd ?? v.zsAvg ?? v.max ?? v.min ?? v.cou ?? Number.NaN;
}

function point(run: Run, r: Reading, value: number, flag: string | undefined): EvidencePoint {
  const p: EvidencePoint = { pollutant: r.pollutant, kind: r.kind, dataTime: r.dataTime, value };
  if (flag !== undefined) p.flag = flag;
  if (run.packet !== undefined) p.packet = run.packet;
  return p;
}

/** The side of the limit a value is on (pH: the bound it crossed) and how the limit reads. */
function limitText(lp: LimitPlan, v: number): { limit: number; zh: string; en: string } {
  const unit = lp.value.unit;
  if (lp.shape === 0) return { limit: lp.max, zh: `限值 ${fmt(lp.max)} ${unit}`, en: `limit ${fmt(lp.max)} ${unit}` };
  if (lp.shape === 1) return { limit: lp.min, zh: `下限 ${fmt(lp.min)} ${unit}`, en: `lower limit ${fmt(lp.min)}` };
  return {
    limit: v > lp.centre ? lp.max : lp.min,
    zh: `限值范围 ${fmt(lp.min)}–${fmt(lp.max)}`,
    en: `range ${fmt(lp.min)}–${fmt(lp.max)}`,
  };
}

function described(r: Reading, code: string, zs: boolean): { zh: string; en: string } {
  return {
    zh: `${nameZh(code)}${zs ? '折算' : ''}${KIND_ZH[r.kind] ?? r.kind}`,
    en: `${nameEn(code)} ${zs ? 'converted ' : ''}${KIND_EN[r.kind] ?? r.kind}`,
  };
}

function exceedanceSignal(
  run: Run,
  r: Reading,
  s: SeriesState,
  pp: PollutantPlan,
  lp: LimitPlan,
  v: number,
  zs: boolean,
  level: AlarmLevel,
  ids: string[],
  durationMs: number,
): AlarmSignal {
  const rules = run.er.exceedance;
  const what = described(r, pp.code, zs);
  const lim = limitText(lp, v);
  const multiple = lp.shape === 0 ? round2(v / lp.max) : undefined;
  const standard = `${lp.value.standard} ${lp.value.grade}`;
  let zh = `${what.zh} ${fmt(v)} ${lp.value.unit}，超出${lim.zh}（${multiple !== undefined ? `${multiple}倍，` : ''}${standard}）`;
  let en = `${what.en} ${fmt(v)} ${lp.value.unit} exceeds the ${lim.en}${multiple !== undefined ? ` (${multiple}×)` : ''}`;
  if (ids.includes('exceedance.statutory')) {
    const g = statutoryGroupOf(pp.code, rules);
    zh += `；达到排放标准${g?.multiple}倍以上，涉嫌污染环境罪（法释〔2023〕7号${g?.item ?? ''}）`;
    en += `; at least ${g?.multiple}× the standard (SPC/SPP interpretation 2023 No.7 Art.1)`;
  }
  if (ids.includes('exceedance.drinking-water-zone')) {
    zh += '；排放口位于饮用水水源保护区';
    en += '; outlet in a drinking-water source protection zone';
  }
  if (ids.includes('exceedance.multiple')) {
    zh += `；超过限值${fmt(rules.level2Multiple - 1)}倍以上`;
    en += `; at least ${fmt(rules.level2Multiple)}× the limit`;
  }
  if (ids.includes('exceedance.duration')) {
    zh +=
      lp.basis === 'daily' ? `；已连续超标${Math.round(durationMs / DAY)}天` : `；已持续超标${hours(durationMs)}小时`;
    en += `; exceeding for ${hours(durationMs)} h`;
  }
  const evidence = [point(run, r, v, r.flag)];
  if (s.en > 1) {
    evidence.unshift({ pollutant: pp.code, kind: r.kind, dataTime: iso(s.es), value: s.ev, flag: 'N' });
  }
  const sig: AlarmSignal = {
    key: lp.exKey,
    type: 'exceedance',
    pollutant: pp.code,
    level,
    at: r.dataTime,
    value: v,
    limit: lim.limit,
    unit: lp.value.unit,
    rules: ids,
    reasonZh: zh,
    reason: en,
    evidence,
  };
  if (multiple !== undefined) sig.multiple = multiple;
  return sig;
}

function prewarningSignal(
  run: Run,
  r: Reading,
  pp: PollutantPlan,
  lp: LimitPlan,
  v: number,
  zs: boolean,
  count: number,
): AlarmSignal {
  const pw = run.er.prewarning;
  const what = described(r, pp.code, zs);
  const lim = limitText(lp, v);
  const pct = Math.round(pw.fraction * 100);
  const sig: AlarmSignal = {
    key: lp.pwKey,
    type: 'prewarning',
    pollutant: pp.code,
    level: 4,
    at: r.dataTime,
    value: v,
    limit: lim.limit,
    unit: lp.value.unit,
    rules: ['prewarning'],
    reasonZh: `${what.zh}连续${count}次达到${lim.zh}的${pct}%以上（最新 ${fmt(v)} ${lp.value.unit}），接近限值`,
    reason: `${what.en} at or above ${pct}% of the ${lim.en} ${count} times in a row (latest ${fmt(v)})`,
    evidence: [point(run, r, v, r.flag)],
  };
  if (lp.shape === 0) sig.multiple = round2(v / lp.max);
  return sig;
}

function clearSignal(
  run: Run,
  r: Reading,
  pp: PollutantPlan,
  lp: LimitPlan,
  v: number,
  zs: boolean,
  type: 'exceedance' | 'prewarning',
  runMs: number,
): AlarmSignal {
  const frac = type === 'exceedance' ? run.er.exceedance.clearBelowFraction : run.er.prewarning.clearBelowFraction;
  const what = described(r, pp.code, zs);
  const lim = limitText(lp, v);
  const pct = Math.round(frac * 100);
  const mins = Math.round(runMs / MIN);
  return {
    key: type === 'exceedance' ? lp.exKey : lp.pwKey,
    type,
    pollutant: pp.code,
    at: r.dataTime,
    value: v,
    limit: lim.limit,
    unit: lp.value.unit,
    rules: [type],
    reasonZh: `${what.zh}已连续${mins}分钟低于${lim.zh}的${pct}%（最新 ${fmt(v)} ${lp.value.unit}），${type === 'exceedance' ? '超标' : '接近限值预警'}解除`,
    reason: `${what.en} below ${pct}% of the ${lim.en} for ${mins} min (latest ${fmt(v)}): ${type} over`,
    evidence: [point(run, r, v, r.flag)],
  };
}

function faultSignal(run: Run, r: Reading, pp: PollutantPlan, rule: FaultFlagRule, n: number): AlarmSignal {
  const flagZh = FLAG_ZH[rule.flag] ?? rule.flag;
  return {
    key: alarmKey(rule.type, pp.code),
    type: rule.type,
    pollutant: pp.code,
    level: rule.level,
    at: r.dataTime,
    value: readingValue(r),
    rules: [`flag.${rule.flag}`],
    reasonZh: `${nameZh(pp.code)}${KIND_ZH[r.kind] ?? r.kind}连续${n}个数据标记为${flagZh}，${FAULT_ZH[rule.type] ?? rule.type}`,
    reason: `${pp.code} ${r.kind} data flagged ${rule.flag} ${n} times in a row: ${rule.type}`,
    evidence: [point(run, r, readingValue(r), r.flag)],
  };
}
