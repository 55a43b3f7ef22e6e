import type { Reading } from '#shared/domain/readings/model.ts';
import type { AlarmDelivery, DeliveryOutcome } from './delivery.ts';
import { type EvalState, emptyEvalState, evaluate, forgetAlarms } from './engine.ts';
import { isOpen } from './lifecycle.ts';
import type { AlarmSource, PacketRef, Transition } from './model.ts';
import type { CommitConflict, EvalSnapshot, EvalStore } from './ports.ts';
import type { RuleSet } from './rules.ts';

/**
 * The evaluator use-case: one device's readings (one message) → the pure engine → one conditional write → at once,
 * the notifications of whatever changed.
 *
 * The device's engine state is cached in the container with the version it was stored at. In the steady state a
 * message costs exactly one conditional PutItem and no read. When another container (or an official's manual clear)
 * moved the version, the write fails and returns the stored state; the batch is evaluated again from it. A container
 * that has never seen the device reads its state first (one consistent GetItem), then writes: the same two round
 * trips as writing blind as if the state were new and failing on the stored one, but a read unit instead of the
 * failed write's write units, one evaluation instead of two, and no transaction planned from an empty state (an
 * exceedance already open would otherwise be "opened" again, fail on its slot and be adopted). Only a device no
 * container has seen yet pays the read for nothing, once.
 */
export type { CommitConflict, EvalSnapshot, EvalStore };

export interface EvaluatorDeps {
  sources: { get(mn: string): Promise<AlarmSource | undefined> };
  rules: { current(): Promise<RuleSet> };
  store: EvalStore;
  delivery: AlarmDelivery;
  newId: () => string;
  now?: () => Date;
  /** versions of state kept per container (LRU-ish: cleared when full) */
  maxCached?: number;
}

export interface EvaluationOutcome {
  mn: string;
  skipped?: 'unknown-device';
  transitions: { kind: Transition['kind']; alarmId: string; key: string; level?: number }[];
  attempts: number;
  deliveries: DeliveryOutcome[];
}

const MAX_ATTEMPTS = 5;

export class AlarmEvaluator {
  private readonly cache = new Map<string, { ver: number; state: EvalState }>();

  constructor(private readonly deps: EvaluatorDeps) {}

  async evaluate(mn: string, readings: readonly Reading[], packet?: PacketRef): Promise<EvaluationOutcome> {
    const source = await this.deps.sources.get(mn);
    if (!source) return { mn, skipped: 'unknown-device', transitions: [], attempts: 0, deliveries: [] };
    const rules = await this.deps.rules.current();
    const now = this.deps.now?.() ?? new Date();

    let snap = this.cache.get(mn) ?? (await this.recover(mn, undefined, []));
    this.cache.delete(mn);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { transitions } = evaluate(snap.state, readings, source, rules, { packet, newId: this.deps.newId });
      const result = await this.deps.store.commitEvaluation(
        mn,
        snap.ver,
        snap.state,
        transitions,
        source,
        now,
        rules.version,
      );
      if (result.ok) {
        this.remember(mn, { ver: result.ver, state: snap.state });
        const deliveries: DeliveryOutcome[] = [];
        for (const alarm of result.alarms) {
          if (alarm.retrospective !== undefined) continue; // 补传超标: recorded for review, never paged
          const kind = transitions.find((t) => t.alarmId === alarm.alarmId)?.kind;
          const event = kind === undefined || kind === 'retro' ? 'tick' : kind;
          deliveries.push(await this.deps.delivery.deliver(alarm, event, source, rules.notification, now));
        }
        return {
          mn,
          transitions: transitions.map((t) => ({
            kind: t.kind,
            alarmId: t.alarmId,
            key: t.signal.key,
            ...(t.signal.level !== undefined ? { level: t.signal.level } : {}),
          })),
          attempts: attempt,
          deliveries,
        };
      }
      snap = await this.recover(mn, result.current, result.conflicts ?? []);
    }
    throw new Error(`alarm state of ${mn} kept changing during ${MAX_ATTEMPTS} attempts`);
  }

  /** The stored state (cold, or after a failed write), with what the conflicts tell us applied. */
  private async recover(
    mn: string,
    current: EvalSnapshot | undefined,
    conflicts: readonly CommitConflict[],
  ): Promise<{ ver: number; state: EvalState }> {
    const stored = current ?? (await this.deps.store.loadEvalState(mn));
    const snap = stored ? { ver: stored.ver, state: asState(stored.state) } : { ver: 0, state: emptyEvalState() };
    for (const c of conflicts) {
      if (c.kind === 'alarm_closed') forgetAlarms(snap.state, [c.alarmId]);
      if (c.kind === 'slot_taken') {
        // the alarm exists although this state did not know it (state lost or reset): adopt it
        const alarm = await this.deps.store.get(c.alarmId, true);
        if (alarm && isOpen(alarm.state)) {
          snap.state.open[c.key] = { alarmId: alarm.alarmId, level: alarm.level, openedAt: alarm.openedAt };
        }
      }
    }
    return snap;
  }

  private remember(mn: string, snap: { ver: number; state: EvalState }): void {
    if (this.cache.size >= (this.deps.maxCached ?? 5_000)) this.cache.clear();
    this.cache.set(mn, snap);
  }
}

/** A stored state of an older or damaged shape starts afresh rather than failing every message of the device. */
function asState(raw: unknown): EvalState {
  const s = raw as Partial<EvalState> | undefined;
  if (s?.v !== 1 || typeof s.series !== 'object' || typeof s.open !== 'object') return emptyEvalState();
  const fresh = emptyEvalState();
  return { ...fresh, ...s } as EvalState;
}
