import { afterProbes, attemptDue, describeLetters, failedAttempt, planLetters, sameState } from './decide.ts';
import type { BackoffState, DeadLetter, ParkCode, ProbeResult, RedrivePolicy, SourceName, Step } from './model.ts';
import type { DependencyProbe, ParkedQueue, RedriveLedger, RedriveSource, ReplayPublisher } from './ports.ts';

export interface RedriveDeps {
  sources: readonly RedriveSource[];
  parked: ParkedQueue;
  publisher: ReplayPublisher;
  ledger: RedriveLedger;
  /** MQTT filters of the topics a dead letter may go back to (replayTopicFilters) */
  allowedTopics: readonly string[];
  policy: RedrivePolicy;
}

export type SourceStatus =
  /** nothing waiting */
  | 'empty'
  /** skipped: backing off until `nextAttemptAt` */
  | 'backoff'
  /** a probe failed: backing off */
  | 'unhealthy'
  /** messages handled (up to the cap) */
  | 'redriven'
  /** a step failed midway: the rest released, backing off */
  | 'interrupted';

export interface SourceOutcome {
  source: SourceName;
  status: SourceStatus;
  depth?: number;
  replayed: number;
  duplicates: number;
  parked: Partial<Record<ParkCode, number>>;
  /** received but left for the next run (replayed earlier in this run, or released after an interruption) */
  left: number;
  failing?: string[];
  nextAttemptAt?: string;
}

export type RunOutcome =
  | { ran: true; sources: SourceOutcome[] }
  /** the ledger (the redrive's own state) did not answer: nothing was touched */
  | { ran: false; reason: string };

const errorText = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 300);

async function probeAll(probes: readonly DependencyProbe[]): Promise<ProbeResult[]> {
  return Promise.all(
    probes.map(async (p): Promise<ProbeResult> => {
      try {
        await p.check();
        return { name: p.name, ok: true };
      } catch (err) {
        return { name: p.name, ok: false, error: errorText(err) };
      }
    }),
  );
}

export class RedriveService {
  constructor(private readonly deps: RedriveDeps) {}

  /**
   * One scheduled run, at `now` (the scheduled time):
   *  1. read every source's backoff state from the ledger (unreachable: the run touches nothing);
   *  2. per source: skip it while it backs off; nothing to do when its queue is empty (a stale backoff is cleared);
   *  3. probe what its failed work needs; a probe failing → back off longer (state saved), next source;
   *  4. receive batches up to the cap; look up how often each payload was replayed; plan (decide.ts planLetters);
   *     carry the plan out in order: replay = publish → count in the ledger → delete; duplicate = delete;
   *     park = send to the parked queue with its reason → delete; later = release;
   *  5. any step failing ends the source's run: what is left of the batch is released, and the source backs off.
   */
  async run(now: Date): Promise<RunOutcome> {
    let states: Partial<Record<SourceName, BackoffState>>;
    try {
      states = await this.deps.ledger.states();
    } catch (err) {
      return { ran: false, reason: `ledger: ${errorText(err)}` };
    }
    const sources: SourceOutcome[] = [];
    for (const source of this.deps.sources) sources.push(await this.runSource(source, states[source.name], now));
    return { ran: true, sources };
  }

  private async runSource(source: RedriveSource, state: BackoffState | undefined, now: Date): Promise<SourceOutcome> {
    const { policy, ledger } = this.deps;
    const out: SourceOutcome = {
      source: source.name,
      status: 'empty',
      replayed: 0,
      duplicates: 0,
      parked: {},
      left: 0,
    };
    const save = async (next: BackoffState) => {
      if (!sameState(state, next)) await ledger.saveState(source.name, next);
    };
    const backOff = async (failing: string[]) => {
      const next = failedAttempt(state, failing, now, policy);
      await save(next);
      return { ...out, status: 'interrupted' as const, failing, nextAttemptAt: next.nextAttemptAt };
    };

    const due = attemptDue(state, now, policy);
    if (!due.due) return { ...out, status: 'backoff', nextAttemptAt: due.until, failing: state?.failing ?? [] };

    let depth: number;
    try {
      depth = await source.queue.depth();
    } catch (err) {
      return backOff([`queue: ${errorText(err)}`]);
    }
    out.depth = depth;
    if (depth === 0) {
      await save({ failures: 0 });
      return out;
    }

    const verdict = afterProbes(state, await probeAll(source.probes), now, policy);
    await save(verdict.state);
    if (!verdict.healthy) {
      return {
        ...out,
        status: 'unhealthy',
        failing: verdict.state.failing ?? [],
        ...(verdict.state.nextAttemptAt ? { nextAttemptAt: verdict.state.nextAttemptAt } : {}),
      };
    }

    out.status = 'redriven';
    const replayedThisRun = new Set<string>();
    let handled = 0;
    while (handled < policy.capPerRun) {
      let batch: DeadLetter[];
      try {
        batch = await source.queue.receive(Math.min(10, policy.capPerRun - handled));
      } catch (err) {
        return backOff([`queue: ${errorText(err)}`]);
      }
      if (batch.length === 0) break;
      handled += batch.length;
      const described = describeLetters(batch, {
        lambdaReplayTopic: source.lambdaReplayTopic,
        allowedTopics: this.deps.allowedTopics,
      });
      const keys = [...new Set(described.flatMap((d) => (d.key ? [d.key] : [])))];
      let replays: Map<string, number>;
      try {
        replays = await ledger.replays(keys);
      } catch (err) {
        await this.releaseQuietly(source, batch);
        out.left += batch.length;
        return backOff([`ledger: ${errorText(err)}`]);
      }
      const steps = planLetters(described, replays, replayedThisRun, policy);
      const later: DeadLetter[] = [];
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i] as Step;
        try {
          await this.carryOut(source, step, now);
        } catch (err) {
          const rest = steps.slice(i).map((s) => s.message);
          await this.releaseQuietly(source, [...later, ...rest]);
          out.left += later.length + rest.length;
          return backOff([`${step.kind}: ${errorText(err)}`]);
        }
        if (step.kind === 'replay') {
          replayedThisRun.add(step.key);
          out.replayed++;
        } else if (step.kind === 'duplicate') out.duplicates++;
        else if (step.kind === 'park') out.parked[step.reason.code] = (out.parked[step.reason.code] ?? 0) + 1;
        else later.push(step.message);
      }
      if (later.length > 0) {
        // the queue has come round to what this run sent back: the rest waits for the next run
        await this.releaseQuietly(source, later);
        out.left += later.length;
        break;
      }
    }
    return out;
  }

  private async carryOut(source: RedriveSource, step: Step, now: Date): Promise<void> {
    switch (step.kind) {
      case 'replay':
        await this.deps.publisher.publish(step.topic, step.payload);
        await this.deps.ledger.recordReplay(step.key, now);
        await source.queue.remove(step.message);
        return;
      case 'duplicate':
        await source.queue.remove(step.message);
        return;
      case 'park':
        await this.deps.parked.park(step.message, {
          source: source.name,
          reason: step.reason,
          ...(step.key ? { key: step.key } : {}),
          replays: step.replays,
          at: now.toISOString(),
        });
        await source.queue.remove(step.message);
        return;
      case 'later':
        return;
    }
  }

  /** Released messages come back by themselves after their visibility timeout if this fails too. */
  private async releaseQuietly(source: RedriveSource, messages: readonly DeadLetter[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await source.queue.release(messages);
    } catch {
      // nothing else to do: they reappear when the receive's visibility timeout ends
    }
  }
}
