import { describe, expect, it } from 'vitest';
import {
  type Alarm,
  acknowledge,
  alarmSummary,
  autoClear,
  changeLevel,
  clearManually,
  commentEvent,
  MAX_SNOOZE_MS,
  openAlarm,
  snooze,
} from '#shared/domain/alarms/lifecycle.ts';
import { ConflictError, ValidationError } from '#shared/domain/errors.ts';
import { WWTP } from '#shared/domain/registry/qingyuan-seed.ts';
import { codSignal, WWTP_MN, wwtpAlarmSource } from './lifecycle-fixtures.ts';

const MN = WWTP_MN;
const source = wwtpAlarmSource;
const ALARM_ID = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const OPENED = new Date('2025-03-01T09:00:12.345Z');
const LATER = new Date('2025-03-01T10:05:00.000Z');

const opened = (): Alarm =>
  openAlarm({ alarmId: ALARM_ID, signal: codSignal(), source, now: OPENED, ruleVersion: 3 }).alarm;

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('openAlarm', () => {
  it('records an active alarm at version 1, due for notification now, with the source and the signal', () => {
    const { alarm, events } = openAlarm({
      alarmId: ALARM_ID,
      signal: codSignal(),
      source,
      now: OPENED,
      ruleVersion: 3,
    });

    expect(alarm).toMatchObject({
      alarmId: ALARM_ID,
      key: 'exceedance#w01018',
      mn: MN,
      enterpriseId: WWTP,
      townshipId: 'mengzhou',
      type: 'exceedance',
      pollutant: 'w01018',
      level: 2,
      state: 'active',
      openedAt: '2025-03-01T09:00:00.000Z',
      raisedAt: OPENED.toISOString(),
      version: 1,
      notify: {},
      notifyDue: OPENED.toISOString(),
      ruleVersion: 3,
      lastSignal: { value: 115, limit: 50, unit: 'mg/L', multiple: 2.3, rules: ['exceedance.hourly'] },
    });
    expect(alarm.summary).toBe('二级超标：庆元县示例城镇污水处理有限公司·尾水排放口·化学需氧量 2.3倍');
    expect(events).toEqual([
      {
        type: 'open',
        at: OPENED.toISOString(),
        by: 'system',
        level: 2,
        dataTime: '2025-03-01T09:00:00.000Z',
        note: codSignal().reasonZh,
      },
    ]);
  });

  it('keeps no pollutant on a device-wide alarm (comm loss) and uses `-` in its key', () => {
    const signal = codSignal({
      key: 'comm_loss#-',
      type: 'comm_loss',
      pollutant: undefined,
      level: 3,
      multiple: undefined,
      value: undefined,
      limit: undefined,
      unit: undefined,
    });
    const { alarm } = openAlarm({ alarmId: ALARM_ID, signal, source, now: OPENED, ruleVersion: 1 });

    expect(alarm.key).toBe('comm_loss#-');
    expect('pollutant' in alarm).toBe(false);
    expect(alarm.summary).toBe('三级通讯异常：庆元县示例城镇污水处理有限公司·尾水排放口');
  });

  it('refuses a signal without a level (that is a clear)', () => {
    expect(() =>
      openAlarm({ alarmId: ALARM_ID, signal: codSignal({ level: undefined }), source, now: OPENED, ruleVersion: 1 }),
    ).toThrow(/no level/);
  });
});

describe('changeLevel', () => {
  it('returns an acknowledged, snoozed alarm to active when the level rises', () => {
    const acked = {
      ...opened(),
      state: 'acknowledged' as const,
      acknowledgedBy: 'u-duty-01',
      acknowledgedAt: OPENED.toISOString(),
      snoozedUntil: LATER.toISOString(),
      snoozedBy: 'u-duty-01',
      version: 3,
      notifyDue: undefined,
    };

    const { alarm, events } = changeLevel(acked, codSignal({ level: 1, value: 320, multiple: 6.4 }), LATER);

    expect(alarm).toMatchObject({ level: 1, state: 'active', version: 4, notifyDue: LATER.toISOString() });
    expect(alarm.acknowledgedBy).toBeUndefined();
    expect(alarm.snoozedUntil).toBeUndefined();
    expect(alarm.summary).toMatch(/^一级超标：.*6\.4倍$/);
    expect(events[0]).toMatchObject({ type: 'level', from: 2, to: 1, by: 'system' });
  });

  it('keeps an acknowledged alarm acknowledged when the level falls', () => {
    const acked = {
      ...opened(),
      state: 'acknowledged' as const,
      acknowledgedBy: 'u-duty-01',
      acknowledgedAt: OPENED.toISOString(),
    };

    const { alarm } = changeLevel(acked, codSignal({ level: 3, value: 70, multiple: 1.4 }), LATER);

    expect(alarm).toMatchObject({ level: 3, state: 'acknowledged', acknowledgedBy: 'u-duty-01', version: 2 });
  });

  it('refuses to touch a cleared alarm (409)', () => {
    const cleared = { ...opened(), state: 'cleared' as const };
    expect(() => changeLevel(cleared, codSignal({ level: 1 }), LATER)).toThrow(ConflictError);
  });
});

describe('autoClear', () => {
  it('clears with the system as actor, ends a snooze, and makes the clear notice due', () => {
    const snoozed = { ...opened(), snoozedUntil: LATER.toISOString(), snoozedBy: 'u-duty-01' };
    const clearSignal = codSignal({ level: undefined, value: 30, reasonZh: '化学需氧量连续2小时低于限值的80%' });

    const { alarm, events } = autoClear(snoozed, clearSignal, LATER);

    expect(alarm).toMatchObject({
      state: 'cleared',
      clearedBy: 'system',
      clearMode: 'auto',
      clearedAt: LATER.toISOString(),
      notifyDue: LATER.toISOString(),
      version: 2,
    });
    expect(alarm.snoozedUntil).toBeUndefined();
    expect(events).toEqual([
      {
        type: 'clear',
        at: LATER.toISOString(),
        by: 'system',
        mode: 'auto',
        dataTime: clearSignal.at,
        note: clearSignal.reasonZh,
      },
    ]);
  });

  it('refuses an alarm that is already cleared (409)', () => {
    const cleared = autoClear(opened(), codSignal({ level: undefined }), LATER).alarm;
    expect(() => autoClear(cleared, codSignal({ level: undefined }), LATER)).toThrow(ConflictError);
  });
});

describe('acknowledge', () => {
  it('acknowledges an active alarm, keeping notifyDue as it was', () => {
    const { alarm, events, changed } = acknowledge(opened(), 'u-duty-01', LATER, '已电话联系污水厂值班长');

    expect(changed).toBe(true);
    expect(alarm).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'u-duty-01',
      acknowledgedAt: LATER.toISOString(),
      version: 2,
      notifyDue: OPENED.toISOString(),
    });
    expect(events).toEqual([{ type: 'ack', at: LATER.toISOString(), by: 'u-duty-01', note: '已电话联系污水厂值班长' }]);
  });

  it('records no note when none is given', () => {
    const { events } = acknowledge(opened(), 'u-duty-01', LATER);
    expect(events).toEqual([{ type: 'ack', at: LATER.toISOString(), by: 'u-duty-01' }]);
  });

  it('changes nothing when the same person acknowledges again', () => {
    const once = acknowledge(opened(), 'u-duty-01', OPENED).alarm;

    const again = acknowledge(once, 'u-duty-01', LATER);

    expect(again).toEqual({ alarm: once, events: [], changed: false });
  });

  it('refuses (409) when someone else already acknowledged it', () => {
    const once = acknowledge(opened(), 'u-duty-01', OPENED).alarm;
    expect(() => acknowledge(once, 'u-analyst-02', LATER)).toThrow(/already acknowledged by u-duty-01/);
    expect(() => acknowledge(once, 'u-analyst-02', LATER)).toThrow(ConflictError);
  });

  it('refuses (409) a cleared alarm', () => {
    const cleared = clearManually(opened(), 'u-chief-01', OPENED, '现场核查已整改').alarm;
    expect(() => acknowledge(cleared, 'u-duty-01', LATER)).toThrow(ConflictError);
  });
});

describe('snooze', () => {
  const until = new Date(LATER.getTime() + 4 * 3_600_000).toISOString();

  it('holds reminders until the given time, with a note, in active or acknowledged state', () => {
    const { alarm, events } = snooze(opened(), 'u-duty-01', LATER, until, '企业报告检修，4小时内复测');

    expect(alarm).toMatchObject({ state: 'active', snoozedUntil: until, snoozedBy: 'u-duty-01', version: 2 });
    expect(events).toEqual([
      { type: 'snooze', at: LATER.toISOString(), by: 'u-duty-01', until, note: '企业报告检修，4小时内复测' },
    ]);
    const acked = acknowledge(opened(), 'u-duty-01', OPENED).alarm;
    expect(snooze(acked, 'u-duty-01', LATER, until, '复测中').alarm.state).toBe('acknowledged');
  });

  it('accepts exactly 24 hours ahead', () => {
    const max = new Date(LATER.getTime() + MAX_SNOOZE_MS).toISOString();
    expect(snooze(opened(), 'u-duty-01', LATER, max, '夜间停产').alarm.snoozedUntil).toBe(max);
  });

  it('refuses more than 24 hours ahead, or a time already past, with a Chinese message (400)', () => {
    const tooFar = new Date(LATER.getTime() + MAX_SNOOZE_MS + 1000).toISOString();
    expect(issuesOf(() => snooze(opened(), 'u-duty-01', LATER, tooFar, '长期停产'))).toEqual([
      expect.objectContaining({ field: 'body.until', messageZh: '暂缓截止时间须晚于当前时间且不超过24小时' }),
    ]);
    expect(issuesOf(() => snooze(opened(), 'u-duty-01', LATER, OPENED.toISOString(), '已过时'))[0]?.field).toBe(
      'body.until',
    );
  });

  it('requires a note (400)', () => {
    expect(issuesOf(() => snooze(opened(), 'u-duty-01', LATER, until, '   '))).toEqual([
      { field: 'body.note', message: 'a note is required', messageZh: '请填写说明' },
    ]);
  });

  it('refuses a cleared alarm (409)', () => {
    const cleared = clearManually(opened(), 'u-chief-01', OPENED, '已整改').alarm;
    expect(() => snooze(cleared, 'u-duty-01', LATER, until, '复测')).toThrow(ConflictError);
  });
});

describe('clearManually', () => {
  it('clears with the official as actor and the note on the timeline', () => {
    const { alarm, events } = clearManually(opened(), 'u-chief-01', LATER, '  现场核查：进水冲击已消除  ');

    expect(alarm).toMatchObject({
      state: 'cleared',
      clearedBy: 'u-chief-01',
      clearMode: 'manual',
      clearedAt: LATER.toISOString(),
      notifyDue: LATER.toISOString(),
      version: 2,
    });
    expect(events).toEqual([
      { type: 'clear', at: LATER.toISOString(), by: 'u-chief-01', mode: 'manual', note: '现场核查：进水冲击已消除' },
    ]);
  });

  it('requires a note (400)', () => {
    expect(() => clearManually(opened(), 'u-chief-01', LATER, undefined)).toThrow(ValidationError);
  });

  it('refuses a note longer than 500 characters (400)', () => {
    expect(issuesOf(() => clearManually(opened(), 'u-chief-01', LATER, '查'.repeat(501)))[0]).toMatchObject({
      messageZh: '说明不能超过500个字符',
    });
  });

  it('refuses an alarm already cleared (409)', () => {
    const cleared = clearManually(opened(), 'u-chief-01', OPENED, '已整改').alarm;
    expect(() => clearManually(cleared, 'u-chief-01', LATER, '再次解除')).toThrow(ConflictError);
  });
});

describe('commentEvent', () => {
  it('makes a comment event with the trimmed note', () => {
    expect(commentEvent('u-analyst-02', LATER, ' 与12345热线线索关联 ')).toEqual({
      type: 'comment',
      at: LATER.toISOString(),
      by: 'u-analyst-02',
      note: '与12345热线线索关联',
    });
  });

  it('requires a note (400)', () => {
    expect(() => commentEvent('u-analyst-02', LATER, '')).toThrow(ValidationError);
  });
});

describe('alarmSummary', () => {
  it('names an unknown pollutant code as is and omits a missing multiple', () => {
    expect(
      alarmSummary({ level: 4, type: 'prewarning', enterpriseName: '某厂', outletName: '总排口', pollutant: 'w99999' }),
    ).toBe('四级接近限值：某厂·总排口·w99999');
  });
});
