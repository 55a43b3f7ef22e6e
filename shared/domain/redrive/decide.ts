import { createHash } from 'node:crypto';
import { type Replay, replayOf } from '#shared/domain/ingest/dead-letter.ts';
import type { BackoffState, DeadLetter, ProbeResult, RedrivePolicy, Step } from './model.ts';

/**
 * The redrive's decisions, pure: when a source is due, what its probes mean for its backoff, and what to do with each
 * message of a batch. The use-case (use-cases.ts) gathers the data and carries the answers out.
 */

/** The wait after `failures` failed attempts in a row: the base, doubled each time, at most the maximum. */
export function backoffDelayMs(failures: number, policy: RedrivePolicy): number {
  if (failures <= 0) return 0;
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * Whether a source may be attempted at `now`. The schedule stays fixed; a source backing off skips runs until its
 * `nextAttemptAt`. A run up to a tenth of the base early (at most 30 s) counts as due: schedules do not fire to the
 * millisecond, and a run that just misses would otherwise wait a whole period more.
 */
export function attemptDue(
  state: BackoffState | undefined,
  now: Date,
  policy: RedrivePolicy,
): { due: true } | { due: false; until: string } {
  if (!state?.nextAttemptAt) return { due: true };
  const early = Math.min(30_000, policy.backoffBaseMs / 10);
  return now.getTime() + early >= Date.parse(state.nextAttemptAt)
    ? { due: true }
    : { due: false, until: state.nextAttemptAt };
}

/** The state after a failed attempt: one more failure, the next attempt after the backoff delay. */
export function failedAttempt(
  state: BackoffState | undefined,
  failing: string[],
  now: Date,
  policy: RedrivePolicy,
): BackoffState {
  const failures = (state?.failures ?? 0) + 1;
  return {
    failures,
    nextAttemptAt: new Date(now.getTime() + backoffDelayMs(failures, policy)).toISOString(),
    failing,
    since: state?.since ?? now.toISOString(),
  };
}

/** The probes' verdict: all answered (replay, and forget the backoff), or not (back off longer, naming what failed). */
export function afterProbes(
  state: BackoffState | undefined,
  probes: readonly ProbeResult[],
  now: Date,
  policy: RedrivePolicy,
): { healthy: true; state: BackoffState } | { healthy: false; state: BackoffState } {
  const failing = probes.filter((p) => !p.ok).map((p) => (p.error ? `${p.name}: ${p.error}` : p.name));
  if (failing.length === 0) return { healthy: true, state: { failures: 0 } };
  return { healthy: false, state: failedAttempt(state, failing, now, policy) };
}

/** Whether two states differ in what is stored (a healthy source with no failures stores nothing new). */
export const sameState = (a: BackoffState | undefined, b: BackoffState): boolean =>
  (a?.failures ?? 0) === b.failures && a?.nextAttemptAt === b.nextAttemptAt;

/** MQTT topic filter match (`+` = exactly one level, `#` = the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** JSON with sorted keys, so that the same payload re-serialized by IoT or Lambda gets the same key. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The ledger key of a replay: SHA-256 of its topic and payload (a JSON payload in canonical form, anything else as
 * bytes). The same work coming back, whatever the record around it (an IoT rule error record of the replay rule, or a
 * Lambda failure record), has the same key.
 */
export function replayKey(topic: string, payload: Buffer): string {
  const hash = createHash('sha256').update(topic).update('\n');
  let body: Buffer = payload;
  try {
    body = Buffer.from(canonical(JSON.parse(payload.toString('utf8'))), 'utf8');
  } catch {
    // not JSON (raw HJ 212 text): the bytes as they are
  }
  return hash.update(body).digest('hex');
}

/** A received message read: where it would go back to, its key, whether that topic may be published to. */
export interface Described {
  message: DeadLetter;
  replay: Replay;
  key?: string;
  allowed: boolean;
}

export function describeLetters(
  messages: readonly DeadLetter[],
  ctx: { lambdaReplayTopic: string; allowedTopics: readonly string[] },
): Described[] {
  return messages.map((message) => {
    const replay = replayOf(message.body, ctx.lambdaReplayTopic);
    if (!replay.ok) return { message, replay, allowed: false };
    return {
      message,
      replay,
      key: replayKey(replay.topic, replay.payload),
      allowed: ctx.allowedTopics.some((f) => topicMatches(f, replay.topic)),
    };
  });
}

/**
 * What to do with each message of a batch, in order:
 *  - cannot be read (neither record shape) → park `unparseable`;
 *  - names a topic outside the replay topics → park `topic-not-allowed` (the publish would be refused anyway);
 *  - already replayed `maxReplays` times (the ledger's count) → park `replay-limit`;
 *  - already replayed earlier in this run → `later` (its new failure may not be in yet; the next run decides);
 *  - the same payload as an earlier message of the batch → `duplicate` of it (or parked with it);
 *  - otherwise → replay.
 */
export function planLetters(
  described: readonly Described[],
  replays: ReadonlyMap<string, number>,
  replayedThisRun: ReadonlySet<string>,
  policy: RedrivePolicy,
): Step[] {
  const first = new Map<string, Step>();
  return described.map((d): Step => {
    const { message } = d;
    if (!d.replay.ok) {
      return { kind: 'park', message, replays: 0, reason: { code: 'unparseable', detail: d.replay.reason } };
    }
    const key = d.key as string;
    const count = replays.get(key) ?? 0;
    if (!d.allowed) {
      return {
        kind: 'park',
        message,
        key,
        replays: count,
        reason: { code: 'topic-not-allowed', detail: `topic ${d.replay.topic} is not a replay topic` },
      };
    }
    if (replayedThisRun.has(key)) return { kind: 'later', message, key };
    const earlier = first.get(key);
    if (earlier?.kind === 'replay') return { kind: 'duplicate', message, key, of: earlier.message.messageId };
    if (earlier?.kind === 'park') return { ...earlier, message };
    const step: Step =
      count >= policy.maxReplays
        ? {
            kind: 'park',
            message,
            key,
            replays: count,
            reason: {
              code: 'replay-limit',
              detail: `replayed ${count} times and failed again (${d.replay.from}${d.replay.why ? `: ${d.replay.why.slice(0, 300)}` : ''})`,
            },
          }
        : { kind: 'replay', message, key, topic: d.replay.topic, payload: d.replay.payload, replays: count };
    first.set(key, step);
    return step;
  });
}
