import {
  type Alarm,
  type AlarmEvent,
  autoClear,
  changeLevel,
  extendRetrospective,
  openAlarm,
  openRetrospective,
} from './lifecycle.ts';
import type { AlarmSource, Transition } from './model.ts';
import type { CommitConflict } from './ports.ts';

/**
 * What one evaluation's transitions do to the alarms, pure: one batch of readings may open, re-level and clear the
 * same key (a backlog of hourly values), and a store writes each item once per transaction, so the transitions are
 * folded into one change per alarm (lifecycle.ts openAlarm, changeLevel, autoClear) and one move per alarm key's
 * slot (the active alarm of a key: taken, freed, or handed from one alarm to the next). A transition on an alarm
 * that is cleared or unknown is a conflict (`alarm_closed`): the engine forgets it and evaluates again.
 */
export interface AlarmWork {
  /** the alarm as read (undefined: opened by this commit) */
  before?: Alarm;
  after: Alarm;
  events: AlarmEvent[];
}

/** The slot of one alarm key: the alarm holding it before this commit (as far as known) and after it. */
export interface SlotMove {
  initial?: string;
  final?: string;
  /** the alarm whose mn and key name the slot */
  alarm: Alarm;
}

export type CommitPlan =
  | { work: Map<string, AlarmWork>; slots: Map<string, SlotMove> }
  | { conflicts: CommitConflict[] };

/** The alarm ids whose current record the plan needs: every alarm a transition re-levels or clears, not one it opens. */
export function alarmsToRead(transitions: readonly Transition[]): string[] {
  const opened = new Set(transitions.filter(isOpening).map((t) => t.alarmId));
  return transitions.filter((t) => !isOpening(t) && !opened.has(t.alarmId)).map((t) => t.alarmId);
}

const isOpening = (t: Transition): boolean => t.kind === 'open' || (t.kind === 'retro' && !t.extend);

export function planCommit(
  transitions: readonly Transition[],
  existing: ReadonlyMap<string, Alarm>,
  ctx: { source: AlarmSource; now: Date; ruleVersion: number },
): CommitPlan {
  const work = new Map<string, AlarmWork>();
  const slots = new Map<string, SlotMove>();
  const conflicts: CommitConflict[] = [];
  for (const t of transitions) {
    if (t.kind === 'retro' && !t.extend) {
      // a retrospective record (补传超标) takes no slot: the live alarm of its key is unaffected
      const change = openRetrospective({
        alarmId: t.alarmId,
        signal: t.signal,
        window: t.window,
        source: ctx.source,
        now: ctx.now,
        ruleVersion: ctx.ruleVersion,
      });
      work.set(t.alarmId, { after: change.alarm, events: change.events });
      continue;
    }
    if (t.kind === 'open') {
      const change = openAlarm({
        alarmId: t.alarmId,
        signal: t.signal,
        source: ctx.source,
        now: ctx.now,
        ruleVersion: ctx.ruleVersion,
      });
      work.set(t.alarmId, { after: change.alarm, events: change.events });
      const slot = slots.get(change.alarm.key);
      slots.set(change.alarm.key, { ...slot, final: t.alarmId, alarm: change.alarm });
      continue;
    }
    const entry =
      work.get(t.alarmId) ??
      (() => {
        const read = existing.get(t.alarmId);
        return read ? { before: read, after: read, events: [] as AlarmEvent[] } : undefined;
      })();
    if (!entry || entry.after.state === 'cleared') {
      conflicts.push({ kind: 'alarm_closed', alarmId: t.alarmId });
      continue;
    }
    const change =
      t.kind === 'retro'
        ? extendRetrospective(entry.after, t.signal, t.window, ctx.now)
        : t.kind === 'level'
          ? changeLevel(entry.after, t.signal, ctx.now)
          : autoClear(entry.after, t.signal, ctx.now);
    work.set(t.alarmId, { ...entry, after: change.alarm, events: [...entry.events, ...change.events] });
    if (t.kind === 'clear') {
      const key = change.alarm.key;
      const slot = slots.get(key) ?? { initial: t.alarmId, alarm: change.alarm };
      slots.set(key, { ...slot, final: undefined, alarm: slot.alarm });
    }
  }
  return conflicts.length > 0 ? { conflicts } : { work, slots };
}
