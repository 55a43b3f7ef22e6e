import type { Alarm } from '#shared/domain/alarms/lifecycle.ts';
import type { Patrol } from '#shared/domain/patrols/model.ts';
import type { Enterprise, Outlet, Township } from '#shared/domain/registry/model.ts';
import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import type { TimelineEntry, Tip } from '#shared/domain/tips/model.ts';
import type { TipStore } from '#shared/domain/tips/ports.ts';
import type { DeadlineKind } from './deadlines.ts';
import type { Case, CaseSource, CaseStatus, CaseTimelineEntry } from './model.ts';
import type { GrantedComponent, RewardLine } from './reward.ts';
import type { WorkflowName } from './timers.ts';

/**
 * The ports the case use-cases need (use-cases.ts for the officials' API, workflow-tasks.ts for the workflows'
 * Lambda), with the domain types they speak. shared/adapters/cases-store.ts implements CaseStore on DynamoDB (the
 * cases table and the audit table); shared/adapters/case-workflows.ts implements Workflows on Step Functions;
 * shared/adapters/case-sources.ts reads sources (tips, alarms, patrols, the registry) and posts to tips' reporters;
 * shared/adapters/tips-store.ts DynamoTipRecords is CaseTips;
 * shared/adapters/bureau-topic.ts publishes the bureau's messages. Every write that changes a case carries its
 * timeline events and audit entry into the same transaction; the rules (which change is allowed, what the timeline
 * says) are decided here in the domain before the store is called.
 */
export type { AuditEntry, Page, WorkflowName };

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface CaseRecord {
  case: Case;
  version: number;
}

/** Who does something, and when (the store's clock when absent). */
export interface Acting {
  by: string;
  at?: string;
}

/**
 * A case filter: by status, by unit (`open`: only the case(s) still accepting sources), or the cases whose unit is
 * not registered yet.
 */
export type CaseFilter =
  | { status: CaseStatus }
  | { enterpriseId: string; open?: boolean }
  | { needsRegistration: true };

/** A timeline entry before the store stamps it (id, at and by come from the change). */
export type CaseEventDraft = Omit<CaseTimelineEntry, 'id' | 'at' | 'by'>;

/**
 * What one change of a case does, decided by a pure function of the case read (changes.ts): the next case, its
 * timeline events, the sources it claims (each belongs to ONE case: the store refuses a source some case already
 * holds with a 409 naming that case) and the audit detail.
 */
export interface CaseChange {
  next: Case;
  events: CaseEventDraft[];
  claims?: CaseSource[];
  detail: Record<string, unknown>;
}

// ───────────────────────────── workflow tasks (contract with the workflows) ─────────────────────────────

export type TaskState = 'open' | 'done' | 'lapsed';

/**
 * One human step of a workflow: waiting on a Step Functions task token, or, for a followed-up step (the criminal
 * proceedings, follow-up.ts), kept by the periodic follow-up after the execution ended, with no token.
 */
export interface WorkflowTask {
  /** ULID */
  taskId: string;
  caseId: string;
  workflow: WorkflowName;
  executionArn: string;
  /** step name from REWARD_FLOW / TRANSFER_FLOW */
  step: string;
  /** roles (or `case_team`) that may act, from the step definition */
  actors: string[];
  /** the Step Functions task token (absent on a follow-up task); NEVER returned by the API, never logged */
  token?: string;
  createdAt: string;
  dueAt?: string;
  warnAt?: string;
  /** years the deadline's day count assumed Monday–Friday (no holiday data; deadlines.ts) */
  calendarAssumed?: number[];
  state: TaskState;
  /** what the step shows the actor (amount, package summary…); never a reporter's identity */
  input?: Record<string, unknown>;
  /** set when done */
  outcome?: TaskOutcome;
  completedAt?: string;
  lapsedAt?: string;
}

export interface TaskOutcome {
  action: string;
  comment?: string;
  by: string;
}

/** A task to record, with its timeline entry and its deadline (changes.ts taskOpened). */
export interface OpenedTask {
  task: Omit<WorkflowTask, 'state'>;
  opened: { entry: CaseEventDraft; deadline?: DeadlineView };
}

/** A task as officials see it: everything but the token. */
export type TaskView = Omit<WorkflowTask, 'token'>;

/** A deadline running on a task (transfer steps by statute; reward approvals by the timeout the workflow sets). */
export interface DeadlineView {
  taskId: string;
  caseId: string;
  workflow: WorkflowName;
  step: string;
  stepLabelZh?: string;
  /** the statutory period (deadlines.ts), when the step has one */
  kind?: DeadlineKind;
  actors: string[];
  dueAt: string;
  warnAt?: string;
  /** years the deadline's day count assumed Monday–Friday (no holiday data; deadlines.ts) */
  calendarAssumed?: number[];
  state: 'open' | 'lapsed';
}

// ───────────────────────────── the reward ledger ─────────────────────────────

/** A reward round started on a case: the lines it approves and pays (only components no earlier round pays). */
export interface RewardRoundRecord {
  round: number;
  lines: RewardLine[];
  startedAt: string;
}

/** A component paid, with the round that paid it. */
export interface GrantedRecord extends GrantedComponent {
  round: number;
  grantedAt: string;
}

/** The reward ledger of a case: rounds started (with their lines) and components paid. */
export interface RewardLedger {
  rounds: RewardRoundRecord[];
  granted: GrantedRecord[];
}

/** What a paying `payment` task writes into the ledger with its completion. */
export interface RewardGrant {
  round: number;
  lines: GrantedComponent[];
}

// ───────────────────────────── the store ─────────────────────────────

export interface CaseStore {
  /**
   * Creates a case (version 1) with its opening events and audit entry; every source of the case is claimed in the
   * same transaction (ConflictError naming the other case when one is taken; ConflictError when the id exists).
   */
  create(input: { case: Case; events: CaseEventDraft[]; detail: Record<string, unknown> }): Promise<CaseRecord>;
  /**
   * A case (consistent read). With `reader` (an official's read of protected data) the read is audited in the same
   * transaction that checks the case is still at the version read.
   */
  get(caseId: string, reader?: { actor: string }): Promise<CaseRecord | undefined>;
  /** Cases by status (oldest first) or of one unit; the listing is audited (the filter and the case ids shown). */
  /** a page of cases; only those `visible` to the reader are returned and named in the listing's audit entry */
  list(
    filter: CaseFilter,
    page: PageQuery,
    reader: { actor: string; visible?: (c: Case) => boolean },
  ): Promise<Page<Case>>;
  /** The case of a unit that still accepts sources (open or investigating), if any. */
  openCaseOfUnit(enterpriseId: string): Promise<Case | undefined>;
  /** The case teams of some cases (for `case_team` tasks); not audited: officials' ids only. */
  teamsOf(caseIds: readonly string[]): Promise<Map<string, string[]>>;
  /**
   * Reads the case (NotFoundError when unknown), checks `expectedVersion` (PreconditionFailedError), lets `decide`
   * (pure) say what changes, then writes the next case at the version read with its events, source claims and audit
   * entry in ONE transaction. A lost race is a PreconditionFailedError; a claimed source a ConflictError naming the
   * case holding it. Errors `decide` throws pass through and nothing is written.
   */
  change(
    caseId: string,
    expectedVersion: number | undefined,
    acting: Acting,
    action: string,
    decide: (c: Case, at: string) => CaseChange,
  ): Promise<CaseRecord>;
  /** Appends a timeline entry without changing the case, with its audit entry (NotFoundError for an unknown case). */
  addTimelineEntry(caseId: string, entry: CaseEventDraft, acting: Acting, action: string): Promise<CaseTimelineEntry>;
  /** The case's timeline, oldest first; the read is audited (NotFoundError for an unknown case). */
  timeline(caseId: string, page: PageQuery, reader: { actor: string }): Promise<Page<CaseTimelineEntry>>;

  /** The case's reward ledger: rounds started (in order) and components paid. */
  rewardLedger(caseId: string): Promise<RewardLedger>;
  /**
   * Claims a reward round before its workflow starts: the round and each of its components only if absent, with the
   * timeline entry and the audit entry. `false` (nothing written) when the round or a component is claimed already.
   */
  claimRewardRound(
    caseId: string,
    round: { round: number; lines: readonly RewardLine[] },
    entry: CaseEventDraft,
    acting: Acting,
  ): Promise<boolean>;

  /**
   * Stores a task the workflow waits on (open), indexed for each actor, with its deadline (when it has one), the
   * timeline entry and the audit entry. Idempotent: a retry with the same task id or token changes nothing.
   * NotFoundError when the case does not exist.
   */
  recordTask(
    task: Omit<WorkflowTask, 'state'>,
    opened: { entry: CaseEventDraft; deadline?: DeadlineView },
  ): Promise<void>;
  /** A task with its token; consistent read. */
  getTask(taskId: string): Promise<WorkflowTask | undefined>;
  /** The open tasks of one actor (a role or `case_team`), oldest first. */
  openTasksFor(actor: string, page: PageQuery): Promise<Page<TaskView>>;
  /** A case's workflow tasks (open, done, lapsed), oldest first. */
  tasksOf(caseId: string, page: PageQuery): Promise<Page<TaskView>>;
  /**
   * Marks the open task done with its outcome, out of the open lists and the deadlines, with the timeline entry and
   * the audit entry at `at`; with `grant`, the ledger's paid components (each only once per case) in the same
   * transaction; with `next`, the task that follows it (a follow-up's next period), recorded in the same transaction.
   * ConflictError when the task is no longer open, or a component of the grant was paid before.
   */
  completeTask(
    task: WorkflowTask,
    outcome: TaskOutcome,
    done: { entry: CaseEventDraft; actor: string; at: string },
    grant?: RewardGrant,
    next?: OpenedTask,
  ): Promise<WorkflowTask>;
  /**
   * The open task lapsed: out of the open lists, its deadline kept as lapsed; with `next`, the task that takes its
   * place (a follow-up re-armed), recorded in the same transaction. A task no longer open is left alone (and `next`
   * is not recorded): `false`.
   */
  lapseTask(task: WorkflowTask, lapsed: { entry: CaseEventDraft; at: string }, next?: OpenedTask): Promise<boolean>;
  /** Deadlines due in [from, to] (canonical ISO instants, inclusive), earliest first, open and lapsed. */
  deadlinesDue(from: string, to: string, page: PageQuery): Promise<Page<DeadlineView>>;
  /** Open deadlines due in [now, until] whose warning time has come (warnAt ≤ now) and not warned yet; at most `limit`. */
  deadlineWarningsDue(now: Date, until: Date, limit: number): Promise<DeadlineView[]>;
  /** Claims a deadline's warning before it is sent; false when claimed already or the task is no longer open. */
  claimDeadlineWarning(taskId: string, at: string): Promise<boolean>;
  /** Gives a claimed warning back (it could not be sent). */
  releaseDeadlineWarning(taskId: string): Promise<void>;
}

// ───────────────────────────── the other ports ─────────────────────────────

/** Step Functions, as far as cases need it. */
export interface Workflows {
  /** Starts a named execution; `started: false` when one of that name exists already. */
  start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<WorkflowStart>;
  /** Hands the actor's decision to the waiting task; ConflictError when the token is stale or timed out. */
  sendSuccess(token: string, output: { action: string; comment?: string; by: string }): Promise<void>;
}

export interface WorkflowStart {
  workflow: WorkflowName;
  executionName: string;
  executionArn?: string;
  started: boolean;
}

/** Read access to what a case is opened from, and to the registry. */
export interface CaseSourceReader {
  tip(id: string): Promise<Tip | undefined>;
  alarm(id: string): Promise<Alarm | undefined>;
  patrol(id: string): Promise<Patrol | undefined>;
  enterprise(id: string): Promise<Enterprise | undefined>;
  township(id: string): Promise<Township | undefined>;
  outlet(id: string): Promise<Outlet | undefined>;
  /** the tip's timeline as stored (the reward post's identity openings are on it) */
  tipTimeline(tipId: string): Promise<TimelineEntry[]>;
}

/** The tips a case writes to: a substantiated tip moves to 已立案 once a case holds it (tips/ports.ts TipStore). */
export type CaseTips = Pick<TipStore, 'get' | 'update'>;

/** What the workflows tell a tip's reporter (the follow page shows it): a message entry under the tip. */
export interface ReporterMessages {
  tip(tipId: string): Promise<Tip | undefined>;
  /**
   * Posts a message from the handler under the tip with its audit entry (`detail`). An entry with this id already
   * there is success: a seeded id makes a retried post a no-op.
   */
  post(
    tipId: string,
    message: { id: string; at: string; text: string },
    detail: Record<string, unknown>,
  ): Promise<void>;
}

/** A message to the bureau's topic (Chinese text; attributes for subscription filters and `dedupeId`). */
export interface BureauMessage {
  subject: string;
  textZh: string;
  attributes: Record<string, string>;
}

export type BureauNotifier = (message: BureauMessage) => Promise<void>;
