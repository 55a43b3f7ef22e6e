import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import type { Alarm, AlarmEvent } from './lifecycle.ts';
import type { AlarmLevel, AlarmSource, AlarmState, AlarmType, Transition } from './model.ts';
import type { AlarmResponse } from './response.ts';
import type { RuleSet } from './rules.ts';

/**
 * The ports of the alarm use-cases, with the domain types they speak. shared/adapters/alarms-store.ts implements
 * both on DynamoDB (the alarms table, the audit table for officials' actions):
 *   EvalStore  — the evaluator and the scheduled jobs (evaluator.ts, jobs.ts): the engine state written once per
 *                message at its version, with the alarm writes its transitions make (commit-plan.ts folds them);
 *   AlarmStore — the officials' API (use-cases.ts): reads, a change of one alarm decided by a pure function and
 *                written at the version read, comments, and the alarm rules with their history.
 */
export type { AuditEntry, Page };

/** A manual clear the engine must apply to its `open` map (alarms-store.ts MANUAL CLEAR PROTOCOL). */
export interface ForgetRef {
  key: string;
  alarmId: string;
  at: string;
  by: string;
}

/** The evaluator's stored state: version, the engine's opaque state, and the manual clears not yet applied. */
export interface EvalSnapshot {
  ver: number;
  state: unknown;
  forget?: ForgetRef[];
}

export type CommitConflict =
  | { kind: 'slot_taken'; key: string; alarmId: string; openedAt?: string }
  | { kind: 'alarm_closed'; alarmId: string }
  | { kind: 'alarm_changed'; alarmId: string };

export type CommitResult =
  | { ok: true; ver: number; alarms: Alarm[] }
  | { ok: false; current?: EvalSnapshot; conflicts?: readonly CommitConflict[] };

export interface EvalStore {
  /**
   * Stores the engine's next state at `expectedVer + 1` together with its transitions' alarm writes. `{ ok: false }`
   * means nothing was written: re-evaluate from `current` (undefined: none stored) after its conflicts.
   */
  commitEvaluation(
    mn: string,
    expectedVer: number,
    nextState: unknown,
    transitions: Transition[],
    source: AlarmSource,
    now: Date,
    ruleVersion: number,
  ): Promise<CommitResult>;
  loadEvalState(mn: string): Promise<EvalSnapshot | undefined>;
  get(alarmId: string, consistent?: boolean): Promise<Alarm | undefined>;
}

// ───────────────────────────── officials ─────────────────────────────

/** Official list filters; `from`/`to` bound raisedAt (inclusive; canonical ISO instants by the time they reach a store). */
export interface AlarmFilter {
  state?: AlarmState;
  level?: AlarmLevel;
  type?: AlarmType;
  township?: string;
  enterprise?: string;
  from?: string;
  to?: string;
  /** only alarms whose enterprise answer waits for the bureau's review (the other filters apply to that page) */
  response?: 'submitted';
  /** true: only retrospective records (补传超标); false: only live alarms; absent: both */
  retrospective?: boolean;
}

export interface PageQuery {
  limit: number;
  cursor?: string;
}

/**
 * An alarm as stored, with `stateVersion`: the version of its last change that was not a notification (a reminder
 * bumps `version` only), which an official's If-Match is judged by (use-cases.ts acceptsIfMatch).
 */
export interface StoredAlarm {
  alarm: Alarm;
  stateVersion: number;
}

/** What an official's action changes: the next alarm (version + 1), its events, the audit entry. */
export interface AlarmChange {
  alarm: Alarm;
  events: AlarmEvent[];
  audit: { actor: string; action: string; detail: Record<string, unknown> };
  /** a manual clear: the alarm's slot is freed and the evaluator told to forget it, in the same transaction */
  manualClear?: { by: string };
}

export interface AlarmStore {
  get(alarmId: string, consistent?: boolean): Promise<Alarm | undefined>;
  /** Alarms, newest first, by the most selective index; a page may hold fewer than `limit` and still a cursor. */
  list(filter: AlarmFilter, page: PageQuery): Promise<Page<Alarm>>;
  /** The alarm's timeline, oldest first. */
  timeline(alarmId: string, page: PageQuery): Promise<Page<AlarmEvent>>;
  /**
   * Reads the alarm (consistent; NotFoundError when unknown), lets `decide` (pure) say what changes (undefined:
   * nothing, the alarm as it is comes back), then writes the next alarm at the version read with its events and
   * audit entry in ONE transaction. A write that loses to another writer is read and decided again (3 tries, then a
   * PreconditionFailedError); errors `decide` throws pass through.
   */
  change(alarmId: string, decide: (current: StoredAlarm) => AlarmChange | undefined): Promise<Alarm>;
  /** A timeline event with its audit entry; NotFoundError when the alarm does not exist. */
  addEvent(alarmId: string, event: AlarmEvent, audit: AuditEntry): Promise<void>;
  /** The rules officials stored last (consistent when asked), undefined while none is stored. */
  storedRules(consistent?: boolean): Promise<RuleSet | undefined>;
  /**
   * Stores `next` as the rules in force on the condition that the stored version is still `replacing` (none stored:
   * undefined), each of `history` as a version never overwritten, and the audit entry, in one transaction
   * (PreconditionFailedError when someone else stored rules meanwhile).
   */
  putRules(input: {
    next: RuleSet;
    replacing: number | undefined;
    history: RuleSet[];
    audit: AuditEntry;
  }): Promise<void>;
  /** Stored rule versions, newest first. */
  ruleVersions(page: PageQuery): Promise<Page<RuleSet>>;
  /** Alarms whose enterprise answer waits for review, latest answer first (a page of answers, then their alarms). */
  awaitingReview(page: PageQuery): Promise<Page<Alarm>>;
  /** The enterprise's answer to the alarm (企业情况说明), if there is one. */
  getResponse(alarmId: string, consistent?: boolean): Promise<AlarmResponse | undefined>;
  /**
   * Stores the answer on the condition that the stored one is still at `replacing` (undefined: none stored), with
   * its timeline event and audit entry, in one transaction (PreconditionFailedError when it changed meanwhile). The
   * same transaction references the sealed uploads `uploadIds` (owner `response`, the alarm's id: evidence-port.ts).
   */
  putResponse(input: {
    response: AlarmResponse;
    uploadIds?: readonly string[];
    replacing: number | undefined;
    event: AlarmEvent;
    audit: AuditEntry;
  }): Promise<void>;
}
