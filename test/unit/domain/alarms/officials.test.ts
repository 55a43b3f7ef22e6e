import { beforeEach, describe, expect, it } from 'vitest';
import { type Alarm, openAlarm } from '#shared/domain/alarms/lifecycle.ts';
import { defaultRuleSet } from '#shared/domain/alarms/rules.ts';
import { AlarmService, acceptsIfMatch } from '#shared/domain/alarms/use-cases.ts';
import { MemoryAlarmStore } from '../../helpers/memory-alarms.ts';
import { codSignal, wwtpAlarmSource } from './lifecycle-fixtures.ts';

const A1 = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const OPENED = new Date('2025-03-01T09:00:12.345Z');
const NOW = new Date('2025-03-01T11:20:00.000Z');
const alarm = (over: Partial<Alarm> = {}): Alarm => ({
  ...openAlarm({ alarmId: A1, signal: codSignal(), source: wwtpAlarmSource, now: OPENED, ruleVersion: 2 }).alarm,
  ...over,
});

let store: MemoryAlarmStore;
let alarms: AlarmService;
beforeEach(() => {
  store = new MemoryAlarmStore();
  alarms = new AlarmService({ store, now: () => NOW });
});
const seed = (a: Alarm, stateVersion = a.version) => store.alarms.set(a.alarmId, { alarm: a, stateVersion });
const failure = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e);

describe('acceptsIfMatch', () => {
  it('takes a version between the last real change and the last notification, and nothing else', () => {
    expect(acceptsIfMatch(2, { version: 4, stateVersion: 2 })).toBe(true);
    expect(acceptsIfMatch(4, { version: 4, stateVersion: 2 })).toBe(true);
    expect(acceptsIfMatch(1, { version: 4, stateVersion: 2 })).toBe(false);
    expect(acceptsIfMatch(5, { version: 4, stateVersion: 2 })).toBe(false);
  });
});

describe('AlarmService', () => {
  it('acknowledges with the audit entry naming the note and the new version', async () => {
    seed(alarm());
    const acked = await alarms.acknowledge(A1, 'u-duty-01', '已电话通知厂方', 1);
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'u-duty-01', version: 2 });
    expect(store.audit).toEqual([
      expect.objectContaining({
        actor: 'u-duty-01',
        action: 'alarm.acknowledge',
        detail: { version: 2, note: '已电话通知厂方' },
      }),
    ]);
  });

  it('writes nothing when the same person acknowledges again', async () => {
    seed(
      alarm({ state: 'acknowledged', acknowledgedBy: 'u-duty-01', acknowledgedAt: OPENED.toISOString(), version: 2 }),
    );
    expect(await alarms.acknowledge(A1, 'u-duty-01', undefined)).toMatchObject({ version: 2 });
    expect(store.audit).toEqual([]);
  });

  it('keeps an If-Match taken before a reminder valid, and refuses one older than the last real change (412)', async () => {
    seed(alarm({ version: 4 }), 2);
    expect(await alarms.acknowledge(A1, 'u-duty-01', undefined, 2)).toMatchObject({ version: 5 });
    seed(alarm({ version: 4 }), 3);
    expect(await failure(alarms.acknowledge(A1, 'u-duty-01', undefined, 2))).toMatchObject({ status: 412 });
  });

  it('decides again when a reminder lands between the read and the write', async () => {
    seed(alarm({ version: 2 }), 2);
    store.reminderBeforeWrite = true;
    expect(await alarms.acknowledge(A1, 'u-duty-01', undefined, 2)).toMatchObject({ version: 4 });
  });

  it('answers 404 for an unknown alarm (its timeline too) and 409 for acknowledging a cleared one', async () => {
    expect(await failure(alarms.get(A1))).toMatchObject({ status: 404 });
    expect(await failure(alarms.timeline(A1, { limit: 10 }))).toMatchObject({ status: 404 });
    seed(alarm({ state: 'cleared' }));
    expect(await failure(alarms.acknowledge(A1, 'u-duty-01', undefined))).toMatchObject({ status: 409 });
  });

  it('snoozes with the until time in the audit detail, and refuses more than 24 hours (400)', async () => {
    seed(alarm());
    const until = '2025-03-01T15:20:00.000Z';
    await alarms.snooze(A1, 'u-duty-01', '厂方检修，复测后再报', until);
    expect(store.audit[0]?.detail).toEqual({ version: 2, note: '厂方检修，复测后再报', until });
    expect(await failure(alarms.snooze(A1, 'u-duty-01', '等', '2025-03-03T00:00:00.000Z'))).toMatchObject({
      status: 400,
    });
  });

  it('clears manually as a manual clear the store must tell the evaluator, with a required note', async () => {
    seed(alarm());
    expect(await failure(alarms.clear(A1, 'u-chief-01', undefined))).toMatchObject({ status: 400 });
    const cleared = await alarms.clear(A1, 'u-chief-01', '现场核查：进水冲击已消除', 1);
    expect(cleared).toMatchObject({ state: 'cleared', clearMode: 'manual', clearedBy: 'u-chief-01' });
    expect(store.manualClears).toEqual([A1]);
  });

  it('comments with an audit entry, and answers 404 for an unknown alarm', async () => {
    expect(await failure(alarms.comment(A1, 'u-analyst-02', '备注'))).toMatchObject({ status: 404 });
    seed(alarm());
    const event = await alarms.comment(A1, 'u-analyst-02', '与12345热线线索关联');
    expect(event).toEqual({ type: 'comment', at: NOW.toISOString(), by: 'u-analyst-02', note: '与12345热线线索关联' });
    expect(store.audit[0]).toMatchObject({ action: 'alarm.comment', entity: `alarm/${A1}` });
  });

  it('normalizes the time range of a listing and refuses from after to (400)', async () => {
    await alarms.list({ from: '2025-03-01T16:00:00+08:00', state: 'active' }, { limit: 10 });
    expect(store.filters[0]).toEqual({ state: 'active', from: '2025-03-01T08:00:00.000Z' });
    expect(
      await failure(alarms.list({ from: '2025-03-02T00:00:00Z', to: '2025-03-01T00:00:00Z' }, { limit: 10 })),
    ).toMatchObject({ status: 400 });
    expect(await failure(alarms.list({ to: 'tomorrow' }, { limit: 10 }))).toMatchObject({ status: 400 });
  });

  describe('rules', () => {
    const { version: _v, updatedAt: _u, updatedBy: _b, ...defaults } = defaultRuleSet();
    const input = { ...defaults, note: '预警阈值调整为限值的80%' };

    it('serves the defaults (version 1) while none are stored, also as the only version', async () => {
      expect(await alarms.rules()).toEqual(defaultRuleSet());
      expect(await alarms.ruleVersions({ limit: 10 })).toEqual({ items: [defaultRuleSet()] });
    });

    it('stores the next version with who and when, refusing a stale If-Match (412)', async () => {
      const v2 = await alarms.replaceRules(input, 'u-admin-01', 1);
      expect(v2).toMatchObject({ version: 2, updatedBy: 'u-admin-01', updatedAt: NOW.toISOString() });
      expect(await failure(alarms.replaceRules(input, 'u-chief-01', 1))).toMatchObject({ status: 412 });
      expect((await alarms.replaceRules(input, 'u-chief-01')).version).toBe(3);
      expect((await alarms.ruleVersions({ limit: 10 })).items.map((r) => r.version)).toEqual([3, 2]);
    });
  });
});
