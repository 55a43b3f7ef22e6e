import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { calendarAssumedNoteZh } from '#shared/domain/calendar/cn-holidays.ts';
import { CRIME_ITEMS, type CrimeItem } from '#shared/domain/cases/crime-thresholds.ts';
import { type DeadlineKind, MAX_WARNING_LEAD_MS } from '#shared/domain/cases/deadlines.ts';
import {
  type AddEvidenceInput,
  acceptsSourcesFor,
  type Case,
  type CaseDecision,
  type CaseEvidence,
  type CaseSource,
  type CaseStatus,
  type CaseTimelineEntry,
  canDecide,
  canTransition,
  type DecisionBody,
  MIN_HANDLERS,
  type OpenCaseInput,
  type SourceKind,
  type TimelineType,
} from '#shared/domain/cases/model.ts';
import type { GrantedComponent, RewardComponent, RewardLine } from '#shared/domain/cases/reward.ts';
import { REWARD_FLOW } from '#shared/domain/cases/reward-flow.ts';
import { TRANSFER_FLOW } from '#shared/domain/cases/transfer.ts';
import type { StepDef } from '#shared/domain/cases/workflow.ts';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import { encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';
import { auditPut } from './registry-store.ts';

/**
 * Cases and their workflow tasks on one DynamoDB table (pk/sk; gsi1, gsi2, gsi3), plus the append-only audit table.
 *
 *   case:      pk `case#<caseId>`, sk `#`; the Case under `case`, `version` at top level, kind `case`
 *              gsi1 `status#<status>` / `<openedAt>#<caseId>`                  → cases by status, oldest first
 *              gsi2 `unit#<USCC>` / `<open|closed>#<openedAt>#<caseId>`        → a unit's cases; `open` while the case
 *                   still accepts sources (open, investigating: model.ts acceptsSourcesFor), so "the open case of this
 *                   unit" a later source attaches to is one begins_with query. No gsi2 for an unregistered site.
 *   event:     pk `case#<caseId>`, sk `ev#<at>#<ulid>`; a CaseTimelineEntry under `entry` (the timeline, oldest first)
 *   source:    pk `source#<kind>#<sourceId>`, sk `#`; `caseId`. Put with attribute_not_exists in the same transaction
 *              that adds the source to a case: a tip, alarm, clue or patrol finding belongs to ONE case (else 409).
 *   task:      pk `task#<taskId>`, sk `#`; the WorkflowTask under `task` (its token under `token`, never in a view),
 *              `state` at top level (the completion's condition)
 *              gsi2 `case#<caseId>` / `task#<createdAt>#<taskId>`               → a case's workflow history
 *   task actor: pk `task#<taskId>`, sk `actor#<actor>`; one per actor of the step while the task is OPEN, deleted in
 *              the transaction that completes or lapses it; the TaskView (no token) under `task`
 *              gsi3 `tasks#<actor>` / `<createdAt>#<taskId>`                   → openTasksFor(actor): one query, the
 *                   index holds open tasks only (no filter). `case_team` tasks are indexed under `case_team`; the API
 *                   keeps those whose case names the caller as a handler.
 *   deadline:  pk `task#<taskId>`, sk `deadline`; only when the task has `dueAt`; a DeadlineView under `deadline`
 *              gsi3 `deadlines` / `<dueAt>#<taskId>`                           → deadlinesDue(from, to): one range
 *                   query. Deleted when the task is done; kept (state `lapsed`) when it lapses, so an overdue period
 *                   stays visible. One partition: ~10⁴ cases × a handful of deadlines is far below its limits.
 *   token:     pk `tasktoken#<sha256(token)>`, sk `#`; `taskId`. Makes recordTask idempotent for a retried Lambda
 *              even when it drew a new task id (the same Step Functions token is the same task).
 *
 * Never a Scan. Every state change and every read of protected data (a case, a list, a timeline) writes its audit
 * entry in the same TransactWriteItems: a change with its items; a read as a ConditionCheck that the item is still
 * at the version read, plus the audit Put (so the log names exactly what was shown). Audit entity: `case/<caseId>`.
 * A case never holds a reporter's identity: a tip is referenced by its id only.
 */
export const caseKeys = {
  case: (caseId: string) => ({ pk: `case#${caseId}`, sk: '#' }),
  event: (caseId: string, at: string, id: string) => ({ pk: `case#${caseId}`, sk: `ev#${at}#${id}` }),
  source: (kind: SourceKind, id: string) => ({ pk: `source#${kind}#${id}`, sk: '#' }),
  task: (taskId: string) => ({ pk: `task#${taskId}`, sk: '#' }),
  taskActor: (taskId: string, actor: string) => ({ pk: `task#${taskId}`, sk: `actor#${actor}` }),
  deadline: (taskId: string) => ({ pk: `task#${taskId}`, sk: 'deadline' }),
  token: (token: string) => ({ pk: `tasktoken#${createHash('sha256').update(token).digest('hex')}`, sk: '#' }),
  /** a reward round started on the case (its lines), beside the case item */
  rewardRound: (caseId: string, round: number) => ({ pk: `case#${caseId}`, sk: `reward#round#${pad(round)}` }),
  /** a component some started round pays: at most one per case */
  rewardClaim: (caseId: string, component: RewardComponent) => ({
    pk: `case#${caseId}`,
    sk: `reward#claim#${component}`,
  }),
  /** a component paid (the ledger): at most one per case */
  rewardGranted: (caseId: string, component: RewardComponent) => ({
    pk: `case#${caseId}`,
    sk: `reward#granted#${component}`,
  }),
};

const pad = (round: number) => String(round).padStart(4, '0');

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

/** The gsi3 partition of the open tasks of one actor (a role or `case_team`). */
export const tasksPartition = (actor: string) => `tasks#${actor}`;
export const DEADLINES_PARTITION = 'deadlines';

/** The index keys a case carries. */
export function caseIndexKeys(c: Case): Record<string, string> {
  const order = `${c.openedAt}#${c.caseId}`;
  const accepting = c.status === 'open' || c.status === 'investigating';
  return {
    gsi1pk: `status#${c.status}`,
    gsi1sk: order,
    ...(c.enterpriseId
      ? { gsi2pk: `unit#${c.enterpriseId}`, gsi2sk: `${accepting ? 'open' : 'closed'}#${order}` }
      : {}),
  };
}

// ───────────────────────────── workflow tasks (contract with the workflows) ─────────────────────────────

export type WorkflowName = 'reward' | 'transfer';
export type TaskState = 'open' | 'done' | 'lapsed';

/** One human step of a running workflow, waiting on a Step Functions task token. */
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
  /** the Step Functions task token; NEVER returned by the API, never logged */
  token: string;
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

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface CaseRecord {
  case: Case;
  version: number;
}

/** Who does something, and when (defaults to now). */
export interface Acting {
  by: string;
  at?: string;
}

const FLOWS = { reward: REWARD_FLOW, transfer: TRANSFER_FLOW } as const;

/** The step definition of a task, if the step exists in the flow. */
export function stepOf(workflow: WorkflowName, step: string): StepDef<string, string> | undefined {
  const steps: Record<string, StepDef<string, string> | undefined> = FLOWS[workflow].steps;
  return steps[step];
}

export const viewOf = (task: WorkflowTask): TaskView => {
  const { token: _token, ...view } = task;
  return view;
};

function deadlineOf(task: Omit<WorkflowTask, 'token'>, state: DeadlineView['state']): DeadlineView | undefined {
  if (!task.dueAt) return undefined;
  const def = stepOf(task.workflow, task.step);
  const kind = def?.deadline;
  return {
    taskId: task.taskId,
    caseId: task.caseId,
    workflow: task.workflow,
    step: task.step,
    ...(def ? { stepLabelZh: def.labelZh } : {}),
    ...(kind ? { kind } : {}),
    actors: task.actors,
    dueAt: task.dueAt,
    ...(task.warnAt ? { warnAt: task.warnAt } : {}),
    ...(task.calendarAssumed ? { calendarAssumed: task.calendarAssumed } : {}),
    state,
  };
}

/** An ISO instant in its canonical form (what the sort keys hold), or a 400 on `query.<field>`. */
export function canonicalInstant(value: string, field: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new ValidationError(`${field} is not an ISO 8601 instant`, [
      { field: `query.${field}`, message: 'must be an ISO 8601 instant', messageZh: '时间格式无效' },
    ]);
  }
  return new Date(t).toISOString();
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Limits that keep a case item far below DynamoDB's 400 KB. */
export const MAX_EVIDENCE = 200;
export const MAX_SOURCES = 100;

export class DynamoCaseStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { cases: string; audit: string },
    private readonly now: () => Date = () => new Date(),
  ) {}

  // ───────────────────────────── tasks ─────────────────────────────

  /**
   * Stores a task the workflow waits on, its actor index items and its deadline, with an audit entry and a timeline
   * event, in one transaction. Idempotent: a retried Lambda (same task id, or same token) changes nothing.
   * The case must exist (404).
   */
  async recordTask(task: Omit<WorkflowTask, 'state'>): Promise<void> {
    const full: WorkflowTask = { ...task, state: 'open' };
    const view = viewOf(full);
    const deadline = deadlineOf(view, 'open');
    const stepLabel = stepOf(task.workflow, task.step)?.labelZh;
    const items: TransactItem[] = [
      {
        ConditionCheck: {
          TableName: this.tables.cases,
          Key: caseKeys.case(task.caseId),
          ConditionExpression: 'attribute_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.tables.cases,
          Item: {
            ...caseKeys.task(task.taskId),
            gsi2pk: `case#${task.caseId}`,
            gsi2sk: `task#${task.createdAt}#${task.taskId}`,
            kind: 'task',
            state: 'open',
            task: view,
            token: task.token,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Put: {
          TableName: this.tables.cases,
          Item: { ...caseKeys.token(task.token), kind: 'task_token', taskId: task.taskId },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...[...new Set(task.actors)].map((actor) => ({
        Put: {
          TableName: this.tables.cases,
          Item: {
            ...caseKeys.taskActor(task.taskId, actor),
            gsi3pk: tasksPartition(actor),
            gsi3sk: `${task.createdAt}#${task.taskId}`,
            kind: 'task_actor',
            task: view,
          },
        },
      })),
      ...(deadline
        ? [
            {
              Put: {
                TableName: this.tables.cases,
                Item: {
                  ...caseKeys.deadline(task.taskId),
                  gsi3pk: DEADLINES_PARTITION,
                  gsi3sk: `${deadline.dueAt}#${task.taskId}`,
                  kind: 'deadline',
                  deadline,
                },
              },
            },
          ]
        : []),
      this.eventPut(task.caseId, {
        id: ulid(),
        at: task.createdAt,
        by: 'system',
        type: stepType(task.workflow),
        note: `待办：${stepLabel ?? task.step}${task.calendarAssumed?.length ? `（${calendarAssumedNoteZh(task.calendarAssumed)}）` : ''}`,
        data: { event: 'task_opened', taskId: task.taskId, step: task.step, actors: task.actors },
      }),
      auditPut(
        this.tables.audit,
        this.audit('system', 'case.task.record', task.caseId, task.createdAt, {
          taskId: task.taskId,
          workflow: task.workflow,
          step: task.step,
          executionArn: task.executionArn,
        }),
      ),
    ];
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') throw new NotFoundError(`case ${task.caseId} does not exist`);
      // the task (1) or its token (2) is already stored: a retry
      if (reasons[1]?.Code === 'ConditionalCheckFailed' || reasons[2]?.Code === 'ConditionalCheckFailed') return;
      throw err;
    }
  }

  /** The open tasks of one actor (a role or `case_team`), oldest first: one gsi3 query, open tasks only. */
  async openTasksFor(role: string, page: PageQuery): Promise<Page<TaskView>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.cases,
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :p',
        ExpressionAttributeValues: { ':p': tasksPartition(role) },
        Limit: page.limit,
        ExclusiveStartKey: startKeyOf(page.cursor),
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((i) => i.task as TaskView), ...(cursor ? { cursor } : {}) };
  }

  /** A task with its token (for SendTaskSuccess); consistent read. */
  async getTask(taskId: string): Promise<WorkflowTask | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.cases, Key: caseKeys.task(taskId), ConsistentRead: true }),
    );
    if (out.Item?.kind !== 'task') return undefined;
    return { ...(out.Item.task as TaskView), state: out.Item.state as TaskState, token: String(out.Item.token) };
  }

  /** A case's workflow tasks (open, done, lapsed), oldest first: its workflows' history. gsi2 query. */
  async tasksOf(caseId: string, page: PageQuery): Promise<Page<TaskView>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.cases,
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :p AND begins_with(gsi2sk, :t)',
        ExpressionAttributeValues: { ':p': `case#${caseId}`, ':t': 'task#' },
        Limit: page.limit,
        ExclusiveStartKey: startKeyOf(page.cursor),
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return {
      items: (out.Items ?? []).map((i) => ({ ...(i.task as TaskView), state: i.state as TaskState })),
      ...(cursor ? { cursor } : {}),
    };
  }

  /**
   * Marks an open task done with its outcome, removes it from the open-task and deadline indexes, appends the
   * timeline event (in Chinese: the step and the action's label) and the audit entry: one transaction, on the
   * condition that the task is still open (409 when it is done or lapsed, 404 when unknown). `audit.at` is when the
   * actor decided (before the workflow was told), so the timeline keeps the decision ahead of what the workflow did next.
   */
  async completeTask(
    taskId: string,
    outcome: TaskOutcome,
    audit: { actor: string; at?: string },
    grant?: RewardGrant,
  ): Promise<WorkflowTask> {
    const task = await this.getTask(taskId);
    if (!task) throw new NotFoundError(`task ${taskId} does not exist`);
    if (task.state !== 'open') throw new ConflictError(`task ${taskId} is ${task.state} (任务已处理或已过期)`);
    const at = audit.at ?? this.now().toISOString();
    const comment = outcome.comment?.trim();
    const clean: TaskOutcome = { action: outcome.action, by: outcome.by, ...(comment ? { comment } : {}) };
    const done: WorkflowTask = { ...task, state: 'done', outcome: clean, completedAt: at };
    const step = stepOf(task.workflow, task.step);
    const label = step?.labelZh ?? task.step;
    const actionLabel = (step?.actions[clean.action] as { labelZh?: string } | undefined)?.labelZh ?? clean.action;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.taskStateUpdate(taskId, 'done', at, clean),
            ...this.indexDeletes(task, 'delete'),
            this.eventPut(task.caseId, {
              id: ulid(),
              at,
              by: outcome.by,
              type: stepType(task.workflow),
              note: `${label}：${actionLabel}${comment ? `（${comment}）` : ''}`,
              data: { event: 'task_done', taskId, step: task.step, action: clean.action },
            }),
            auditPut(
              this.tables.audit,
              this.audit(audit.actor, 'case.task.complete', task.caseId, at, {
                taskId,
                workflow: task.workflow,
                step: task.step,
                action: clean.action,
                ...(comment ? { comment } : {}),
              }),
            ),
            ...(grant ? this.grantItems(task.caseId, grant, audit.actor, at) : []),
          ],
        }),
      );
    } catch (err) {
      const reasons = (err as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
      // positions after the task's own items are the ledger's: a component some earlier round already paid
      const ledgerFrom = 3 + this.indexDeletes(task, 'delete').length;
      if (grant && reasons[0]?.Code !== 'ConditionalCheckFailed') {
        const paid = grant.lines.find((_, i) => reasons[ledgerFrom + 1 + i]?.Code === 'ConditionalCheckFailed');
        if (paid) {
          throw new ConflictError(
            `reward component ${paid.component} of case ${task.caseId} was already paid (该奖励项目已发放，不得重复发放)`,
          );
        }
      }
      if (isConditionFailure(err)) throw new ConflictError(`task ${taskId} was already handled (任务已处理或已过期)`);
      throw err;
    }
    return done;
  }

  /**
   * The step timed out (the workflow's escalation path): the task leaves the open lists; its deadline stays listed
   * as lapsed. Idempotent: a task already done or lapsed is left as it is. Unknown task: 404.
   */
  async lapseTask(taskId: string): Promise<void> {
    const task = await this.getTask(taskId);
    if (!task) throw new NotFoundError(`task ${taskId} does not exist`);
    if (task.state !== 'open') return;
    const at = this.now().toISOString();
    const label = stepOf(task.workflow, task.step)?.labelZh ?? task.step;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.taskStateUpdate(taskId, 'lapsed', at),
            ...this.indexDeletes(task, 'lapse'),
            this.eventPut(task.caseId, {
              id: ulid(),
              at,
              by: 'system',
              type: stepType(task.workflow),
              note: `${label}：已超期，升级处理`,
              data: { event: 'task_lapsed', taskId, step: task.step },
            }),
            auditPut(
              this.tables.audit,
              this.audit('system', 'case.task.lapse', task.caseId, at, {
                taskId,
                workflow: task.workflow,
                step: task.step,
              }),
            ),
          ],
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return; // completed or lapsed meanwhile
      throw err;
    }
  }

  /**
   * Deadlines due in [from, to] (ISO instants, inclusive), earliest first, open and lapsed: one gsi3 range query.
   */
  async deadlinesDue(fromIso: string, toIso: string, page: PageQuery): Promise<Page<DeadlineView>> {
    const from = canonicalInstant(fromIso, 'from');
    const to = canonicalInstant(toIso, 'to');
    if (from > to) {
      throw new ValidationError('from is after to', [
        { field: 'query.from', message: 'must not be after `to`', messageZh: '开始时间不能晚于结束时间' },
      ]);
    }
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.cases,
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :p AND gsi3sk BETWEEN :from AND :to',
        // `#` sorts before every ULID character and `~` after: the bounds are inclusive of both instants
        ExpressionAttributeValues: { ':p': DEADLINES_PARTITION, ':from': `${from}#`, ':to': `${to}#~` },
        Limit: page.limit,
        ExclusiveStartKey: startKeyOf(page.cursor),
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((i) => i.deadline as DeadlineView), ...(cursor ? { cursor } : {}) };
  }

  /**
   * Open deadlines whose warning time has come (warnAt ≤ now < dueAt) and that were not warned yet: one gsi3 range
   * query over the deadlines due within deadlines.ts MAX_WARNING_LEAD_MS (no warning leads by more),
   * the rest filtered by the query. At most `limit`, earliest due first.
   */
  async deadlineWarningsDue(now: Date, limit: number): Promise<DeadlineView[]> {
    const from = now.toISOString();
    const to = new Date(now.getTime() + MAX_WARNING_LEAD_MS).toISOString();
    const found: DeadlineView[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tables.cases,
          IndexName: 'gsi3',
          KeyConditionExpression: 'gsi3pk = :p AND gsi3sk BETWEEN :from AND :to',
          FilterExpression: 'attribute_not_exists(warnedAt) AND deadline.#state = :open AND deadline.warnAt <= :now',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':p': DEADLINES_PARTITION,
            ':from': `${from}#`,
            ':to': `${to}#~`,
            ':open': 'open',
            ':now': from,
          },
          ExclusiveStartKey: start,
        }),
      );
      for (const i of out.Items ?? []) found.push(i.deadline as DeadlineView);
      start = out.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found.slice(0, limit);
  }

  /**
   * Claims the warning of a deadline before it is sent: `warnedAt` set on the condition that the deadline is still
   * there, open and not warned. False when another sweep claimed it, or the task was done or lapsed meanwhile.
   */
  async claimDeadlineWarning(taskId: string, at: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.cases,
          Key: caseKeys.deadline(taskId),
          UpdateExpression: 'SET warnedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(warnedAt) AND deadline.#state = :open',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':at': at, ':open': 'open' },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Gives a claimed warning back (it could not be sent): the next sweep tries again. */
  async releaseDeadlineWarning(taskId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.cases,
          Key: caseKeys.deadline(taskId),
          UpdateExpression: 'REMOVE warnedAt',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // the task was done meanwhile: nothing to give back
    }
  }

  private taskStateUpdate(taskId: string, state: 'done' | 'lapsed', at: string, outcome?: TaskOutcome): TransactItem {
    return {
      Update: {
        TableName: this.tables.cases,
        Key: caseKeys.task(taskId),
        UpdateExpression: outcome
          ? 'SET #state = :s, task.#state = :s, task.outcome = :o, task.completedAt = :at'
          : 'SET #state = :s, task.#state = :s, task.lapsedAt = :at',
        ConditionExpression: '#state = :open',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':s': state, ':open': 'open', ':at': at, ...(outcome ? { ':o': outcome } : {}) },
      },
    };
  }

  /** The actor items go; the deadline item goes when done, and is marked lapsed when the step lapsed. */
  private indexDeletes(task: WorkflowTask, mode: 'delete' | 'lapse'): TransactItem[] {
    const actors = [...new Set(task.actors)].map((actor) => ({
      Delete: { TableName: this.tables.cases, Key: caseKeys.taskActor(task.taskId, actor) },
    }));
    if (!task.dueAt) return actors;
    const deadline: TransactItem =
      mode === 'delete'
        ? { Delete: { TableName: this.tables.cases, Key: caseKeys.deadline(task.taskId) } }
        : {
            Update: {
              TableName: this.tables.cases,
              Key: caseKeys.deadline(task.taskId),
              UpdateExpression: 'SET deadline.#state = :l',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#state': 'state' },
              ExpressionAttributeValues: { ':l': 'lapsed' },
            },
          };
    return [...actors, deadline];
  }

  // ───────────────────────────── cases ─────────────────────────────

  /**
   * Opens a case from its sources (already checked by the caller: they exist, they hold up, their units match). Each
   * source is claimed in the same transaction: one already in another case is a 409 naming that case. With two or
   * more handlers the case starts `investigating`, otherwise `open`.
   */
  async openCase(input: OpenCaseInput, acting: Acting & { caseId?: string }): Promise<CaseRecord> {
    const at = acting.at ?? this.now().toISOString();
    const caseId = acting.caseId ?? ulid(Date.parse(at));
    const handlers = [...new Set(input.handlers)];
    const c: Case = {
      caseId,
      ...(input.enterpriseId ? { enterpriseId: input.enterpriseId } : {}),
      unitName: input.unitName,
      townshipId: input.townshipId,
      title: input.title,
      sources: input.sources.map((s) => ({ kind: s.kind, id: s.id, addedAt: at, addedBy: acting.by })),
      handlers,
      status: handlers.length >= MIN_HANDLERS ? 'investigating' : 'open',
      evidence: [],
      openedAt: at,
      openedBy: acting.by,
      updatedAt: at,
      version: 1,
    };
    const claims = c.sources.map((s) => this.claimPut(s, caseId));
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tables.cases,
          Item: this.caseItem(c),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...claims,
      this.eventPut(caseId, {
        id: ulid(),
        at,
        by: acting.by,
        type: 'opened',
        note: `立案：${c.title}`,
        data: { status: c.status, sources: c.sources.map((s) => `${s.kind}#${s.id}`) },
      }),
      auditPut(
        this.tables.audit,
        this.audit(acting.by, 'case.open', caseId, at, {
          status: c.status,
          sources: c.sources.map((s) => `${s.kind}#${s.id}`),
          handlers,
          ...(c.enterpriseId ? { enterpriseId: c.enterpriseId } : {}),
        }),
      ),
    ];
    await this.transact(items, (reasons) => {
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return new ConflictError(`case ${caseId} already exists`);
      return this.claimConflict(reasons, c.sources, 1);
    });
    return { case: c, version: 1 };
  }

  /**
   * A case. With `reader` (an official's read of protected data) the read is audited: a ConditionCheck that the case
   * is still at the version read plus the audit entry, in one transaction (re-read once if it changed meanwhile).
   */
  async get(caseId: string, reader?: { actor: string }): Promise<CaseRecord | undefined> {
    for (let attempt = 0; ; attempt++) {
      const record = await this.read(caseId);
      if (!record || !reader) return record;
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              this.versionCheck(caseId, record.version),
              auditPut(
                this.tables.audit,
                this.audit(reader.actor, 'case.read', caseId, this.now().toISOString(), { version: record.version }),
              ),
            ],
          }),
        );
        return record;
      } catch (err) {
        if (!isConditionFailure(err) || attempt > 0) throw err;
      }
    }
  }

  /**
   * Cases by status (gsi1, oldest first) or of one unit (gsi2, oldest first; `open` only those still accepting
   * sources). The listing is audited (one entry naming the filter and the case ids shown).
   */
  async list(filter: CaseFilter, page: PageQuery, reader: { actor: string }): Promise<Page<Case>> {
    const query =
      'status' in filter
        ? { index: 'gsi1', pk: `status#${filter.status}`, prefix: undefined }
        : { index: 'gsi2', pk: `unit#${filter.enterpriseId}`, prefix: filter.open ? 'open#' : undefined };
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.cases,
        IndexName: query.index,
        KeyConditionExpression: query.prefix
          ? `${query.index}pk = :pk AND begins_with(${query.index}sk, :prefix)`
          : `${query.index}pk = :pk`,
        ExpressionAttributeValues: { ':pk': query.pk, ...(query.prefix ? { ':prefix': query.prefix } : {}) },
        Limit: page.limit,
        ExclusiveStartKey: cursorFor(page.cursor, `${query.index}pk`, query.pk),
      }),
    );
    const items = (out.Items ?? []).filter((i) => i.kind === 'case').map((i) => i.case as Case);
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          auditPut(this.tables.audit, {
            actor: reader.actor,
            action: 'case.list',
            entity: 'cases',
            at: this.now().toISOString(),
            detail: { filter, caseIds: items.map((c) => c.caseId) },
          }),
        ],
      }),
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items, ...(cursor ? { cursor } : {}) };
  }

  /** The case of a unit that still accepts sources (open or investigating), if any: one gsi2 query. */
  async openCaseOfUnit(enterpriseId: string): Promise<Case | undefined> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.cases,
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :open)',
        ExpressionAttributeValues: { ':pk': `unit#${enterpriseId}`, ':open': 'open#' },
        Limit: 1,
      }),
    );
    const item = out.Items?.[0];
    return item?.kind === 'case' ? (item.case as Case) : undefined;
  }

  /**
   * The case teams of some cases (for `case_team` tasks): one BatchGetItem per 100 cases, projecting the handlers
   * only; unprocessed keys are retried. Not audited: it shows officials' ids, no case content.
   */
  async teamsOf(caseIds: readonly string[]): Promise<Map<string, string[]>> {
    const teams = new Map<string, string[]>();
    const unique = [...new Set(caseIds)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map((id) => caseKeys.case(id));
      for (let round = 0; keys && keys.length > 0 && round < 5; round++) {
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tables.cases]: {
                Keys: keys,
                ProjectionExpression: '#case.caseId, #case.handlers',
                ExpressionAttributeNames: { '#case': 'case' },
              },
            },
          }),
        );
        for (const item of out.Responses?.[this.tables.cases] ?? []) {
          const c = item.case as Pick<Case, 'caseId' | 'handlers'> | undefined;
          if (c) teams.set(c.caseId, c.handlers);
        }
        keys = out.UnprocessedKeys?.[this.tables.cases]?.Keys;
      }
    }
    return teams;
  }

  /** Which case a source is in, if any (key lookup of its claim). */
  async caseOfSource(kind: SourceKind, id: string): Promise<string | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.cases, Key: caseKeys.source(kind, id), ConsistentRead: true }),
    );
    return out.Item ? String(out.Item.caseId) : undefined;
  }

  /**
   * Attaches a later source to an open case of the same unit (`sourceUnit`: the USCC the source names, undefined
   * when it names none, which the official may attach to any case still open). 409 when the case no longer accepts
   * sources, the units differ, or the source is already in a case (this one or another).
   */
  async attachSource(
    caseId: string,
    source: { kind: SourceKind; id: string },
    sourceUnit: string | undefined,
    acting: Acting,
    expectedVersion?: number,
  ): Promise<CaseRecord> {
    return this.change(caseId, expectedVersion, acting, 'case.source.attach', (c, at) => {
      const accepting = c.status === 'open' || c.status === 'investigating';
      if (!accepting) {
        throw new ConflictError(
          `case ${caseId} is ${c.status} and takes no more sources (案件已作出决定或已结案，不能再关联来源)`,
        );
      }
      // a source naming no unit (a clue, a patrol finding, a tip about an unnamed site) joins on the official's
      // judgment; one naming a unit joins only that unit's case
      if (sourceUnit !== undefined && !(c.enterpriseId && acceptsSourcesFor(c, sourceUnit))) {
        throw new ConflictError(
          `the source concerns unit ${sourceUnit}, not the unit of case ${caseId} (来源所涉单位与案件不一致)`,
        );
      }
      if (c.sources.some((s) => s.kind === source.kind && s.id === source.id)) {
        throw new ConflictError(`${source.kind} ${source.id} is already a source of case ${caseId} (来源已关联)`);
      }
      if (c.sources.length >= MAX_SOURCES) throw new ConflictError(`a case holds at most ${MAX_SOURCES} sources`);
      const added: CaseSource = { kind: source.kind, id: source.id, addedAt: at, addedBy: acting.by };
      return {
        next: { ...c, sources: [...c.sources, added] },
        events: [
          {
            type: 'source_added',
            note: `关联来源：${source.kind} ${source.id}`,
            data: { sourceKind: source.kind, sourceId: source.id },
          },
        ],
        extra: [this.claimPut(added, caseId)],
        detail: { source: `${source.kind}#${source.id}` },
        conflict: (reasons) => this.claimConflict(reasons, [added], 1),
      };
    });
  }

  /**
   * Names the case team (≥ 2 distinct handlers). An open case starts its investigation; a closed case refuses (409).
   */
  async assignHandlers(
    caseId: string,
    handlers: readonly string[],
    acting: Acting,
    expectedVersion?: number,
  ): Promise<CaseRecord> {
    const team = [...new Set(handlers)];
    if (team.length < MIN_HANDLERS) {
      throw new ValidationError('an investigation needs at least two handlers', [
        {
          field: 'body.handlers',
          message: `at least ${MIN_HANDLERS} distinct handlers`,
          messageZh: '调查须有两名以上执法人员',
        },
      ]);
    }
    return this.change(caseId, expectedVersion, acting, 'case.handlers.assign', (c) => {
      if (c.status === 'closed') throw new ConflictError(`case ${caseId} is closed (案件已结案)`);
      const status: CaseStatus = c.status === 'open' ? 'investigating' : c.status;
      return {
        next: { ...c, handlers: team, status },
        events: [
          { type: 'handlers_changed', note: `承办人：${team.join('、')}`, data: { from: c.handlers, to: team } },
          ...(status !== c.status
            ? [
                {
                  type: 'status_changed' as const,
                  note: '开始调查',
                  data: { from: c.status, to: status },
                },
              ]
            : []),
        ],
        detail: { handlers: team, ...(status !== c.status ? { status } : {}) },
      };
    });
  }

  /** Adds a sealed S3 object (with its hash) or a raw-archive span to the evidence list; not on a closed case. */
  async addEvidence(
    caseId: string,
    input: AddEvidenceInput,
    acting: Acting,
    expectedVersion?: number,
  ): Promise<CaseRecord & { evidence: CaseEvidence }> {
    let added: CaseEvidence | undefined;
    const record = await this.change(caseId, expectedVersion, acting, 'case.evidence.add', (c, at) => {
      if (c.status === 'closed') throw new ConflictError(`case ${caseId} is closed (案件已结案)`);
      if (c.evidence.length >= MAX_EVIDENCE) {
        throw new ConflictError(`a case holds at most ${MAX_EVIDENCE} evidence items (证据数量已达上限)`);
      }
      const evidence: CaseEvidence = { ...input, id: ulid(Date.parse(at)), addedAt: at, addedBy: acting.by };
      added = evidence;
      const what: TimelineData =
        evidence.type === 'object'
          ? { evidenceId: evidence.id, kind: evidence.kind, key: evidence.key, sha256: evidence.sha256 }
          : { evidenceId: evidence.id, mn: evidence.mn, from: evidence.from, to: evidence.to };
      return {
        next: { ...c, evidence: [...c.evidence, evidence] },
        events: [{ type: 'evidence_added', note: evidence.note ?? '添加证据', data: what }],
        detail: what,
      };
    });
    return { ...record, evidence: added as CaseEvidence };
  }

  /**
   * Records THE decision (model.ts canDecide: an investigation with a team of two or more; otherwise 409). The case
   * moves to `decided` and leaves its unit's open listing. For a suspected crime, `proposedCrimeItems` is what the
   * platform proposed from the case's facts (crime-thresholds.ts); it is stored with the case and in the decision.
   */
  async recordDecision(
    caseId: string,
    decision: DecisionBody,
    acting: Acting,
    expectedVersion?: number,
    proposal?: { proposedCrimeItems: CrimeItem[] },
  ): Promise<CaseRecord> {
    return this.change(caseId, expectedVersion, acting, 'case.decide', (c, at): Change => {
      if (!canDecide(c)) {
        throw new ConflictError(
          c.status === 'investigating'
            ? `case ${caseId} needs at least ${MIN_HANDLERS} handlers before a decision (须有两名以上承办人)`
            : `case ${caseId} is ${c.status}; a decision is recorded on a case under investigation (案件不在调查阶段)`,
        );
      }
      const recorded: CaseDecision = { ...decision, decidedBy: acting.by, decidedAt: at };
      const proposed = proposal?.proposedCrimeItems;
      return {
        next: {
          ...c,
          status: 'decided',
          decision: recorded,
          ...(proposed ? { proposedCrimeItems: proposed } : {}),
        },
        events: [
          ...(proposed
            ? [
                {
                  type: 'crime_items_proposed' as const,
                  note: proposed.length > 0 ? '平台比对入罪标准，提出建议' : '平台未发现达到入罪标准的事实',
                  data: { items: proposed },
                },
              ]
            : []),
          {
            type: 'decision_recorded',
            note: decisionNote(decision),
            data: decisionData(decision),
          },
          { type: 'status_changed', note: '已作出决定', data: { from: c.status, to: 'decided' } },
        ],
        detail: decisionData(decision),
      };
    });
  }

  /**
   * A status change the workflows make (decided → transferred → investigating when the police return it, → closed):
   * checked with model.ts canTransition (409 otherwise). Leaving `decided` for `investigating` clears the decision.
   */
  async setStatus(caseId: string, to: CaseStatus, acting: Acting & { note?: string }): Promise<CaseRecord> {
    return this.change(caseId, undefined, acting, 'case.status', (c, at) => {
      if (!canTransition(c.status, to)) {
        throw new ConflictError(`case ${caseId} cannot go from ${c.status} to ${to} (案件状态不允许此变更)`);
      }
      const { decision: _dropped, ...rest } = c;
      const next: Case = {
        ...(to === 'investigating' ? rest : c),
        status: to,
        ...(to === 'closed' ? { closedAt: at } : {}),
      };
      return {
        next,
        events: [
          { type: 'status_changed', ...(acting.note ? { note: acting.note } : {}), data: { from: c.status, to } },
        ],
        detail: { from: c.status, to, ...(acting.note ? { note: acting.note } : {}) },
      };
    });
  }

  /**
   * The case's reward ledger: the rounds started (their lines) and the components paid. One consistent query of the
   * case's partition (`reward#…` items); a case without rewards has an empty ledger.
   */
  async rewardLedger(caseId: string): Promise<RewardLedger> {
    const rounds: RewardRoundRecord[] = [];
    const granted: GrantedRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tables.cases,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
          ExpressionAttributeValues: { ':pk': caseKeys.case(caseId).pk, ':r': 'reward#' },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out?.Items ?? []) {
        if (item.kind === 'reward_round') rounds.push(item.record as RewardRoundRecord);
        if (item.kind === 'reward_granted') granted.push(item.record as GrantedRecord);
      }
      start = out?.LastEvaluatedKey;
    } while (start);
    return { rounds: rounds.sort((a, b) => a.round - b.round), granted };
  }

  /**
   * Claims a reward round before its workflow starts: the round item and one claim per component, each written only
   * if absent, with a timeline event and the audit entry, in one transaction. `false` when the round or any of its
   * components is claimed already (a retry, or a race with another outcome): nothing is written then, and the caller
   * starts nothing. The case must exist (404).
   */
  async claimRewardRound(
    caseId: string,
    round: number,
    lines: readonly RewardLine[],
    acting: Acting,
  ): Promise<boolean> {
    const at = acting.at ?? this.now().toISOString();
    const record: RewardRoundRecord = { round, lines: [...lines], startedAt: at };
    const totalFen = lines.reduce((t, l) => t + l.amountFen, 0);
    try {
      await this.transact(
        [
          {
            ConditionCheck: {
              TableName: this.tables.cases,
              Key: caseKeys.case(caseId),
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.tables.cases,
              Item: { ...caseKeys.rewardRound(caseId, round), kind: 'reward_round', record },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...lines.map((l) => ({
            Put: {
              TableName: this.tables.cases,
              Item: { ...caseKeys.rewardClaim(caseId, l.component), kind: 'reward_claim', round },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          })),
          this.eventPut(caseId, {
            id: ulid(Date.parse(at)),
            at,
            by: acting.by,
            type: 'reward_step',
            note: `第${round}轮举报奖励：${lines.map((l) => l.labelZh).join('、')}`,
            data: { event: 'reward_round_claimed', round, components: lines.map((l) => l.component), totalFen },
          }),
          auditPut(
            this.tables.audit,
            this.audit(acting.by, 'case.reward.round', caseId, at, {
              round,
              components: lines.map((l) => l.component),
              totalFen,
            }),
          ),
        ],
        (reasons) =>
          reasons[0]?.Code === 'ConditionalCheckFailed'
            ? new NotFoundError(`case ${caseId} does not exist`)
            : undefined,
      );
    } catch (err) {
      if (err instanceof NotFoundError) throw err;
      if (isConditionFailure(err)) return false;
      throw err;
    }
    return true;
  }

  /** Appends a timeline entry without changing the case (a workflow started, a comment), with its audit entry. */
  async addTimelineEntry(
    caseId: string,
    entry: Omit<CaseTimelineEntry, 'id' | 'at' | 'by'>,
    acting: Acting,
    action: string,
  ): Promise<CaseTimelineEntry> {
    const at = acting.at ?? this.now().toISOString();
    const full: CaseTimelineEntry = { id: ulid(Date.parse(at)), at, by: acting.by, ...entry };
    await this.transact(
      [
        {
          ConditionCheck: {
            TableName: this.tables.cases,
            Key: caseKeys.case(caseId),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        this.eventPut(caseId, full),
        auditPut(
          this.tables.audit,
          this.audit(acting.by, action, caseId, at, { type: entry.type, ...(entry.data ? { data: entry.data } : {}) }),
        ),
      ],
      (reasons) =>
        reasons[0]?.Code === 'ConditionalCheckFailed' ? new NotFoundError(`case ${caseId} does not exist`) : undefined,
    );
    return full;
  }

  /** The case's timeline, oldest first; the read is audited (the case must exist: 404). */
  async timeline(caseId: string, page: PageQuery, reader: { actor: string }): Promise<Page<CaseTimelineEntry>> {
    const pk = caseKeys.case(caseId).pk;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.cases,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
        ExpressionAttributeValues: { ':pk': pk, ':ev': 'ev#' },
        Limit: page.limit,
        ExclusiveStartKey: cursorFor(page.cursor, 'pk', pk),
      }),
    );
    const items = (out.Items ?? []).map((i) => i.entry as CaseTimelineEntry);
    await this.transact(
      [
        {
          ConditionCheck: {
            TableName: this.tables.cases,
            Key: caseKeys.case(caseId),
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        auditPut(
          this.tables.audit,
          this.audit(reader.actor, 'case.timeline.read', caseId, this.now().toISOString(), { entries: items.length }),
        ),
      ],
      (reasons) =>
        reasons[0]?.Code === 'ConditionalCheckFailed' ? new NotFoundError(`case ${caseId} does not exist`) : undefined,
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items, ...(cursor ? { cursor } : {}) };
  }

  /**
   * Read (consistent), check If-Match, apply, then ONE transaction: the case at the version read, its timeline
   * events, any extra items (source claims), and the audit entry. A lost race is a 412.
   */
  private async change(
    caseId: string,
    expectedVersion: number | undefined,
    acting: Acting,
    action: string,
    apply: (c: Case, at: string) => Change,
  ): Promise<CaseRecord> {
    const current = await this.read(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist`);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError(`case ${caseId} is at version ${current.version}, not ${expectedVersion}`);
    }
    const at = acting.at ?? this.now().toISOString();
    const change = apply(current.case, at);
    const version = current.version + 1;
    const next: Case = { ...change.next, updatedAt: at, version };
    const extra = change.extra ?? [];
    await this.transact(
      [
        {
          Put: {
            TableName: this.tables.cases,
            Item: this.caseItem(next),
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': current.version },
          },
        },
        ...extra,
        ...change.events.map((e) => this.eventPut(caseId, { id: ulid(Date.parse(at)), at, by: acting.by, ...e })),
        auditPut(this.tables.audit, this.audit(acting.by, action, caseId, at, { version, ...change.detail })),
      ],
      (reasons) => {
        const specific = change.conflict?.(reasons);
        if (specific) return specific;
        if (reasons[0]?.Code === 'ConditionalCheckFailed' || reasons[0]?.Code === 'TransactionConflict') {
          return new PreconditionFailedError(`case ${caseId} was changed by someone else; reload (案件已被他人修改)`);
        }
        return undefined;
      },
    );
    return { case: next, version };
  }

  private async read(caseId: string): Promise<CaseRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.cases, Key: caseKeys.case(caseId), ConsistentRead: true }),
    );
    if (out.Item?.kind !== 'case') return undefined;
    return { case: out.Item.case as Case, version: Number(out.Item.version) };
  }

  /** Sends a transaction; on cancellation `explain` may name the domain error the reasons stand for. */
  private async transact(
    items: TransactItem[],
    explain: (reasons: CancellationReason[]) => Error | undefined,
  ): Promise<void> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      const reasons = (err as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
      if (reasons) {
        const domain = explain(reasons);
        if (domain) throw domain;
      }
      throw err;
    }
  }

  private caseItem(c: Case) {
    return { ...caseKeys.case(c.caseId), ...caseIndexKeys(c), kind: 'case', case: c, version: c.version };
  }

  /**
   * The ledger items of a paying `payment` task: the round's paid marker and one granted item per component, each
   * written only if absent (a component is never granted twice, whichever round tries), plus the audit entry.
   */
  private grantItems(caseId: string, grant: RewardGrant, actor: string, at: string): TransactItem[] {
    const totalFen = grant.lines.reduce((t, l) => t + l.amountFen, 0);
    return [
      {
        Put: {
          TableName: this.tables.cases,
          Item: { pk: `case#${caseId}`, sk: `reward#paid#${pad(grant.round)}`, kind: 'reward_paid', at },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...grant.lines.map((l) => {
        const record: GrantedRecord = {
          component: l.component,
          amountFen: l.amountFen,
          round: grant.round,
          grantedAt: at,
        };
        return {
          Put: {
            TableName: this.tables.cases,
            Item: { ...caseKeys.rewardGranted(caseId, l.component), kind: 'reward_granted', record },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        };
      }),
      auditPut(
        this.tables.audit,
        this.audit(actor, 'case.reward.granted', caseId, at, {
          round: grant.round,
          components: grant.lines.map((l) => l.component),
          totalFen,
        }),
      ),
    ];
  }

  private versionCheck(caseId: string, version: number): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.tables.cases,
        Key: caseKeys.case(caseId),
        ConditionExpression: 'version = :v',
        ExpressionAttributeValues: { ':v': version },
      },
    };
  }

  private claimPut(source: CaseSource, caseId: string): TransactItem {
    return {
      Put: {
        TableName: this.tables.cases,
        Item: { ...caseKeys.source(source.kind, source.id), kind: 'source', caseId, addedAt: source.addedAt },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  /** A failed source claim at transaction positions [offset, offset + sources.length): 409 naming the other case. */
  private claimConflict(
    reasons: CancellationReason[],
    sources: readonly CaseSource[],
    offset: number,
  ): ConflictError | undefined {
    for (const [i, s] of sources.entries()) {
      const reason = reasons[offset + i];
      if (reason?.Code !== 'ConditionalCheckFailed') continue;
      const raw = reason.Item?.caseId;
      const other = raw && typeof raw === 'object' && 'S' in raw ? String(raw.S) : undefined;
      return new ConflictError(
        `${s.kind} ${s.id} is already a source of ${other ? `case ${other}` : 'another case'} (该来源已关联其他案件)`,
      );
    }
    return undefined;
  }

  // ───────────────────────────── helpers ─────────────────────────────

  private eventPut(caseId: string, entry: CaseTimelineEntry): TransactItem {
    return {
      Put: {
        TableName: this.tables.cases,
        Item: { ...caseKeys.event(caseId, entry.at, entry.id), kind: 'event', entry },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  private audit(
    actor: string,
    action: string,
    caseId: string,
    at: string,
    detail: Record<string, unknown>,
  ): AuditEntry {
    return { actor, action, entity: `case/${caseId}`, at, detail };
  }
}

type TimelineData = NonNullable<CaseTimelineEntry['data']>;

interface CancellationReason {
  Code?: string;
  /** the item as it was (marshalled), when the item asked for ALL_OLD */
  Item?: Record<string, unknown>;
}

/** A case filter: by status, or by unit (`open`: only the case(s) still accepting sources). */
export type CaseFilter = { status: CaseStatus } | { enterpriseId: string; open?: boolean };

/** What one change does: the next case, its timeline events, extra transaction items, the audit detail. */
interface Change {
  next: Case;
  events: Omit<CaseTimelineEntry, 'id' | 'at' | 'by'>[];
  extra?: TransactItem[];
  detail: Record<string, unknown>;
  conflict?: (reasons: CancellationReason[]) => Error | undefined;
}

/** A cursor of this listing, or a 400 (one of another listing would silently restart elsewhere). */
function cursorFor(cursor: string | undefined, attr: string, expected: string): Record<string, unknown> | undefined {
  const key = startKeyOf(cursor);
  if (key && key[attr] !== expected) {
    throw new ValidationError('cursor belongs to another listing', [
      { field: 'query.cursor', message: 'belongs to another listing', messageZh: '翻页游标与当前查询不匹配' },
    ]);
  }
  return key;
}

/** The decision in one line for the timeline (no identities: decisions name units, not reporters). */
export function decisionNote(d: DecisionBody): string {
  switch (d.type) {
    case 'administrative_penalty':
      return `行政处罚决定 ${d.decisionNumber}（${d.decidedOn}），罚款 ${(d.fineFen / 100).toFixed(2)} 元`;
    case 'minor_not_punished':
      return `轻微违法不予处罚（${d.listReference}）`;
    case 'no_violation':
      return '无违法行为';
    case 'suspected_crime':
      return `涉嫌犯罪，确认入罪标准：${d.confirmedItems.map((i) => CRIME_ITEMS[i.item].reference).join('、')}`;
  }
}

function decisionData(d: DecisionBody): TimelineData {
  switch (d.type) {
    case 'administrative_penalty':
      return { decision: d.type, decisionNumber: d.decisionNumber, decidedOn: d.decidedOn, fineFen: d.fineFen };
    case 'suspected_crime':
      return { decision: d.type, confirmedItems: d.confirmedItems.map((i) => i.item) };
    default:
      return { decision: d.type };
  }
}

const stepType = (workflow: WorkflowName): TimelineType => (workflow === 'reward' ? 'reward_step' : 'transfer_step');
