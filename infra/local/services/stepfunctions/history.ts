/**
 * Execution records and history events as the Step Functions API shows them.
 *
 * Events are stored with millisecond timestamps and turned into the wire shape (epoch seconds, a
 * `<detailsKey>` object per type) on the way out. `previousEventId` is simply the event before, which is
 * what AWS reports for sequential executions (not for concurrent Map/Parallel branches).
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StoredEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  detailsKey?: string;
  details?: Record<string, unknown>;
}

export type TokenStatus = 'WAITING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CLOSED';

export interface TokenRecord {
  stateName: string;
  topLevel: boolean;
  status: TokenStatus;
  createdAt: number;
  /** the callback's integration call (Lambda invoke, SNS publish …) went through */
  submitted: boolean;
  /** absolute deadline from TimeoutSeconds (already scaled) */
  timeoutAt?: number;
  /** scaled heartbeat window in ms */
  heartbeatMs?: number;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  /**
   * the instant (epoch ms, scaled) the execution times out: its machine's TimeoutSeconds or the service's maximum
   * execution time, whichever comes first; set when it starts, kept across restarts
   */
  deadlineAt?: number;
  /** which limit `deadlineAt` is */
  deadlineReason?: 'TimeoutSeconds' | 'MaxExecutionTime';
  /** the top-level state the execution is in, with its raw input: where a restart resumes */
  position?: { stateName: string; stateType: string; rawInput: string; enteredAt: number; waitUntil?: number };
  tokens: Record<string, TokenRecord>;
  history: StoredEvent[];
}

/** Append an event; `detailsKey` names the details member, e.g. `taskScheduledEventDetails`. */
export function appendEvent(
  rec: ExecutionRecord,
  type: string,
  detailsKey?: string,
  details?: Record<string, unknown>,
): StoredEvent {
  const last = rec.history[rec.history.length - 1];
  const event: StoredEvent = { id: (last?.id ?? 0) + 1, previousEventId: last?.id ?? 0, timestamp: Date.now(), type };
  if (detailsKey && details) {
    event.detailsKey = detailsKey;
    event.details = details;
  }
  rec.history.push(event);
  return event;
}

const DATA_FIELDS = new Set(['input', 'output', 'parameters']);

export function wireEvent(event: StoredEvent, includeData: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    timestamp: event.timestamp / 1000,
    type: event.type,
    id: event.id,
    previousEventId: event.previousEventId,
  };
  if (event.detailsKey && event.details) {
    out[event.detailsKey] = includeData
      ? event.details
      : Object.fromEntries(Object.entries(event.details).filter(([k]) => !DATA_FIELDS.has(k)));
  }
  return out;
}

export function summarize(rec: ExecutionRecord): Record<string, unknown> {
  const item: Record<string, unknown> = {
    executionArn: rec.executionArn,
    stateMachineArn: rec.stateMachineArn,
    name: rec.name,
    status: rec.status,
    startDate: rec.startDate / 1000,
  };
  if (rec.stopDate !== undefined) item.stopDate = rec.stopDate / 1000;
  return item;
}

export function describe(rec: ExecutionRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...summarize(rec),
    input: rec.input,
    inputDetails: { included: true },
    redriveCount: 0,
    redriveStatus: 'NOT_REDRIVABLE',
  };
  if (rec.output !== undefined) {
    out.output = rec.output;
    out.outputDetails = { included: true };
  }
  if (rec.error !== undefined) out.error = rec.error;
  if (rec.cause !== undefined) out.cause = rec.cause;
  return out;
}

/** Opaque pagination tokens: base64 of an offset plus a tag so tokens of one list are not used for another. */
export function encodePageToken(tag: string, offset: number): string {
  return Buffer.from(JSON.stringify({ t: tag, o: offset })).toString('base64url');
}

export function decodePageToken(tag: string, token: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 't' in parsed && 'o' in parsed) {
      const { t, o } = parsed;
      if (t === tag && typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
    }
  } catch {
    // fall through
  }
  return undefined;
}
