import { forEachLimited } from '#shared/domain/concurrency.ts';
import type { RowQuery } from '#shared/domain/ingest/ports.ts';
import type { KindState, ReadingRow } from '#shared/domain/readings/model.ts';
import type { Device } from '#shared/domain/registry/model.ts';
import type { Page, Versioned } from '#shared/domain/registry/store.ts';
import type { AlarmDelivery } from './delivery.ts';
import { applySignals, type EvalState, emptyEvalState, forgetAlarms, lastSeenByKind } from './engine.ts';
import { type HourlySeries, identicalSeries, identicalSeriesSignal } from './falsification.ts';
import { gapSignals, type LastSeen } from './gaps.ts';
import type { Alarm } from './lifecycle.ts';
import type { AlarmSignal, AlarmSource } from './model.ts';
import type { AlarmFilter, EvalStore, PageQuery } from './ports.ts';
import type { RuleSet } from './rules.ts';

/**
 * The alarm engine's scheduled jobs (functions/alarm-jobs):
 *  - sweep:            every alarm whose notification is due (a reminder, an escalation, a coalesced change, or a
 *                      delivery that failed) is planned and delivered again (gsi3 query, never a scan);
 *  - data-gaps:        every registered device's last arrival per kind (the ingest's device state, one query per
 *                      device, and none while the last read still shows every kind in time) against its registered
 *                      intervals; a device's alarm state is read only when a kind is overdue, nothing was ever heard,
 *                      or a gap alarm of it is open (one listing of the open gap alarms per run);
 *  - identical-series: the last day of hourly values of every device and pollutant (one query per device: an hour's
 *                      row holds every code), compared across devices.
 * Devices are judged JOB_CONCURRENCY at a time: at province scale (20,000 devices) one at a time would take most of
 * the 5-minute period in round trips.
 * The two detection jobs raise and clear through the same engine state and conditional write as the evaluator, so a
 * job and an evaluator running at once never open two alarms for one key.
 */
export interface JobsDeps {
  store: EvalStore & {
    due(now: Date, limit: number): Promise<Alarm[]>;
    list(filter: AlarmFilter, page: PageQuery): Promise<Page<Alarm>>;
  };
  sources: { get(mn: string): Promise<AlarmSource | undefined> };
  rules: { current(): Promise<RuleSet> };
  delivery: AlarmDelivery;
  devices: { list(cursor?: string): Promise<Page<Versioned<Device>>> };
  readings: {
    rows(q: RowQuery): Promise<{ items: ReadingRow[]; cursor?: string }>;
    latest(mn: string): Promise<KindState[]>;
  };
  newId: () => string;
  now?: () => Date;
}

/** Due alarms younger than this are left to the evaluator, which delivers right after it commits. */
export const SWEEP_GRACE_MS = 30_000;
const MAX_ATTEMPTS = 5;
/** devices judged at once by the detection jobs */
export const JOB_CONCURRENCY = 8;

const NONE_OPEN: ReadonlySet<string> = new Set();

export class AlarmJobs {
  /** per container: each device's arrivals per kind as the data-gap job last read them (a lower bound of today's) */
  private readonly arrivalsSeen = new Map<string, readonly LastSeen[]>();

  constructor(private readonly deps: JobsDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Delivers what is due, up to `max` alarms per run. */
  async sweep(max = 500): Promise<{ looked: number; sent: number; failed: number }> {
    const now = this.now();
    const rules = await this.deps.rules.current();
    const due = await this.deps.store.due(new Date(now.getTime() - SWEEP_GRACE_MS), max);
    let sent = 0;
    let failed = 0;
    for (const alarm of due) {
      const source = await this.deps.sources.get(alarm.mn);
      if (!source) continue;
      const out = await this.deps.delivery.deliver(alarm, 'tick', source, rules.notification, now);
      sent += out.sent;
      if (out.failed) failed++;
    }
    return { looked: due.length, sent, failed };
  }

  /**
   * Raises and clears data-gap alarms for every registered device, as of `at` (default now). A device whose watched
   * kinds all arrived in time, with no gap alarm open, has nothing to raise or clear: its alarm state is not read. (A
   * gap alarm of a kind whose data arrive again is cleared by the evaluator at the arrival; the open-alarm listing lets
   * this job clear what the evaluator could not: e.g. a device put under maintenance.) Nor are its arrivals read again
   * while what this container last read of them shows every kind in time: what that read showed really arrived, so
   * the device has not been silent since (a realtime allowance of 10 minutes spares every other 5-minute run).
   */
  async dataGaps(
    at?: Date,
  ): Promise<{ devices: number; arrivalReads: number; stateReads: number; transitions: number }> {
    const now = at ?? this.now();
    const rules = await this.deps.rules.current();
    const openGaps = await this.devicesWithOpenGaps();
    let devices = 0;
    let arrivalReads = 0;
    let stateReads = 0;
    let transitions = 0;
    await forEachLimited(this.allDevices(), JOB_CONCURRENCY, async (d) => {
      devices++;
      const mn = d.item.mn;
      const source = await this.deps.sources.get(mn);
      if (!source) return;
      const judge = (seen: readonly LastSeen[], openKeys: ReadonlySet<string>) =>
        gapSignals({ source, lastSeen: seen, registeredAt: d.createdAt, rules: rules.dataGaps, now, openKeys });
      const open = openGaps.has(mn);
      const earlier = this.arrivalsSeen.get(mn);
      if (earlier && !open && judge(earlier, NONE_OPEN).length === 0) return;
      arrivalReads++;
      const lastSeen = (await this.deps.readings.latest(mn)).map((k) => ({
        kind: k.kind,
        lastDataTime: k.lastDataTime,
        lastReceivedAt: k.lastArrivalAt ?? k.lastReceivedAt,
      }));
      if (lastSeen.length > 0) this.arrivalsSeen.set(mn, lastSeen);
      if (lastSeen.length > 0 && !open && judge(lastSeen, NONE_OPEN).length === 0) return;
      stateReads++;
      transitions += await this.raise(source, rules, now, (state) =>
        judge(
          lastSeen.length > 0 ? lastSeen : lastSeenByKind(state),
          new Set(Object.keys(state.open).filter((k) => k.startsWith('data_gap#'))),
        ),
      );
    });
    return { devices, arrivalReads, stateReads, transitions };
  }

  /** The devices with a data-gap alarm open (active or acknowledged), from the alarms' state index. */
  private async devicesWithOpenGaps(): Promise<Set<string>> {
    const mns = new Set<string>();
    for (const state of ['active', 'acknowledged'] as const) {
      let cursor: string | undefined;
      do {
        const page = await this.deps.store.list(
          { state, type: 'data_gap' },
          { limit: 500, ...(cursor ? { cursor } : {}) },
        );
        for (const alarm of page.items) mns.add(alarm.mn);
        cursor = page.cursor;
      } while (cursor);
    }
    return mns;
  }

  /** Compares the last `hours` of hourly values across devices; each device of a hit gets its own alarm. */
  async identicalSeries(hours = 24): Promise<{ series: number; hits: number; transitions: number }> {
    const now = this.now();
    const rules = await this.deps.rules.current();
    const from = new Date(now.getTime() - hours * 3_600_000).toISOString();
    const series: HourlySeries[] = [];
    const sources = new Map<string, AlarmSource>();
    await forEachLimited(this.allDevices(), JOB_CONCURRENCY, async (d) => {
      if (d.item.status !== 'active' || d.item.pollutants.length === 0) return;
      const points = new Map<string, { dataTime: string; value: number }[]>(d.item.pollutants.map((p) => [p, []]));
      const q: RowQuery = { mn: d.item.mn, kind: 'hour', from, to: now.toISOString(), limit: hours + 1, order: 'asc' };
      const { items } = await this.deps.readings.rows(q);
      for (const row of items)
        for (const r of row.readings) {
          const series = points.get(r.pollutant);
          if (series && (r.flag ?? 'N') === 'N' && r.values.avg !== undefined)
            series.push({ dataTime: r.dataTime, value: r.values.avg });
        }
      for (const [pollutant, p] of points)
        if (p.length > 0) series.push({ mn: d.item.mn, enterpriseId: d.item.enterpriseId, pollutant, points: p });
    });
    // the comparison does not depend on the order the devices were read in
    series.sort((a, b) => (a.mn === b.mn ? a.pollutant.localeCompare(b.pollutant) : a.mn < b.mn ? -1 : 1));
    const hits = identicalSeries(series, rules.falsification);
    let transitions = 0;
    const byDevice = new Map<string, AlarmSignal[]>();
    for (const hit of hits) {
      for (const device of hit.devices) {
        const source = sources.get(device.mn) ?? (await this.deps.sources.get(device.mn));
        if (!source) continue;
        sources.set(device.mn, source);
        byDevice.set(device.mn, [...(byDevice.get(device.mn) ?? []), identicalSeriesSignal(hit, source)]);
      }
    }
    for (const [mn, signals] of byDevice) {
      const source = sources.get(mn) as AlarmSource;
      // a key already open (e.g. a flat-line alarm on the same pollutant) keeps its alarm: only new keys open
      transitions += await this.raise(source, rules, now, (state) => signals.filter((s) => !state.open[s.key]));
    }
    return { series: series.length, hits: hits.length, transitions };
  }

  /** Applies job signals to a device's engine state with the evaluator's conditional write; delivers at once. */
  private async raise(
    source: AlarmSource,
    rules: RuleSet,
    now: Date,
    signalsFor: (state: EvalState) => AlarmSignal[],
  ): Promise<number> {
    const closed = new Set<string>();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const stored = await this.deps.store.loadEvalState(source.mn);
      const ver = stored?.ver ?? 0;
      const state = stored ? (stored.state as EvalState) : emptyEvalState();
      if (state.forget?.length) {
        forgetAlarms(state, state.forget, now.toISOString());
        delete state.forget;
      }
      for (const id of closed) forgetAlarms(state, [id], now.toISOString());
      const signals = signalsFor(state);
      if (signals.length === 0) return 0;
      const transitions = applySignals(state, signals, this.deps.newId);
      if (transitions.length === 0) return 0;
      const result = await this.deps.store.commitEvaluation(
        source.mn,
        ver,
        state,
        transitions,
        source,
        now,
        rules.version,
      );
      if (!result.ok) {
        for (const c of result.conflicts ?? []) if (c.kind === 'alarm_closed') closed.add(c.alarmId);
        continue;
      }
      for (const alarm of result.alarms) {
        if (alarm.retrospective !== undefined) continue; // 补传超标: recorded for review, never paged
        const kind = transitions.find((t) => t.alarmId === alarm.alarmId)?.kind;
        const event = kind === undefined || kind === 'retro' ? 'tick' : kind;
        await this.deps.delivery.deliver(alarm, event, source, rules.notification, now);
      }
      return transitions.length;
    }
    throw new Error(`alarm state of ${source.mn} kept changing during ${MAX_ATTEMPTS} attempts`);
  }

  private async *allDevices(): AsyncGenerator<Versioned<Device>> {
    let cursor: string | undefined;
    do {
      const page = await this.deps.devices.list(cursor);
      yield* page.items;
      cursor = page.cursor;
    } while (cursor);
  }
}
