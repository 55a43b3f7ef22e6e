import { describe, expect, it } from 'vitest';
import { alarmsToRead, planCommit } from '#shared/domain/alarms/commit-plan.ts';
import { type Alarm, clearManually, openAlarm } from '#shared/domain/alarms/lifecycle.ts';
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

  it('opens a retrospective record without a slot or a notification, and grows it with adjacent re-sent data', () => {
    const window = {
      from: '2025-03-01T09:00:00.000Z',
      to: '2025-03-01T09:00:00.000Z',
      kind: 'hour',
      count: 1,
      peak: 115,
      resent: true,
    };
    const retroSignal = codSignal({ key: 'retro#exceedance#w01018', level: 3 });
    const first: Transition[] = [{ kind: 'retro', alarmId: A1, signal: retroSignal, window, extend: false }];
    expect(alarmsToRead(first)).toEqual([]);
    const plan = planCommit(first, new Map(), ctx);
    if ('conflicts' in plan) throw new Error('unexpected conflicts');
    expect(plan.slots.size).toBe(0);
    const record = plan.work.get(A1)?.after as Alarm;
    expect(record).toMatchObject({ state: 'active', retrospective: window, openedAt: window.from, level: 3 });
    expect(record.notifyDue).toBeUndefined();

    const later = { ...window, to: '2025-03-01T10:00:00.000Z', count: 2, peak: 160 };
    const grow: Transition[] = [
      {
        kind: 'retro',
        alarmId: A1,
        signal: codSignal({ ...retroSignal, level: 2, value: 160 }),
        window: later,
        extend: true,
      },
    ];
    expect(alarmsToRead(grow)).toEqual([A1]);
    const next = planCommit(grow, new Map([[A1, record]]), ctx);
    if ('conflicts' in next) throw new Error('unexpected conflicts');
    expect(next.work.get(A1)?.after).toMatchObject({ retrospective: later, level: 2, version: 2, state: 'active' });
    expect(next.work.get(A1)?.after.lastSignal.evidence).toHaveLength(2);
    expect(next.work.get(A1)?.events.map((e) => e.type)).toEqual(['comment']);
    expect(next.work.get(A1)?.after.notifyDue).toBeUndefined();
    // an official closing the review announces nothing either
    expect(clearManually(record, 'duty-1', NOW, '已核实，移交执法').alarm.notifyDue).toBeUndefined();
    // a record officials closed grows no more: the engine is told to start a new one
    const closed = clearManually(record, 'duty-1', NOW, '已核实').alarm;
    expect(planCommit(grow, new Map([[A1, closed]]), ctx)).toEqual({
      conflicts: [{ kind: 'alarm_closed', alarmId: A1 }],
    });
  });
});
