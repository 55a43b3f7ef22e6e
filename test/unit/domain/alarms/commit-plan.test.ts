import { describe, expect, it } from 'vitest';
import { alarmsToRead, planCommit } from '#shared/domain/alarms/commit-plan.ts';
import { type Alarm, openAlarm } from '#shared/domain/alarms/lifecycle.ts';
import type { Transition } from '#shared/domain/alarms/model.ts';
import { codSignal, wwtpAlarmSource } from './lifecycle-fixtures.ts';

/** The fold of one evaluation's transitions into one change per alarm and one move per slot, pure. */
const A1 = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const A2 = '01JNK3W7Q8D2V5XG9T4HRB6ZMF';
const NOW = new Date('2025-03-01T11:20:00.000Z');
const ctx = { source: wwtpAlarmSource, now: NOW, ruleVersion: 2 };
const opened = (id: string): Alarm =>
  openAlarm({ alarmId: id, signal: codSignal(), source: wwtpAlarmSource, now: NOW, ruleVersion: 2 }).alarm;

describe('planCommit', () => {
  it('reads only the alarms it does not open, and folds open, re-level and clear of one key into one change', () => {
    const transitions: Transition[] = [
      { kind: 'clear', alarmId: A1, signal: codSignal() },
      { kind: 'open', alarmId: A2, signal: codSignal() },
      { kind: 'level', alarmId: A2, from: 2, signal: codSignal({ level: 1 }) },
    ];
    expect(alarmsToRead(transitions)).toEqual([A1]);
    const plan = planCommit(transitions, new Map([[A1, opened(A1)]]), ctx);
    if ('conflicts' in plan) throw new Error('unexpected conflicts');
    expect(plan.work.get(A2)?.after).toMatchObject({ level: 1, state: 'active' });
    expect(plan.work.get(A2)?.events.map((e) => e.type)).toEqual(['open', 'level']);
    expect(plan.work.get(A1)?.after.state).toBe('cleared');
    // the key's slot passes from the cleared alarm to the new one
    expect(plan.slots.get('exceedance#w01018')).toMatchObject({ initial: A1, final: A2 });
  });

  it('answers alarm_closed for a transition on an alarm that is cleared or unknown', () => {
    const cleared = { ...opened(A1), state: 'cleared' as const };
    const plan = planCommit(
      [
        { kind: 'level', alarmId: A1, from: 2, signal: codSignal({ level: 1 }) },
        { kind: 'clear', alarmId: A2, signal: codSignal() },
      ],
      new Map([[A1, cleared]]),
      ctx,
    );
    expect(plan).toEqual({
      conflicts: [
        { kind: 'alarm_closed', alarmId: A1 },
        { kind: 'alarm_closed', alarmId: A2 },
      ],
    });
  });
});
