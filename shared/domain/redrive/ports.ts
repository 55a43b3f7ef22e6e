import type { BackoffState, DeadLetter, ParkInfo, SourceName } from './model.ts';

/**
 * What the redrive needs from the outside. shared/adapters/dead-letter-queues.ts implements the queues on SQS,
 * replay-publisher.ts the publisher on the IoT data plane, redrive-ledger.ts the ledger on DynamoDB (items of the
 * alarms table), dependency-probes.ts the probes; test/unit/helpers/memory-redrive.ts has in-memory fakes.
 */
export interface DeadLetterQueue {
  /** messages waiting (approximate, as the queue reports it) */
  depth(): Promise<number>;
  /** up to `max` (≤ 10) messages, hidden from other readers while this run handles them */
  receive(max: number): Promise<DeadLetter[]>;
  remove(message: DeadLetter): Promise<void>;
  /** visible again at once (for the next run or an operator) */
  release(messages: readonly DeadLetter[]): Promise<void>;
}

export interface ParkedQueue {
  /** keeps the original body with `info` beside it; throws when it could not (the message then stays where it was) */
  park(message: DeadLetter, info: ParkInfo): Promise<void>;
}

export interface ReplayPublisher {
  publish(topic: string, payload: Buffer): Promise<void>;
}

/** One dependency the failed work needs: `check` resolves when it answers, throws when it does not. */
export interface DependencyProbe {
  readonly name: string;
  check(): Promise<void>;
}

export interface RedriveLedger {
  /** every source's backoff state (absent: no failures) */
  states(): Promise<Partial<Record<SourceName, BackoffState>>>;
  saveState(source: SourceName, state: BackoffState): Promise<void>;
  /** how often each payload key has been replayed (absent: never) */
  replays(keys: readonly string[]): Promise<Map<string, number>>;
  /** counts one more replay of `key` at `at`; the count is forgotten `ledgerDays` after the last one */
  recordReplay(key: string, at: Date): Promise<number>;
}

/** A dead-letter queue with where its Lambda failure records go back to and what its failed work needs. */
export interface RedriveSource {
  name: SourceName;
  queue: DeadLetterQueue;
  lambdaReplayTopic: string;
  probes: readonly DependencyProbe[];
}
