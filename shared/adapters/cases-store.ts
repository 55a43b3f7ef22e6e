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
import {
  acceptsSources,
  type Case,
  type CaseSource,
  type CaseTimelineEntry,
  type SourceKind,
} from '#shared/domain/cases/model.ts';
import type {
  Acting,
  CaseChange,
  CaseEventDraft,
  CaseFilter,
  CaseRecord,
  CaseStore,
  DeadlineView,
  GrantedRecord,
  OpenedTask,
  PageQuery,
  RewardGrant,
  RewardLedger,
  RewardRoundRecord,
  TaskOutcome,
  TaskState,
  TaskView,
  WorkflowTask,
} from '#shared/domain/cases/ports.ts';
import type { RewardComponent, RewardLine } from '#shared/domain/cases/reward.ts';
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
 *                   unit" a later source attaches to is one begins_with query.
 *              gsi2 `registration#pending` / `<openedAt>#<caseId>`           → cases whose unit is not registered yet
 *                   (needsRegistration), until the bureau links them to a registered unit
 *   event:     pk `case#<caseId>`, sk `ev#<at>#<ulid>`; a CaseTimelineEntry under `entry` (the timeline, oldest first)
 *   source:    pk `source#<kind>#<sourceId>`, sk `#`; `caseId`. Put with attribute_not_exists in the same transaction
 *              that adds the source to a case: a tip, alarm, clue or patrol finding belongs to ONE case (else 409).
 *   task:      pk `task#<taskId>`, sk `#`; the WorkflowTask under `task` (its token, if it has one, under `token`,
 *              never in a view; a follow-up task has none),
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

/** The gsi3 partition of the open tasks of one actor (a role or `case_team`). */
export const tasksPartition = (actor: string) => `tasks#${actor}`;
export const DEADLINES_PARTITION = 'deadlines';

/** The gsi2 partition of the cases whose unit is not registered yet. */
export const REGISTRATION_PARTITION = 'registration#pending';

/**
 * The index keys a case carries: gsi2 under its unit (`open#` while the case accepts sources: model.ts
 * acceptsSources), or, while its unit is not registered, under REGISTRATION_PARTITION.
 */
export function caseIndexKeys(c: Case): Record<string, string> {
  const order = `${c.openedAt}#${c.caseId}`;
  const unit: Record<string, string> = c.enterpriseId
    ? { gsi2pk: `unit#${c.enterpriseId}`, gsi2sk: `${acceptsSources(c.status) ? 'open' : 'closed'}#${order}` }
    : c.needsRegistration
      ? { gsi2pk: REGISTRATION_PARTITION, gsi2sk: order }
      : {};
  return { gsi1pk: `status#${c.status}`, gsi1sk: order, ...unit };
}

export const viewOf = (task: WorkflowTask): TaskView => {
  const { token: _token, ...view } = task;
  return view;
};

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

interface CancellationReason {
  Code?: string;
  /** the item as it was (marshalled), when the item asked for ALL_OLD */
  Item?: Record<string, unknown>;
}

/**
 * The DynamoDB CaseStore (shared/domain/cases/ports.ts): I/O only. What a change does is decided by the domain
 * (shared/domain/cases/changes.ts) before it reaches here; this adapter turns it into items and one transaction, and
 * the transaction's cancellation reasons into the port's errors.
 */
export class DynamoCaseStore implements CaseStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { cases: string; audit: string },
    private readonly now: () => Date = () => new Date(),
  ) {}

  // ───────────────────────────── tasks ─────────────────────────────

  /**
   * The task, its actor index items, its deadline (when the domain gives one), the timeline entry and the audit
   * entry in one transaction. Idempotent: a retried Lambda (same task id, or same token) changes nothing.
   */
  async recordTask(
    task: Omit<WorkflowTask, 'state'>,
    opened: { entry: CaseEventDraft; deadline?: DeadlineView },
  ): Promise<void> {
    const items: TransactItem[] = [this.caseExists(task.caseId), ...this.taskItems({ task, opened })];
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed')
        throw new NotFoundError(`case ${task.caseId} does not exist (案件 ${task.caseId} 不存在)`);
      // the task (1) or its token (2, when it has one) is already stored: a retry
      if (
        reasons[1]?.Code === 'ConditionalCheckFailed' ||
        (task.token && reasons[2]?.Code === 'ConditionalCheckFailed')
      )
        return;
      throw err;
    }
  }

  /**
   * The items of a task to record: the task (only if absent), its token (only if absent; a follow-up task has none),
   * one per actor, its deadline, the timeline entry and the audit entry. The task and the token come first.
   */
  private taskItems({ task, opened }: OpenedTask): TransactItem[] {
    const view = viewOf({ ...task, state: 'open' });
    const { deadline } = opened;
    return [
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
            ...(task.token ? { token: task.token } : {}),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...(task.token
        ? [
            {
              Put: {
                TableName: this.tables.cases,
                Item: { ...caseKeys.token(task.token), kind: 'task_token', taskId: task.taskId },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ]
        : []),
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
      this.eventPut(task.caseId, { id: ulid(), at: task.createdAt, by: 'system', ...opened.entry }),
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
    const token = typeof out.Item.token === 'string' ? { token: out.Item.token } : {};
    return { ...(out.Item.task as TaskView), state: out.Item.state as TaskState, ...token };
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
   * Marks the open task done with its outcome, removes it from the open-task and deadline indexes, appends the
   * domain's timeline entry and the audit entry: one transaction, on the condition that the task is still open (409
   * otherwise). With `grant`, the round's paid marker and each granted component only if absent (409 naming a
   * component some round paid before). With `next`, the task that follows (its items after everything else).
   */
  async completeTask(
    task: WorkflowTask,
    outcome: TaskOutcome,
    done: { entry: CaseEventDraft; actor: string; at: string },
    grant?: RewardGrant,
    next?: OpenedTask,
  ): Promise<WorkflowTask> {
    const { taskId } = task;
    const { at } = done;
    const completed: WorkflowTask = { ...task, state: 'done', outcome, completedAt: at };
    const indexes = this.indexDeletes(task, 'delete');
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.taskStateUpdate(taskId, 'done', at, outcome),
            ...indexes,
            this.eventPut(task.caseId, { id: ulid(), at, by: outcome.by, ...done.entry }),
            auditPut(
              this.tables.audit,
              this.audit(done.actor, 'case.task.complete', task.caseId, at, {
                taskId,
                workflow: task.workflow,
                step: task.step,
                action: outcome.action,
                ...(outcome.comment ? { comment: outcome.comment } : {}),
              }),
            ),
            ...(grant ? this.grantItems(task.caseId, grant, done.actor, at) : []),
            ...(next ? this.taskItems(next) : []),
          ],
        }),
      );
    } catch (err) {
      const reasons = (err as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
      // positions after the task's own items are the ledger's: a component some earlier round already paid
      const ledgerFrom = 3 + indexes.length;
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
    return completed;
  }

  /**
   * The step timed out (the workflow's escalation path, or a follow-up's period ran out): the task leaves the open
   * lists; its deadline stays listed as lapsed; the domain's timeline entry and the audit entry; with `next`, the task
   * that takes its place. A task completed or lapsed meanwhile is left alone (false, nothing written).
   */
  async lapseTask(
    task: WorkflowTask,
    lapsed: { entry: CaseEventDraft; at: string },
    next?: OpenedTask,
  ): Promise<boolean> {
    const { taskId } = task;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            this.taskStateUpdate(taskId, 'lapsed', lapsed.at),
            ...this.indexDeletes(task, 'lapse'),
            this.eventPut(task.caseId, { id: ulid(), at: lapsed.at, by: 'system', ...lapsed.entry }),
            auditPut(
              this.tables.audit,
              this.audit('system', 'case.task.lapse', task.caseId, lapsed.at, {
                taskId,
                workflow: task.workflow,
                step: task.step,
              }),
            ),
            ...(next ? this.taskItems(next) : []),
          ],
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false; // completed or lapsed meanwhile
      throw err;
    }
  }

  /** Deadlines due in [from, to] (canonical ISO instants, inclusive), earliest first: one gsi3 range query. */
  async deadlinesDue(from: string, to: string, page: PageQuery): Promise<Page<DeadlineView>> {
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
   * Open deadlines due in [now, until] whose warning time has come (warnAt ≤ now) and that were not warned yet: one
   * gsi3 range query, the rest filtered by the query. At most `limit`, earliest due first.
   */
  async deadlineWarningsDue(now: Date, until: Date, limit: number): Promise<DeadlineView[]> {
    const from = now.toISOString();
    const to = until.toISOString();
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
   * A new case (version 1), each of its sources claimed in the same transaction (one already in another case is a
   * 409 naming that case), its opening events and the audit entry.
   */
  async create(input: { case: Case; events: CaseEventDraft[]; detail: Record<string, unknown> }): Promise<CaseRecord> {
    const c = input.case;
    const at = c.openedAt;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tables.cases,
          Item: this.caseItem(c),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...c.sources.map((s) => this.claimPut(s, c.caseId)),
      ...input.events.map((e) => this.eventPut(c.caseId, { id: ulid(), at, by: c.openedBy, ...e })),
      auditPut(this.tables.audit, this.audit(c.openedBy, 'case.open', c.caseId, at, input.detail)),
    ];
    await this.transact(items, (reasons) => {
      if (reasons[0]?.Code === 'ConditionalCheckFailed')
        return new ConflictError(`case ${c.caseId} already exists (案件 ${c.caseId} 已存在)`);
      return this.claimConflict(reasons, c.sources, 1);
    });
    return { case: c, version: c.version };
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
   * Cases by status (gsi1, oldest first), of one unit (gsi2, oldest first; `open` only those still accepting
   * sources), or whose unit is not registered yet (gsi2). The listing is audited (the filter and the case ids shown).
   */
  async list(
    filter: CaseFilter,
    page: PageQuery,
    reader: { actor: string; visible?: (c: Case) => boolean },
  ): Promise<Page<Case>> {
    const query =
      'status' in filter
        ? { index: 'gsi1', pk: `status#${filter.status}`, prefix: undefined }
        : 'needsRegistration' in filter
          ? { index: 'gsi2', pk: REGISTRATION_PARTITION, prefix: undefined }
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
    const items = (out.Items ?? [])
      .filter((i) => i.kind === 'case')
      .map((i) => i.case as Case)
      .filter((c) => reader.visible?.(c) ?? true);
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
   * if absent, with the domain's timeline entry and the audit entry, in one transaction. `false` when the round or
   * any of its components is claimed already (a retry, or a race with another outcome): nothing is written then.
   * The case must exist (404).
   */
  async claimRewardRound(
    caseId: string,
    round: { round: number; lines: readonly RewardLine[] },
    entry: CaseEventDraft,
    acting: Acting,
  ): Promise<boolean> {
    const at = acting.at ?? this.now().toISOString();
    const { lines } = round;
    const record: RewardRoundRecord = { round: round.round, lines: [...lines], startedAt: at };
    try {
      await this.transact(
        [
          this.caseExists(caseId),
          {
            Put: {
              TableName: this.tables.cases,
              Item: { ...caseKeys.rewardRound(caseId, round.round), kind: 'reward_round', record },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...lines.map((l) => ({
            Put: {
              TableName: this.tables.cases,
              Item: { ...caseKeys.rewardClaim(caseId, l.component), kind: 'reward_claim', round: round.round },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          })),
          this.eventPut(caseId, { id: ulid(Date.parse(at)), at, by: acting.by, ...entry }),
          auditPut(
            this.tables.audit,
            this.audit(acting.by, 'case.reward.round', caseId, at, {
              round: round.round,
              components: lines.map((l) => l.component),
              totalFen: lines.reduce((t, l) => t + l.amountFen, 0),
            }),
          ),
        ],
        (reasons) =>
          reasons[0]?.Code === 'ConditionalCheckFailed'
            ? new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`)
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
        reasons[0]?.Code === 'ConditionalCheckFailed'
          ? new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`)
          : undefined,
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
        reasons[0]?.Code === 'ConditionalCheckFailed'
          ? new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`)
          : undefined,
    );
    const cursor = encodeCursor(out.LastEvaluatedKey);
    return { items, ...(cursor ? { cursor } : {}) };
  }

  /**
   * Read (consistent), check If-Match, let the domain decide, then ONE transaction: the case at the version read, its
   * timeline events, its source claims, and the audit entry. A lost race is a 412; a claimed source a 409 naming the
   * case that holds it.
   */
  async change(
    caseId: string,
    expectedVersion: number | undefined,
    acting: Acting,
    action: string,
    decide: (c: Case, at: string) => CaseChange,
  ): Promise<CaseRecord> {
    const current = await this.read(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      throw new PreconditionFailedError(
        `case ${caseId} is at version ${current.version}, not ${expectedVersion} (案件当前为第 ${current.version} 版，不是第 ${expectedVersion} 版，请重新读取)`,
      );
    }
    const at = acting.at ?? this.now().toISOString();
    const change = decide(current.case, at);
    const version = current.version + 1;
    const next: Case = { ...change.next, updatedAt: at, version };
    const claims = change.claims ?? [];
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
        ...claims.map((s) => this.claimPut(s, caseId)),
        ...change.events.map((e) => this.eventPut(caseId, { id: ulid(Date.parse(at)), at, by: acting.by, ...e })),
        auditPut(this.tables.audit, this.audit(acting.by, action, caseId, at, { version, ...change.detail })),
      ],
      (reasons) => {
        const claimed = this.claimConflict(reasons, claims, 1);
        if (claimed) return claimed;
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

  private caseExists(caseId: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.tables.cases,
        Key: caseKeys.case(caseId),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
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
