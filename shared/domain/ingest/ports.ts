import type { KindState, Reading, ReadingKind, ReadingRow, RetentionPolicy } from '#shared/domain/readings/model.ts';
import type { DeviceRef } from '#shared/domain/readings/normalize.ts';

/** What the ingest use-case needs from the outside; shared/adapters implements these on DynamoDB and S3. */
export interface DeviceDirectory {
  /** the registered device with this MN, or undefined (cached by the adapter) */
  get(mn: string): Promise<DeviceRef | undefined>;
  /**
   * the same, read again now (its keys changed since it was cached); optional for directories without a cache
   */
  fresh?(mn: string): Promise<DeviceRef | undefined>;
  /** the device read again did not open the frame either: the adapter may answer `fresh` from that read for a while */
  unopened?(mn: string): void;
}

/** Opens an HJ 212-2025 device's sealed keys (registry key-lifecycle.ts, KMS), in the order to try them. */
export interface DeviceKeyOpener {
  open(device: DeviceRef): Promise<Uint8Array[]>;
}

export interface ReadingStore {
  /** Stores each reading once (first write wins); a reading already stored is counted as a duplicate, not an error. */
  put(readings: Reading[], retention: RetentionPolicy): Promise<{ stored: number; duplicates: number }>;
  /**
   * Sets the device's last-seen time and last values for one kind, unless newer data of that kind is already recorded
   * (out-of-order data never moves last-seen backwards). Returns false when it was older.
   */
  updateState(
    mn: string,
    kind: ReadingKind,
    dataTime: string,
    receivedAt: string,
    readings: Reading[],
  ): Promise<boolean>;
}

export interface ReadingQuery {
  mn: string;
  pollutant: string;
  kind: ReadingKind;
  /** ISO instants, inclusive */
  from: string;
  to: string;
  limit: number;
  cursor?: string;
  order: 'asc' | 'desc';
}

export interface ReadingReader {
  /** One series (device, pollutant, kind) in a time range: up to `limit` readings, `cursor` when more may follow. */
  query(q: ReadingQuery): Promise<{ items: Reading[]; cursor?: string }>;
  latest(mn: string): Promise<KindState[]>;
}

/** Every code of one device and kind in a time range, one row per DataTime (e.g. a unit's devices for a day). */
export type RowQuery = Omit<ReadingQuery, 'pollutant'>;

export interface ReadingRowReader {
  rows(q: RowQuery): Promise<{ items: ReadingRow[]; cursor?: string }>;
}

/** The device-command capability, as ingest sees it: a 9011 / 9012 answer (true when it answered a command). */
export interface CommandAnswers {
  answer(
    mn: string,
    qn: string | undefined,
    answer: { cn: '9011' | '9012'; code: number; at: string },
  ): Promise<boolean>;
}

/**
 * The alarm engine, as ingest sees it: one device's accepted readings of one message, evaluated once (the evaluator
 * skips readings it has already seen, so a retried or replayed message changes nothing). `packet` names the message
 * the way its archive record does (`rawSha256`).
 */
export interface ReadingsEvaluation<Outcome = unknown> {
  evaluate(
    mn: string,
    readings: readonly Reading[],
    packet: { receivedAt: string; source: string; rawSha256: string },
  ): Promise<Outcome>;
}

/**
 * The key lifecycle, as ingest sees it: an MQTT device's own key request (HJ 212-2025 CN 1014 without NewSK) answered
 * through the device-command path (registry key-lifecycle.ts answerRequest: a new key, or the pending push again, within
 * the request limits). Undefined when nothing was sent. A TCP device's request is the gateway's to answer.
 */
export interface KeyRequests {
  request(mn: string): Promise<{ version: number; qn: string; resent: boolean } | undefined>;
}
