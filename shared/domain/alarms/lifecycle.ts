import { ConflictError, ValidationError } from '#shared/domain/errors.ts';
import { pollutant as pollutantInfo } from '#shared/domain/pollutants.ts';
import {
  ALARM_TYPE_LABELS,
  type AlarmLevel,
  type AlarmSignal,
  type AlarmSource,
  type AlarmState,
  type AlarmType,
  type Audience,
  type EvidencePoint,
  LEVELS,
  type RetrospectiveWindow,
} from './model.ts';

/**
 * The alarm lifecycle: the stored Alarm record, its timeline events, and pure transition functions.
 *
 *   evaluator:  open ──► level change(s) ──► auto clear         (openAlarm, changeLevel, autoClear)
 *   officials:  active ──ack──► acknowledged                    (acknowledge; idempotent for the same person)
 *               active | acknowledged ──snooze──► same state, reminders held until `snoozedUntil` (≤ 24 h, note)
 *               active | acknowledged ──clear──► cleared       (clearManually; a note is required)
 *               any state ──comment──► timeline only           (commentEvent)
 *
 * Every function validates what is allowed (ConflictError 409 for the wrong state, ValidationError 400 for bad input)
 * and returns the next record with `version + 1` plus the timeline events to append; the adapter writes both in one
 * transaction conditioned on the version it read.
 *
 * Level changes: a RISE in severity (e.g. 三级 → 二级) returns an acknowledged alarm to `active` and ends any snooze —
 * new audiences must hear it and the duty desk must confirm again. A fall keeps the state and the snooze.
 *
 * MANUAL CLEAR: an official states the matter is handled. The evaluator must DROP the alarm from its `open` map
 * (the adapter tells it through the evaluator state item's `forget` list, see alarms-store.ts); if the data still
 * show the condition afterwards, the evaluator raises a FRESH alarm (new alarmId, notified again). Data that keep
 * exceeding after an official closed the matter are a new fact that must not be swallowed; to quieten a known,
 * ongoing problem officials snooze instead of clearing.
 *
 * Notification: `notify` is opaque here (notify.ts owns its shape); `notifyDue` is when the notification sweep must
 * look at the alarm. open, level change and clear (auto or manual) set it to now; ack, snooze and comments leave it
 * (the sweep reads `state` and `snoozedUntil` when it comes).
 */

export const SYSTEM = 'system';
/** the longest snooze officials may set */
export const MAX_SNOOZE_MS = 24 * 60 * 60 * 1000;
export const NOTE_MAX = 500;

/** The signal that last raised (or re-levelled) the alarm: what was measured and why it counts. */
export interface AlarmLastSignal {
  /** DataTime of the deciding reading */
  at: string;
  value?: number;
  limit?: number;
  unit?: string;
  multiple?: number;
  reasonZh: string;
  reason: string;
  evidence: EvidencePoint[];
  rules: string[];
}

export interface Alarm {
  alarmId: string;
  /** the signal's key (`<type>#<pollutant or '-'>`, or e.g. `data_gap#realtime`): one active alarm per MN and key */
  key: string;
  mn: string;
  enterpriseId: string;
  enterpriseName: string;
  outletId: string;
  outletName: string;
  townshipId: string;
  industry: string;
  regulator: string;
  type: AlarmType;
  pollutant?: string;
  level: AlarmLevel;
  state: AlarmState;
  /** DataTime of the reading that decided the opening */
  openedAt: string;
  /** wall clock when the alarm was recorded */
  raisedAt: string;
  updatedAt: string;
  lastSignal: AlarmLastSignal;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  snoozedUntil?: string;
  snoozedBy?: string;
  clearedAt?: string;
  /** principal id, or 'system' for an automatic clear */
  clearedBy?: string;
  clearMode?: 'auto' | 'manual';
  version: number;
  /** notification state; notify.ts owns its shape */
  notify: Record<string, unknown>;
  /** ISO time the notification sweep must look at this alarm; absent when nothing is due */
  notifyDue?: string;
  /** short Chinese line for lists, SMS and tip triage */
  summary: string;
  /** rule-set version in force when it opened */
  ruleVersion: number;
  /**
   * 补传超标: a retrospective record (data judged long after its DataTime showed a violation). Never paged, no slot;
   * duty officers review it (acknowledge, comment, clear with a note). Absent on live alarms.
   */
  retrospective?: RetrospectiveWindow;
}

interface EventBase {
  at: string;
  /** principal id, or 'system' */
  by: string;
  note?: string;
}

/** The alarm's timeline, oldest first. System events carry the signal's DataTime and the Chinese reason as note. */
export type AlarmEvent =
  | (EventBase & { type: 'open'; level: AlarmLevel; dataTime: string })
  | (EventBase & { type: 'level'; from: AlarmLevel; to: AlarmLevel; dataTime: string })
  | (EventBase & { type: 'ack' })
  | (EventBase & { type: 'snooze'; until: string; note: string })
  | (EventBase & { type: 'clear'; mode: 'auto' | 'manual'; dataTime?: string })
  | (EventBase & { type: 'comment'; note: string })
  | (EventBase & {
      type: 'notified';
      audience: Audience;
      kind: string;
      /** who the SMS went to (name and post; numbers masked), recorded since the console shows the log */
      recipients?: NotifiedRecipient[];
      /** the SMS text as sent */
      sms?: string;
    })
  | (EventBase & { type: 'response'; round: number; rectifyBy: string })
  | (EventBase & { type: 'response_review'; decision: 'accept' | 'return' });

/** One recipient of an alarm SMS as the notification log shows it: a masked number, never the whole one. */
export interface NotifiedRecipient {
  name: string;
  role?: string;
  /** `138****0201` */
  phone: string;
}

/** A mobile number as the notification log shows it: the first three and last four digits. */
export const maskPhone = (phone: string): string =>
  phone.length >= 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';

export type AlarmEventType = AlarmEvent['type'];

/** What a transition produced: the next record (unchanged when `changed` is false) and the events to append. */
export interface LifecycleChange {
  alarm: Alarm;
  events: AlarmEvent[];
  changed: boolean;
}

/** 一级超标：<enterprise>·<outlet>·<pollutant> 2.3倍 — short enough for an SMS line and the triage link. */
export function alarmSummary(a: {
  level: AlarmLevel;
  type: AlarmType;
  enterpriseName: string;
  outletName: string;
  pollutant?: string | undefined;
  multiple?: number | undefined;
}): string {
  const name = a.pollutant ? (pollutantInfo(a.pollutant)?.nameZh ?? a.pollutant) : undefined;
  const multiple = a.multiple !== undefined && Number.isFinite(a.multiple) ? ` ${a.multiple.toFixed(1)}倍` : '';
  const where = [a.enterpriseName, a.outletName, name].filter(Boolean).join('·');
  return `${LEVELS[a.level].label}${ALARM_TYPE_LABELS[a.type]}：${where}${multiple}`.slice(0, 120);
}

function lastSignalOf(s: AlarmSignal): AlarmLastSignal {
  return {
    at: s.at,
    ...(s.value !== undefined ? { value: s.value } : {}),
    ...(s.limit !== undefined ? { limit: s.limit } : {}),
    ...(s.unit !== undefined ? { unit: s.unit } : {}),
    ...(s.multiple !== undefined ? { multiple: s.multiple } : {}),
    reasonZh: s.reasonZh,
    reason: s.reason,
    evidence: s.evidence,
    rules: s.rules,
  };
}

/** Removes optional keys set to undefined, so records compare and store cleanly. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function requireLevel(signal: AlarmSignal): AlarmLevel {
  if (signal.level === undefined) throw new Error(`signal ${signal.key} has no level: it is a clear, not a raise`);
  return signal.level;
}

function notCleared(alarm: Alarm, action: string): void {
  if (alarm.state === 'cleared') {
    throw new ConflictError(
      `alarm ${alarm.alarmId} is already cleared; cannot ${action} (告警已解除，无法${zh(action)})`,
    );
  }
}

const ACTION_ZH: Record<string, string> = {
  acknowledge: '确认',
  snooze: '暂缓提醒',
  clear: '解除',
  'change level': '变更等级',
};
const zh = (action: string) => ACTION_ZH[action] ?? action;

/** A note officials must give (snooze, clear, comment): 1–500 characters after trimming. */
export function requireNote(note: string | undefined, field = 'body.note'): string {
  const text = note?.trim() ?? '';
  if (text.length === 0) {
    throw new ValidationError('a note is required', [
      { field, message: 'a note is required', messageZh: '请填写说明' },
    ]);
  }
  if (text.length > NOTE_MAX) {
    throw new ValidationError(`the note is longer than ${NOTE_MAX} characters`, [
      { field, message: `at most ${NOTE_MAX} characters`, messageZh: `说明不能超过${NOTE_MAX}个字符` },
    ]);
  }
  return text;
}

/** A new alarm from a raising signal, as the evaluator records it (version 1, due for notification now). */
export function openAlarm(input: {
  alarmId: string;
  signal: AlarmSignal;
  source: AlarmSource;
  now: Date;
  ruleVersion: number;
}): LifecycleChange {
  const { alarmId, signal, source, ruleVersion } = input;
  const now = input.now.toISOString();
  const level = requireLevel(signal);
  const alarm: Alarm = compact({
    alarmId,
    key: signal.key,
    mn: source.mn,
    enterpriseId: source.enterpriseId,
    enterpriseName: source.enterpriseName,
    outletId: source.outletId,
    outletName: source.outletName,
    townshipId: source.townshipId,
    industry: source.industry,
    regulator: source.regulator,
    type: signal.type,
    pollutant: signal.pollutant,
    level,
    state: 'active' as const,
    openedAt: signal.at,
    raisedAt: now,
    updatedAt: now,
    lastSignal: lastSignalOf(signal),
    version: 1,
    notify: {},
    notifyDue: now,
    summary: alarmSummary({ ...signal, level, enterpriseName: source.enterpriseName, outletName: source.outletName }),
    ruleVersion,
  });
  return {
    alarm,
    events: [{ type: 'open', at: now, by: SYSTEM, level, dataTime: signal.at, note: signal.reasonZh }],
    changed: true,
  };
}

/** evidence points a retrospective record keeps: the first ones and the latest */
export const MAX_RETRO_EVIDENCE = 48;

/**
 * A retrospective record (补传超标) from the evaluator's `retro` transition: active (for review) but never due for
 * notification, its window and archive references (the evidence points' packets) on the record.
 */
export function openRetrospective(input: {
  alarmId: string;
  signal: AlarmSignal;
  window: RetrospectiveWindow;
  source: AlarmSource;
  now: Date;
  ruleVersion: number;
}): LifecycleChange {
  const opened = openAlarm(input);
  const { notifyDue: _never, ...alarm } = opened.alarm;
  return {
    alarm: {
      ...alarm,
      openedAt: input.window.from,
      retrospective: input.window,
      summary: `补传${alarm.summary}`.slice(0, 120),
    },
    events: [{ ...(opened.events[0] as AlarmEvent & { type: 'open' }), dataTime: input.window.from }],
    changed: true,
  };
}

/**
 * More violating data adjacent to a retrospective record's window: the window grows (its count, peak and level
 * follow), the evidence gains the new point (the first and the latest MAX_RETRO_EVIDENCE kept), a system comment says
 * so. The record's state is untouched: an acknowledged one stays acknowledged.
 */
export function extendRetrospective(
  alarm: Alarm,
  signal: AlarmSignal,
  window: RetrospectiveWindow,
  now: Date,
): LifecycleChange {
  notCleared(alarm, 'change level');
  const at = now.toISOString();
  const evidence = [...alarm.lastSignal.evidence, ...signal.evidence];
  const kept =
    evidence.length > MAX_RETRO_EVIDENCE
      ? [...evidence.slice(0, MAX_RETRO_EVIDENCE / 2), ...evidence.slice(-MAX_RETRO_EVIDENCE / 2)]
      : evidence;
  const level = Math.min(alarm.level, requireLevel(signal)) as AlarmLevel;
  const next: Alarm = compact({
    ...alarm,
    level,
    openedAt: window.from,
    retrospective: { ...window, resent: window.resent || alarm.retrospective?.resent === true },
    lastSignal: { ...lastSignalOf(signal), evidence: kept },
    updatedAt: at,
    version: alarm.version + 1,
  });
  return {
    alarm: next,
    events: [
      {
        type: 'comment',
        at,
        by: SYSTEM,
        note: `补传数据延长超标时段：${window.from} 至 ${window.to}，共${window.count}个数据`,
      },
    ],
    changed: true,
  };
}

/** The evaluator moved an open alarm to another level. A rise re-activates an acknowledged alarm and ends a snooze. */
export function changeLevel(alarm: Alarm, signal: AlarmSignal, now: Date): LifecycleChange {
  notCleared(alarm, 'change level');
  const to = requireLevel(signal);
  const at = now.toISOString();
  const rise = to < alarm.level;
  const next: Alarm = compact({
    ...alarm,
    level: to,
    lastSignal: lastSignalOf(signal),
    summary: alarmSummary({ ...alarm, level: to, multiple: signal.multiple }),
    updatedAt: at,
    notifyDue: at,
    version: alarm.version + 1,
    ...(rise
      ? { state: 'active' as const, acknowledgedBy: undefined, acknowledgedAt: undefined, snoozedUntil: undefined }
      : {}),
    ...(rise ? { snoozedBy: undefined } : {}),
  });
  return {
    alarm: next,
    events: [{ type: 'level', at, by: SYSTEM, from: alarm.level, to, dataTime: signal.at, note: signal.reasonZh }],
    changed: true,
  };
}

/** The evaluator saw the condition end (hysteresis satisfied). */
export function autoClear(alarm: Alarm, signal: AlarmSignal, now: Date): LifecycleChange {
  notCleared(alarm, 'clear');
  const at = now.toISOString();
  const next: Alarm = compact({
    ...alarm,
    state: 'cleared' as const,
    clearedAt: at,
    clearedBy: SYSTEM,
    clearMode: 'auto' as const,
    snoozedUntil: undefined,
    snoozedBy: undefined,
    updatedAt: at,
    notifyDue: at,
    version: alarm.version + 1,
  });
  return {
    alarm: next,
    events: [{ type: 'clear', at, by: SYSTEM, mode: 'auto', dataTime: signal.at, note: signal.reasonZh }],
    changed: true,
  };
}

/**
 * 确认: only an active alarm. Acknowledging again by the same person changes nothing (a double click, a retry);
 * by someone else it is a conflict naming who acknowledged first.
 */
export function acknowledge(alarm: Alarm, by: string, now: Date, note?: string): LifecycleChange {
  if (alarm.state === 'acknowledged') {
    if (alarm.acknowledgedBy === by) return { alarm, events: [], changed: false };
    throw new ConflictError(
      `alarm ${alarm.alarmId} was already acknowledged by ${alarm.acknowledgedBy} at ${alarm.acknowledgedAt} (告警已被他人确认)`,
    );
  }
  notCleared(alarm, 'acknowledge');
  const at = now.toISOString();
  const text = note?.trim() ? requireNote(note) : undefined;
  return {
    alarm: {
      ...alarm,
      state: 'acknowledged',
      acknowledgedBy: by,
      acknowledgedAt: at,
      updatedAt: at,
      version: alarm.version + 1,
    },
    events: [compact({ type: 'ack' as const, at, by, note: text })],
    changed: true,
  };
}

/** 暂缓提醒: active or acknowledged; `until` in the future and at most 24 h ahead; a note saying why. */
export function snooze(alarm: Alarm, by: string, now: Date, until: string, note: string | undefined): LifecycleChange {
  notCleared(alarm, 'snooze');
  const text = requireNote(note);
  const untilMs = Date.parse(until);
  if (!Number.isFinite(untilMs) || untilMs <= now.getTime() || untilMs - now.getTime() > MAX_SNOOZE_MS) {
    throw new ValidationError('until must be in the future and at most 24 hours ahead', [
      {
        field: 'body.until',
        message: 'must be in the future and at most 24 hours ahead',
        messageZh: '暂缓截止时间须晚于当前时间且不超过24小时',
      },
    ]);
  }
  const at = now.toISOString();
  const untilIso = new Date(untilMs).toISOString();
  return {
    alarm: { ...alarm, snoozedUntil: untilIso, snoozedBy: by, updatedAt: at, version: alarm.version + 1 },
    events: [{ type: 'snooze', at, by, until: untilIso, note: text }],
    changed: true,
  };
}

/** 人工解除: active or acknowledged, with a note. The evaluator must then forget the alarm (see the module doc). */
export function clearManually(alarm: Alarm, by: string, now: Date, note: string | undefined): LifecycleChange {
  notCleared(alarm, 'clear');
  const text = requireNote(note);
  const at = now.toISOString();
  const next: Alarm = compact({
    ...alarm,
    state: 'cleared' as const,
    clearedAt: at,
    clearedBy: by,
    clearMode: 'manual' as const,
    snoozedUntil: undefined,
    snoozedBy: undefined,
    updatedAt: at,
    // a retrospective record was never paged, so its review is not announced either
    notifyDue: alarm.retrospective === undefined ? at : undefined,
    version: alarm.version + 1,
  });
  return { alarm: next, events: [{ type: 'clear', at, by, mode: 'manual', note: text }], changed: true };
}

/** 备注: allowed in any state (also after clearing, for the record); the alarm itself is unchanged. */
export function commentEvent(by: string, now: Date, note: string | undefined): AlarmEvent {
  return { type: 'comment', at: now.toISOString(), by, note: requireNote(note) };
}

/** True while the alarm counts as open for the unit's listing (tip triage reads `open#`). */
export const isOpen = (state: AlarmState): boolean => state !== 'cleared';
