/**
 * The dead-letter redrive (docs/operations.md「死信自动重放」): what it reads, what it decides, and its settings.
 *
 * Two dead-letter queues feed it, each a `source`: `ingest` (the ingest rules' error action and the ingest function's
 * failed asynchronous invocations) and `alarms` (the alarm evaluator's). A message is replayed once the dependencies
 * its failed work needs answer again; a payload that keeps coming back, or one that cannot be read, is parked with its
 * reason on a queue people read.
 */
export const SOURCES = ['ingest', 'alarms'] as const;
export type SourceName = (typeof SOURCES)[number];

/** One message of a dead-letter queue; `handle` is the queue's own token for deleting or releasing it. */
export interface DeadLetter {
  messageId: string;
  body: string;
  handle: string;
}

export interface RedrivePolicy {
  /** messages handled per source and run, at most */
  capPerRun: number;
  /** a payload already replayed this many times that is back in a dead-letter queue is parked */
  maxReplays: number;
  /** the wait after the first failed probe (the schedule's period: the next run tries again) … */
  backoffBaseMs: number;
  /** … doubled after each further failure, up to this */
  backoffMaxMs: number;
  /** how long the replay count of a payload is remembered after its last replay (the queues keep 14 days) */
  ledgerDays: number;
}

/** The schedule's period: every 5 minutes (infra/constructs/dead-letter-redrive.ts). */
export const REDRIVE_PERIOD_MINUTES = 5;

export const DEFAULT_POLICY: RedrivePolicy = {
  capPerRun: 100,
  maxReplays: 3,
  backoffBaseMs: REDRIVE_PERIOD_MINUTES * 60_000,
  backoffMaxMs: 60 * 60_000,
  ledgerDays: 15,
};

/** A source's backoff: how many attempts in a row failed, and when the next one is due. No failures: no state. */
export interface BackoffState {
  failures: number;
  nextAttemptAt?: string;
  /** what failed last (probe names, or the step that broke off) */
  failing?: string[];
  /** when the first of these failures happened */
  since?: string;
}

/** What a dependency probe found. */
export interface ProbeResult {
  name: string;
  ok: boolean;
  error?: string;
}

export type ParkCode = 'unparseable' | 'topic-not-allowed' | 'replay-limit';

export interface ParkReason {
  code: ParkCode;
  /** a sentence for the person reading the parked queue */
  detail: string;
}

/** Everything the parked queue keeps beside the original body (as message attributes). */
export interface ParkInfo {
  source: SourceName;
  reason: ParkReason;
  /** the payload's ledger key, when it could be read */
  key?: string;
  replays: number;
  at: string;
}

/** What to do with one received dead letter. */
export type Step =
  | { kind: 'replay'; message: DeadLetter; key: string; topic: string; payload: Buffer; replays: number }
  /** the same payload as an earlier message of the batch: deleted once that one is replayed */
  | { kind: 'duplicate'; message: DeadLetter; key: string; of: string }
  /** replayed earlier in this run and already back: left for the next run (its failure is not in yet) */
  | { kind: 'later'; message: DeadLetter; key: string }
  | { kind: 'park'; message: DeadLetter; key?: string; replays: number; reason: ParkReason };
