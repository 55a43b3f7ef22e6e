import { describe, expect, it } from 'vitest';
import { AlarmDelivery, type Publisher } from '#shared/domain/alarms/delivery.ts';
import type { EvalState } from '#shared/domain/alarms/engine.ts';
import { AlarmEvaluator, type EvalSnapshot, type EvalStore } from '#shared/domain/alarms/evaluator.ts';
import { AlarmJobs, JOB_CONCURRENCY } from '#shared/domain/alarms/jobs.ts';
import {
  type Alarm,
  type AlarmEvent,
  autoClear,
  changeLevel,
  clearManually,
  extendRetrospective,
  openAlarm,
  openRetrospective,
} from '#shared/domain/alarms/lifecycle.ts';
import type { AlarmSource, Transition } from '#shared/domain/alarms/model.ts';
import type { OutboundMessage } from '#shared/domain/alarms/notify.ts';
import type { AlarmFilter } from '#shared/domain/alarms/ports.ts';
import { defaultRuleSet } from '#shared/domain/alarms/rules.ts';
import type { RowQuery } from '#shared/domain/ingest/ports.ts';
import type { KindState, Reading, ReadingRow } from '#shared/domain/readings/model.ts';
import type { Device } from '#shared/domain/registry/model.ts';
import { bambooSource, reading } from './engine-fixtures.ts';

/**
 * The evaluator, delivery and job use-cases over an in-memory alarm store that keeps DynamoDB's semantics that matter:
 * the engine state is written only when its version matches, and a failed write hands back what is stored.
 */
class MemoryAlarmStore implements EvalStore {
  readonly states = new Map<string, { ver: number; json: string; forget: string[] }>();
  readonly alarms = new Map<string, Alarm>();
  readonly events: AlarmEvent[] = [];
  calls = { commits: 0, failedCommits: 0, loads: 0, gets: 0, recordNotified: 0, lists: 0 };

  async commitEvaluation(
    mn: string,
    expectedVer: number,
    nextState: unknown,
    transitions: Transition[],
    source: AlarmSource,
    now: Date,
    ruleVersion: number,
  ) {
    this.calls.commits++;
    const stored = this.states.get(mn);
    if ((stored?.ver ?? 0) !== expectedVer) {
      this.calls.failedCommits++;
      return { ok: false as const, ...(stored ? { current: this.snapshot(stored) } : {}) };
    }
    const changed: Alarm[] = [];
    for (const t of transitions) {
      const before = this.alarms.get(t.alarmId);
      const change =
        t.kind === 'open'
          ? openAlarm({ alarmId: t.alarmId, signal: t.signal, source, now, ruleVersion })
          : t.kind === 'retro'
            ? t.extend
              ? extendRetrospective(before as Alarm, t.signal, t.window, now)
              : openRetrospective({ alarmId: t.alarmId, signal: t.signal, window: t.window, source, now, ruleVersion })
            : t.kind === 'level'
              ? changeLevel(before as Alarm, t.signal, now)
              : autoClear(before as Alarm, t.signal, now);
      this.alarms.set(t.alarmId, change.alarm);
      this.events.push(...change.events);
      changed.push(change.alarm);
    }
    const ver = expectedVer + 1;
    this.states.set(mn, { ver, json: JSON.stringify(nextState), forget: [] });
    return { ok: true as const, ver, alarms: changed };
  }

  async loadEvalState(mn: string) {
    this.calls.loads++;
    const stored = this.states.get(mn);
    return stored ? this.snapshot(stored) : undefined;
  }

  async get(alarmId: string) {
    this.calls.gets++;
    return this.alarms.get(alarmId);
  }

  async due(now: Date) {
    return [...this.alarms.values()].filter((a) => a.notifyDue !== undefined && a.notifyDue <= now.toISOString());
  }

  /** the state index, one page, newest first */
  async list(filter: AlarmFilter) {
    this.calls.lists++;
    const items = [...this.alarms.values()]
      .filter((a) => a.state === (filter.state ?? 'active') && (!filter.type || a.type === filter.type))
      .sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
    return { items };
  }

  async recordNotified(
    alarmId: string,
    expectedVersion: number,
    notify: Record<string, unknown>,
    nextDueAt: string | undefined,
    events: AlarmEvent[],
  ) {
    this.calls.recordNotified++;
    const a = this.alarms.get(alarmId) as Alarm;
    if (a.version !== expectedVersion) throw new Error('ConditionalCheckFailed');
    const { notifyDue: _due, ...rest } = a;
    this.alarms.set(alarmId, {
      ...rest,
      notify,
      version: a.version + 1,
      ...(nextDueAt ? { notifyDue: nextDueAt } : {}),
    });
    this.events.push(...events);
    return a.version + 1;
  }

  /** An official's manual clear: the alarm, and the notice to the evaluator (version bump + forget). */
  clearByHand(alarmId: string, by: string, now: Date) {
    const a = this.alarms.get(alarmId) as Alarm;
    this.alarms.set(alarmId, clearManually(a, by, now, '现场核查后人工解除').alarm);
    const stored = this.states.get(a.mn);
    if (stored) this.states.set(a.mn, { ...stored, ver: stored.ver + 1, forget: [...stored.forget, alarmId] });
  }

  private snapshot(stored: { ver: number; json: string; forget: string[] }): EvalSnapshot {
    const state = JSON.parse(stored.json) as EvalState;
    if (stored.forget.length > 0) state.forget = [...(state.forget ?? []), ...stored.forget];
    return { ver: stored.ver, state };
  }
}

class RecordingPublisher implements Publisher {
  sent: OutboundMessage[] = [];
  failuresLeft = 0;
  permanent = false;

  async deliver(messages: OutboundMessage[], opts?: { skip?: readonly string[] }) {
    const skip = new Set(opts?.skip ?? []);
    const todo = messages.filter((m) => !skip.has(m.dedupeId));
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      // the first message went out, the rest failed (an SMS provider outage halfway)
      const [first] = todo;
      if (first) this.sent.push(first);
      throw Object.assign(new Error(this.permanent ? 'SMS provider answered 400' : 'SMS provider answered 503'), {
        delivered: first ? [first.dedupeId] : [],
        retryable: !this.permanent,
      });
    }
    this.sent.push(...todo);
    return { delivered: todo.map((m) => m.dedupeId) };
  }
}

const source = bambooSource();
const rules = defaultRuleSet();
const NOW = new Date('2026-11-29T10:00:00.000Z');

function harness(store = new MemoryAlarmStore(), publisher = new RecordingPublisher()) {
  let ids = 0;
  const delivery = new AlarmDelivery(store, publisher);
  const evaluator = () =>
    new AlarmEvaluator({
      sources: { get: async (mn) => (mn === source.mn ? source : undefined) },
      rules: { current: async () => rules },
      store,
      delivery,
      newId: () => `01KALARM${String(++ids).padStart(18, '0')}`,
      now: () => NOW,
    });
  return { store, publisher, delivery, evaluator };
}

const hourly = (hour: number, cod: number): Reading[] => [
  reading(source, {
    pollutant: 'w01018',
    at: new Date(Date.parse('2026-11-28T00:00:00.000Z') + hour * 3_600_000).toISOString(),
    values: { avg: cod },
  }),
];

describe('AlarmEvaluator', () => {
  it('costs one conditional write and no read per message in the steady state', async () => {
    const h = harness();
    const ev = h.evaluator();
    for (let i = 0; i < 20; i++) await ev.evaluate(source.mn, hourly(i, 40 + (i % 5)));
    // the one read: the container's first message of the device
    expect(h.store.calls).toMatchObject({ commits: 20, failedCommits: 0, loads: 1, gets: 0 });
    expect(h.store.alarms.size).toBe(0);
  });

  it('starts a new container with one read of the state instead of a failed write, and keeps what the other one knew', async () => {
    const h = harness();
    await h.evaluator().evaluate(source.mn, hourly(0, 250)); // container A opens the exceedance
    const b = h.evaluator(); // container B has never seen the device
    h.store.calls = { commits: 0, failedCommits: 0, loads: 0, gets: 0, recordNotified: 0, lists: 0 };
    const out = await b.evaluate(source.mn, hourly(1, 260));
    expect(out.attempts).toBe(1);
    expect(out.transitions).toEqual([]); // still the same open alarm, not a second one
    expect(h.store.calls).toMatchObject({ commits: 1, failedCommits: 0, loads: 1 });
    expect([...h.store.alarms.values()].filter((a) => a.state === 'active')).toHaveLength(1);
  });

  it('opens one alarm when two containers see the same exceedance, however their writes interleave', async () => {
    const h = harness();
    const [a, b] = [h.evaluator(), h.evaluator()];
    for (let i = 0; i < 6; i++) await (i % 2 === 0 ? a : b).evaluate(source.mn, hourly(i, 180 + i));
    const opened = [...h.store.alarms.values()];
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ type: 'exceedance', pollutant: 'w01018', state: 'active' });
    // 3 h above the limit raised it to 二级 once
    expect(h.store.events.filter((e) => e.type === 'level')).toHaveLength(1);
  });

  it('treats a reading delivered three times as one, and sends one set of messages', async () => {
    const h = harness();
    const ev = h.evaluator();
    for (let i = 0; i < 3; i++) await ev.evaluate(source.mn, hourly(0, 250));
    expect(h.store.alarms.size).toBe(1);
    const opens = h.publisher.sent.filter((m) => m.kind === 'open');
    expect(opens.map((m) => m.audience).sort()).toEqual(['bureau', 'enterprise', 'regulator']);
  });

  it('logs who got which SMS on the timeline, with the text and masked numbers only', async () => {
    const h = harness();
    await h.evaluator().evaluate(source.mn, hourly(0, 250));
    const sent = h.publisher.sent.find((m) => m.audience === 'bureau');
    const logged = h.store.events.find((e) => e.type === 'notified' && e.audience === 'bureau');
    expect(sent?.recipients.length).toBeGreaterThan(0);
    expect(logged).toMatchObject({
      sms: sent?.sms,
      recipients: sent?.recipients.map((r) => ({
        name: r.name,
        role: r.role,
        phone: `${r.phone.slice(0, 3)}****${r.phone.slice(-4)}`,
      })),
    });
    expect(JSON.stringify(logged)).not.toContain(sent?.recipients[0]?.phone);
  });

  it('raises a fresh alarm after an official clears one by hand while the condition persists', async () => {
    const h = harness();
    const ev = h.evaluator();
    await ev.evaluate(source.mn, hourly(0, 250));
    const first = [...h.store.alarms.keys()][0] as string;
    h.store.clearByHand(first, 'duty-1', NOW);
    const out = await ev.evaluate(source.mn, hourly(1, 240));
    expect(out.transitions.map((t) => t.kind)).toEqual(['open']);
    expect(out.transitions[0]?.alarmId).not.toBe(first);
    expect(h.store.alarms.get(first)?.state).toBe('cleared');
  });

  it('records an exceedance in re-sent (RF=1) data as one retrospective record and pages nobody, twice sent or not', async () => {
    const h = harness();
    const ev = h.evaluator();
    await ev.evaluate(source.mn, hourly(30, 40)); // live data is a day ahead of the backlog
    const backlog = [2, 3, 4].map((hour) => ({ ...(hourly(hour, 180)[0] as Reading), resent: true }));
    for (const r of [...backlog, ...backlog]) {
      const out = await ev.evaluate(source.mn, [r]);
      expect(out.deliveries).toEqual([]);
    }
    const stored = [...h.store.alarms.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      type: 'exceedance',
      state: 'active',
      openedAt: '2026-11-28T02:00:00.000Z',
      retrospective: { from: '2026-11-28T02:00:00.000Z', to: '2026-11-28T04:00:00.000Z', count: 3, resent: true },
    });
    expect(stored[0]?.notifyDue).toBeUndefined();
    expect(stored[0]?.summary).toMatch(/^补传/);
    expect(h.publisher.sent).toEqual([]);
    expect(await h.store.due(new Date('2030-01-01T00:00:00Z'))).toEqual([]);
    // the delivery refuses to page it even when asked
    expect(await h.delivery.deliver(stored[0] as Alarm, 'open', source, rules.notification, NOW)).toEqual({
      alarmId: stored[0]?.alarmId,
      sent: 0,
    });
  });

  it('pages a failed standard-sample check (CN 2062) as a device-quality alarm', async () => {
    const h = harness();
    const check = reading(source, {
      pollutant: 'w01018',
      kind: 'check',
      at: '2026-11-29T01:30:00.000Z',
      values: { sampleRd: 61.3, standardValue: 50, result: 0 },
    });
    const out = await h.evaluator().evaluate(source.mn, [check]);
    expect(out.transitions).toMatchObject([{ kind: 'open', key: 'standard_check_failed#w01018', level: 3 }]);
    expect(out.deliveries[0]?.sent).toBeGreaterThan(0);
    expect(h.publisher.sent.some((m) => JSON.stringify(m).includes('标样核查不合格'))).toBe(true);
  });

  it('ignores devices the registry does not know', async () => {
    const h = harness();
    const out = await h.evaluator().evaluate('NOSUCHMN', hourly(0, 500));
    expect(out.skipped).toBe('unknown-device');
    expect(h.store.calls.commits).toBe(0);
  });
});

describe('AlarmDelivery', () => {
  it('retries a partial failure at once without sending anything twice', async () => {
    const h = harness();
    h.publisher.failuresLeft = 1;
    await h.evaluator().evaluate(source.mn, hourly(0, 250));
    const ids = h.publisher.sent.map((m) => m.dedupeId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(3);
    const alarm = [...h.store.alarms.values()][0] as Alarm;
    expect(Object.keys((alarm.notify as { audiences: object }).audiences).sort()).toEqual([
      'bureau',
      'enterprise',
      'regulator',
    ]);
  });

  it('keeps the alarm due when delivery keeps failing, and the sweep delivers it later', async () => {
    const h = harness();
    h.publisher.failuresLeft = 10;
    const out = await h.evaluator().evaluate(source.mn, hourly(0, 250));
    expect(out.deliveries[0]?.failed).toContain('503');
    const alarm = [...h.store.alarms.values()][0] as Alarm;
    expect(alarm.notifyDue).toBe(NOW.toISOString());
    // nothing counts as notified, but what did go out is remembered on the alarm
    expect(alarm.notify).not.toHaveProperty('audiences.bureau');
    expect((alarm.notify as { delivered: string[] }).delivered).toHaveLength(3);

    h.publisher.failuresLeft = 0;
    const jobs = new AlarmJobs({
      store: h.store,
      sources: { get: async () => source },
      rules: { current: async () => rules },
      delivery: h.delivery,
      devices: { list: async () => ({ items: [] }) },
      readings: { rows: async () => ({ items: [] }), latest: async () => [] },
      newId: () => 'unused',
      now: () => new Date(NOW.getTime() + 60_000),
    });
    const swept = await jobs.sweep();
    expect(swept).toMatchObject({ looked: 1, failed: 0 });
    expect(h.publisher.sent.filter((m) => m.kind === 'open').map((m) => m.audience)).toEqual(
      expect.arrayContaining(['bureau', 'enterprise', 'regulator']),
    );
    // what went out during the failing attempts was remembered and not sent again by the sweep
    const ids = h.publisher.sent.map((m) => m.dedupeId);
    expect(new Set(ids).size).toBe(ids.length);
    const after = [...h.store.alarms.values()][0] as Alarm;
    expect(after.notify).toHaveProperty('audiences.bureau');
    expect(after.notify).not.toHaveProperty('delivered');
    // next due: the reminder of a 二级 alarm nobody acknowledged (30 minutes after the message)
    expect(after.notifyDue).toBe('2026-11-29T10:31:00.000Z');
  });

  it('gives up on permanent failures instead of retrying them every minute, and says so on the timeline', async () => {
    const h = harness();
    h.publisher.failuresLeft = 10;
    h.publisher.permanent = true;
    const out = await h.evaluator().evaluate(source.mn, hourly(0, 250));
    expect(out.deliveries[0]?.failed).toBeUndefined();
    expect(h.store.calls.recordNotified).toBe(1);
    expect(h.store.events.filter((e) => e.type === 'notified').map((e) => e.note)).toEqual(
      expect.arrayContaining([expect.stringContaining('undeliverable: SMS provider answered 400')]),
    );
  });
});

describe('AlarmJobs.dataGaps', () => {
  const device = {
    item: { mn: source.mn, status: 'active' } as unknown as Device,
    version: 1,
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
  };
  const jobsDeps = (h: ReturnType<typeof harness>, now: Date) => ({
    store: h.store,
    sources: { get: async () => source },
    rules: { current: async () => rules },
    delivery: h.delivery,
    devices: { list: async () => ({ items: [device] }) },
    readings: { rows: async () => ({ items: [] }), latest: async (): Promise<KindState[]> => [] },
    newId: (() => {
      let n = 0;
      return () => `01KGAP${String(++n).padStart(20, '0')}`;
    })(),
    now: () => now,
  });
  const jobsFor = (h: ReturnType<typeof harness>, latest: () => KindState[], now: Date) =>
    new AlarmJobs({
      ...jobsDeps(h, now),
      readings: { rows: async () => ({ items: [] }), latest: async () => latest() },
    });
  const arrived = (kind: KindState['kind'], at: string): KindState => ({
    kind,
    lastDataTime: at,
    lastReceivedAt: at,
    values: {},
  });
  /** the real-time arrival as given; minute (10-min data) and hourly data in time at 10:00 */
  const inTimeBut = (realtime: string): KindState[] => [
    arrived('realtime', realtime),
    arrived('minute', '2026-11-29T09:50:00.000Z'),
    arrived('hour', '2026-11-29T09:00:00.000Z'),
  ];

  it('raises one gap per silent kind, does not raise it twice, and clears it when data arrive again', async () => {
    const h = harness();
    const now = new Date('2026-11-29T10:00:00.000Z');
    let latest = [
      arrived('realtime', '2026-11-29T09:20:00.000Z'), // 40 min ago: silent (allowance 10 min)
      arrived('minute', '2026-11-29T09:50:00.000Z'), // in time (10-min data, 3 × 10 + 30 min allowed)
      arrived('hour', '2026-11-29T09:00:00.000Z'),
    ];
    const jobs = jobsFor(h, () => latest, now);
    expect(await jobs.dataGaps()).toEqual({ devices: 1, arrivalReads: 1, stateReads: 1, transitions: 1 });
    expect(await jobs.dataGaps()).toEqual({ devices: 1, arrivalReads: 1, stateReads: 1, transitions: 0 });
    const gap = [...h.store.alarms.values()][0] as Alarm;
    expect(gap).toMatchObject({ type: 'data_gap', key: 'data_gap#realtime', level: 3, state: 'active' });

    // the data came back and the evaluator did not clear the gap (e.g. it raced the job): the job clears it
    latest = [arrived('realtime', '2026-11-29T09:59:30.000Z'), ...latest.slice(1)];
    expect(await jobs.dataGaps()).toEqual({ devices: 1, arrivalReads: 1, stateReads: 1, transitions: 1 });
    expect(h.store.alarms.get(gap.alarmId)?.state).toBe('cleared');
    // nothing open any more, everything in time: the state is not read again
    const loads = h.store.calls.loads;
    expect(await jobs.dataGaps()).toEqual({ devices: 1, arrivalReads: 0, stateReads: 0, transitions: 0 });
    expect(h.store.calls.loads).toBe(loads);
  });

  it('reads no alarm state for a device whose kinds all arrived in time, and one listing of open gaps per run', async () => {
    const h = harness();
    const now = new Date('2026-11-29T10:00:00.000Z');
    const latest = inTimeBut('2026-11-29T09:59:30.000Z');
    expect(await jobsFor(h, () => latest, now).dataGaps()).toEqual({
      devices: 1,
      arrivalReads: 1,
      stateReads: 0,
      transitions: 0,
    });
    expect(h.store.calls).toMatchObject({ loads: 0, commits: 0, lists: 2 }); // active and acknowledged
  });

  it("reads a device's arrivals again only once what it last read of them could be overdue", async () => {
    const h = harness();
    let reads = 0;
    const at = (iso: string) => new Date(iso);
    const latest = inTimeBut('2026-11-29T09:59:30.000Z');
    const jobs = new AlarmJobs({
      ...jobsDeps(h, at('2026-11-29T10:00:00.000Z')),
      readings: {
        rows: async () => ({ items: [] }),
        latest: async () => {
          reads++;
          return latest;
        },
      },
    });
    expect(await jobs.dataGaps(at('2026-11-29T10:00:00.000Z'))).toMatchObject({ arrivalReads: 1, transitions: 0 });
    // 5 minutes on: the real-time data read at 09:59:30 are 5½ minutes old, within their 10 minutes; nothing read
    expect(await jobs.dataGaps(at('2026-11-29T10:05:00.000Z'))).toMatchObject({ arrivalReads: 0, transitions: 0 });
    // 10 minutes on: that read could be overdue now, so the arrivals are read again (and the device went quiet)
    expect(await jobs.dataGaps(at('2026-11-29T10:10:00.000Z'))).toMatchObject({ arrivalReads: 1, transitions: 1 });
    expect(reads).toBe(2);
    // an open gap alarm is always judged from a fresh read
    expect(await jobs.dataGaps(at('2026-11-29T10:11:00.000Z'))).toMatchObject({ arrivalReads: 1, stateReads: 1 });
  });

  it('reads the state of a device never heard from (its silence counts from registration)', async () => {
    const h = harness();
    const out = await jobsFor(h, () => [], new Date('2026-11-29T10:00:00.000Z')).dataGaps();
    expect(out).toMatchObject({ devices: 1, stateReads: 1 });
    expect(out.transitions).toBeGreaterThan(0);
  });

  it('clears the open gap of a device put under maintenance, though its data are still missing', async () => {
    const h = harness();
    const now = new Date('2026-11-29T10:00:00.000Z');
    const latest = inTimeBut('2026-11-29T09:20:00.000Z');
    let current: AlarmSource = source;
    const jobs = new AlarmJobs({
      ...jobsDeps(h, now),
      sources: { get: async () => current },
      readings: { rows: async () => ({ items: [] }), latest: async () => latest },
    });
    expect(await jobs.dataGaps()).toMatchObject({ transitions: 1 });
    current = { ...source, deviceStatus: 'maintenance' };
    expect(await jobs.dataGaps()).toEqual({ devices: 1, arrivalReads: 1, stateReads: 1, transitions: 1 });
    expect([...h.store.alarms.values()].map((a) => a.state)).toEqual(['cleared']);
  });

  it('judges many devices a few at a time, each once', async () => {
    const h = harness();
    const now = new Date('2026-11-29T10:00:00.000Z');
    const devices = Array.from({ length: 40 }, (_, i) => ({
      ...device,
      item: { ...device.item, mn: `${source.mn.slice(0, -2)}${String(i).padStart(2, '0')}` } as Device,
    }));
    let inFlight = 0;
    let maxInFlight = 0;
    const jobs = new AlarmJobs({
      ...jobsDeps(h, now),
      sources: { get: async (mn) => ({ ...source, mn }) },
      devices: {
        list: async (cursor) => {
          const from = Number(cursor ?? 0);
          const next = from + 15;
          return { items: devices.slice(from, next), ...(next < devices.length ? { cursor: String(next) } : {}) };
        },
      },
      readings: {
        rows: async () => ({ items: [] }),
        latest: async (mn) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
          // every other device silent for 40 minutes
          const at = Number(mn.slice(-2)) % 2 === 0 ? '2026-11-29T09:20:00.000Z' : '2026-11-29T09:59:30.000Z';
          return [
            arrived('realtime', at),
            arrived('minute', '2026-11-29T09:50:00.000Z'),
            arrived('hour', at.slice(0, 13) + ':00:00.000Z'),
          ];
        },
      },
    });
    expect(await jobs.dataGaps()).toEqual({ devices: 40, arrivalReads: 40, stateReads: 20, transitions: 20 });
    expect(new Set([...h.store.alarms.values()].map((a) => a.mn)).size).toBe(20);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(JOB_CONCURRENCY);
  });
});

describe('AlarmJobs.identicalSeries', () => {
  const HOUR = 3_600_000;
  const now = new Date('2026-11-29T10:00:00.000Z');
  const a = bambooSource();
  const b = bambooSource({ mn: `${a.mn.slice(0, -2)}77`, enterpriseId: '91331126MA2E000077' });
  const asDevice = (src: AlarmSource) => ({
    item: { mn: src.mn, status: 'active', enterpriseId: src.enterpriseId, pollutants: ['w01018', 'w21003'] } as Device,
    version: 1,
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
  });
  // a day of hourly COD with a daily shape; device b copies it; ammonia differs
  const cod = (h: number) => Math.round((60 + 20 * Math.sin(h / 3)) * 10) / 10;
  const rowsOf = (src: AlarmSource, ammoniaShift: number): ReadingRow[] =>
    Array.from({ length: 24 }, (_, i) => {
      const at = new Date(now.getTime() - (24 - i) * HOUR).toISOString();
      return {
        mn: src.mn,
        kind: 'hour' as const,
        dataTime: at,
        readings: [
          reading(src, { pollutant: 'w01018', at, values: { avg: cod(i) } }),
          reading(src, { pollutant: 'w21003', at, values: { avg: 1 + ((i * 7 + ammoniaShift) % 11) / 10 } }),
          reading(src, { pollutant: 'w00000', at, values: { avg: 12 } }), // not a registered pollutant
        ],
      };
    });

  it('reads each device once (an hour row holds every code) and opens an alarm on both copies', async () => {
    const h = harness();
    const queried: RowQuery[] = [];
    const jobs = new AlarmJobs({
      store: h.store,
      sources: { get: async (mn) => [a, b].find((s) => s.mn === mn) },
      rules: { current: async () => rules },
      delivery: h.delivery,
      devices: { list: async () => ({ items: [asDevice(a), asDevice(b)] }) },
      readings: {
        rows: async (q) => {
          queried.push(q);
          return { items: rowsOf(q.mn === a.mn ? a : b, q.mn === a.mn ? 0 : 5) };
        },
        latest: async () => [],
      },
      newId: (() => {
        let n = 0;
        return () => `01KSAME${String(++n).padStart(19, '0')}`;
      })(),
      now: () => now,
    });
    expect(await jobs.identicalSeries()).toEqual({ series: 4, hits: 1, transitions: 2 });
    expect(queried.map((q) => [q.mn, q.kind, q.from, q.to])).toEqual(
      expect.arrayContaining([
        [a.mn, 'hour', '2026-11-28T10:00:00.000Z', now.toISOString()],
        [b.mn, 'hour', '2026-11-28T10:00:00.000Z', now.toISOString()],
      ]),
    );
    expect(queried).toHaveLength(2);
    const opened = [...h.store.alarms.values()];
    expect(opened.map((x) => [x.mn, x.key]).sort()).toEqual([
      [a.mn, 'suspected_falsification#w01018'],
      [b.mn, 'suspected_falsification#w01018'],
    ]);
    // again: the keys are open, nothing more
    expect(await jobs.identicalSeries()).toMatchObject({ hits: 1, transitions: 0 });
  });
});
