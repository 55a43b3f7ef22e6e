import * as z from 'zod';
import type { ReadingKind } from '#shared/domain/readings/model.ts';
import { type AlarmLevel, type AlarmSignal, type AlarmSource, alarmKey } from './model.ts';

/**
 * Data gaps (数据缺失): a device whose expected real-time, minute or hourly data did not arrive, per the registry's
 * intervals. Missing monitoring data is a violation class of its own (as in the US EPA's ECHO, where a missing
 * monitoring report is itself a violation), so a gap raises an alarm even when nothing was exceeded.
 *
 * Silence is measured from when data of a kind last ARRIVED (the ingest's device state, `lastReceivedAt`): a device
 * whose clock is wrong, or that backfills old hours, is not silent. A kind is overdue when nothing of it arrived
 * after `now − allowance`, where the allowance is
 *   real-time:  max(realtimeMultiple × interval, realtimeMinMinutes)
 *   minute:     minuteMultiple × minute interval + graceMinutes
 *   hourly:     60 min (the hour itself: DataTime is the start of the hour) + graceMinutes
 * A device never heard from counts from its registration. Devices under maintenance or retired raise nothing, and
 * their open gap alarms clear (the bureau knows they are off). Gaps clear as soon as data of that kind arrives again
 * (the evaluator clears them on arrival; the scheduled job clears them on its next run as a fallback).
 */
export const DataGapRules = z.object({
  enabled: z.boolean().default(true),
  realtimeMultiple: z.number().min(1).max(100).default(5),
  realtimeMinMinutes: z.number().min(1).max(1440).default(10),
  minuteMultiple: z.number().min(1).max(100).default(3),
  graceMinutes: z.number().min(0).max(1440).default(30),
  /** a gap this long at a key unit (重点管理) rises from 三级 to 二级 */
  escalateAfterHours: z.number().min(1).max(720).default(24),
  /** which kinds are watched; hourly only when the device is registered to send hourly data */
  kinds: z.array(z.enum(['realtime', 'minute', 'hour'])).default(['realtime', 'minute', 'hour']),
});
export type DataGapRules = z.infer<typeof DataGapRules>;

export interface LastSeen {
  kind: ReadingKind;
  /** newest DataTime of this kind (ISO) */
  lastDataTime: string;
  /** when data of this kind last arrived (ISO); silence is measured from it when known */
  lastReceivedAt?: string;
}

const KIND_ZH: Record<string, string> = { realtime: '实时数据', minute: '分钟数据', hour: '小时数据' };
const MIN = 60_000;

export const gapKey = (kind: ReadingKind): string => alarmKey('data_gap', kind);

/** How long (ms) a kind may stay silent before it is a gap. */
export function allowanceMs(kind: 'realtime' | 'minute' | 'hour', source: AlarmSource, rules: DataGapRules): number {
  if (kind === 'realtime')
    return Math.max(rules.realtimeMultiple * source.intervals.realtimeSeconds * 1000, rules.realtimeMinMinutes * MIN);
  if (kind === 'minute') return (rules.minuteMultiple * source.intervals.minuteMinutes + rules.graceMinutes) * MIN;
  return (60 + rules.graceMinutes) * MIN;
}

/**
 * Raise / clear signals for one device. `openKeys` are the gap keys currently open for it (from the evaluator
 * state), so that a clear is emitted only for what is open. Pure.
 */
export function gapSignals(input: {
  source: AlarmSource;
  lastSeen: readonly LastSeen[];
  registeredAt: string;
  rules: DataGapRules;
  now: Date;
  openKeys: ReadonlySet<string>;
}): AlarmSignal[] {
  const { source, rules, now, openKeys } = input;
  const out: AlarmSignal[] = [];
  const at = now.toISOString();
  const watching = rules.enabled && source.deviceStatus === 'active';
  const kinds = rules.kinds.filter((k) => k !== 'hour' || source.intervals.hourly);
  for (const kind of ['realtime', 'minute', 'hour'] as const) {
    const key = gapKey(kind);
    const last = input.lastSeen.find((s) => s.kind === kind);
    const seen = last?.lastReceivedAt ?? last?.lastDataTime;
    if (!watching || !kinds.includes(kind)) {
      if (openKeys.has(key)) out.push(clear(kind, at, watching ? '不再监视该类数据' : '设备维护或停用'));
      continue;
    }
    const since = Date.parse(seen ?? input.registeredAt);
    const silentMs = now.getTime() - since;
    if (silentMs > allowanceMs(kind, source, rules)) {
      const hours = silentMs / 3_600_000;
      const level: AlarmLevel = source.permitClass === 'key' && hours >= rules.escalateAfterHours ? 2 : 3;
      const silent = hours >= 1 ? `${Math.floor(hours)}小时` : `${Math.round(silentMs / MIN)}分钟`;
      out.push({
        key,
        type: 'data_gap',
        level,
        at,
        rules: ['data-gap'],
        reasonZh: seen ? `${KIND_ZH[kind]}已${silent}未上传` : `登记后${silent}未收到${KIND_ZH[kind]}`,
        reason: seen
          ? `no ${kind} data for ${silent.replace('小时', ' h').replace('分钟', ' min')} (last arrival ${seen})`
          : `no ${kind} data since the device was registered (${input.registeredAt})`,
        evidence: [],
      });
    } else if (openKeys.has(key)) {
      out.push(clear(kind, at, `${KIND_ZH[kind]}已恢复上传`));
    }
  }
  return out;
}

/** Data of these kinds arrived: clear their open gap alarms at once (called by the evaluator). */
export function arrivalClears(kinds: Iterable<ReadingKind>, at: string, openKeys: ReadonlySet<string>): AlarmSignal[] {
  const out: AlarmSignal[] = [];
  for (const kind of new Set(kinds)) {
    if (openKeys.has(gapKey(kind))) out.push(clear(kind, at, `${KIND_ZH[kind] ?? kind}已恢复上传`));
  }
  return out;
}

function clear(kind: ReadingKind, at: string, reasonZh: string): AlarmSignal {
  return {
    key: gapKey(kind),
    type: 'data_gap',
    at,
    rules: ['data-gap'],
    reasonZh,
    reason: `${kind} data gap over`,
    evidence: [],
  };
}
