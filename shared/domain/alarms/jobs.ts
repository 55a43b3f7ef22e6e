import type { ReadingQuery } from '#shared/domain/ingest/ports.ts';
import type { KindState, Reading } from '#shared/domain/readings/model.ts';
import type { Device } from '#shared/domain/registry/model.ts';
import type { Page, Versioned } from '#shared/domain/registry/store.ts';
import type { AlarmDelivery } from './delivery.ts';
import { applySignals, type EvalState, emptyEvalState, forgetAlarms, lastSeenByKind } from './engine.ts';
import { type HourlySeries, identicalSeries, identicalSeriesSignal } from './falsification.ts';
import { gapSignals } from './gaps.ts';
import type { Alarm } from './lifecycle.ts';
import type { AlarmSignal, AlarmSource } from './model.ts';
import type { EvalStore } from './ports.ts';
import type { RuleSet } from './rules.ts';

/**
 * The alarm engine's scheduled jobs (functions/alarm-jobs):
 *  - sweep:            every alarm whose notification is due (a reminder, an escalation, a coalesced change, or a
 *                      delivery that failed) is planned and delivered again (gsi3 query, never a scan);
 *  - data-gaps:        every registered device's last arrival per kind (the ingest's device state, one query per
 *                      device) against its registered intervals;
 *  - identical-series: the last day of hourly values of every device and pollutant, compared across devices.
 * The two detection jobs raise and clear through the same engine state and conditional write as the evaluator, so a
 * job and an evaluator running at once never open two alarms for one key.
 */
export interface JobsDeps {
  store: EvalStore & { due(now: Date, limit: number): Promise<Alarm[]> };
  sources: { get(mn: string): Promise<AlarmSource | undefined> };
  rules: { current(): Promise<RuleSet> };
  delivery: AlarmDelivery;
  devices: { list(cursor?: string): Promise<Page<Versioned<Device>>> };
  readings: {
    query(q: ReadingQuery): Promise<{ items: Reading[]; cursor?: string }>;
    latest(mn: string): Promise<KindState[]>;
  };
  newId: () => string;
  now?: () => Date;
}

/** Due alarms younger than this are left to the evaluator, which delivers right after it commits. */
export const SWEEP_GRACE_MS = 30_000;
const MAX_ATTEMPTS = 5;

export class AlarmJobs {
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

  /** Raises and clears data-gap alarms for every registered device. */
  async dataGaps(): Promise<{ devices: number; transitions: number }> {
    const now = this.now();
    const rules = await this.deps.rules.current();
    let devices = 0;
    let transitions = 0;
    for await (const d of this.allDevices()) {
      devices++;
      const source = await this.deps.sources.get(d.item.mn);
      if (!source) continue;
      const arrivals = await this.deps.readings.latest(d.item.mn);
      const lastSeen = arrivals.map((k) => ({
        kind: k.kind,
        lastDataTime: k.lastDataTime,
        lastReceivedAt: k.lastArrivalAt ?? k.lastReceivedAt,
      }));
      transitions += await this.raise(source, rules, now, (state) =>
        gapSignals({
          source,
          lastSeen: lastSeen.length > 0 ? lastSeen : lastSeenByKind(state),
          registeredAt: d.createdAt,
          rules: rules.dataGaps,
          now,
          openKeys: new Set(Object.keys(state.open).filter((k) => k.startsWith('data_gap#'))),
        }),
      );
    }
    return { devices, transitions };
  }

  /** Compares the last `hours` of hourly values across devices; each device of a hit gets its own alarm. */
  async identicalSeries(hours = 24): Promise<{ series: number; hits: number; transitions: number }> {
    const now = this.now();
    const rules = await this.deps.rules.current();
    const from = new Date(now.getTime() - hours * 3_600_000).toISOString();
    const series: HourlySeries[] = [];
    const sources = new Map<string, AlarmSource>();
    for await (const d of this.allDevices()) {
      if (d.item.status !== 'active') continue;
      for (const pollutant of d.item.pollutants) {
        const q: ReadingQuery = {
          mn: d.item.mn,
          pollutant,
          kind: 'hour',
          from,
          to: now.toISOString(),
          limit: hours + 1,
          order: 'asc',
        };
        const { items } = await this.deps.readings.query(q);
        const points = items
          .filter((r) => (r.flag ?? 'N') === 'N' && r.values.avg !== undefined)
          .map((r) => ({ dataTime: r.dataTime, value: r.values.avg as number }));
        if (points.length > 0) series.push({ mn: d.item.mn, enterpriseId: d.item.enterpriseId, pollutant, points });
      }
    }
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
