import type { CrimeFactsInput, DecisionRequest } from '#shared/contracts/cases.ts';
import { decodeCursor, encodeCursor } from '#shared/domain/cursor.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import type { Enterprise } from '#shared/domain/registry/model.ts';
import type { Page } from '#shared/domain/registry/store.ts';
import { type Role, rolesZh } from '#shared/domain/roles.ts';
import { mergedGroup } from '#shared/domain/tips/triage.ts';
import {
  addEvidenceChange,
  assignHandlersChange,
  attachSourceChange,
  cleanOutcome,
  decisionChange,
  linkUnitChange,
  type NewCase,
  openedCase,
  rewardRoundEntry,
  stepDef,
  taskDoneEntry,
} from './changes.ts';
import {
  type ExceedanceFact,
  exceedanceFromAlarm,
  type ProposedCrimeItem,
  proposeCrimeItems,
} from './crime-thresholds.ts';
import { deadlineState } from './deadlines.ts';
import { followUpAction } from './follow-up.ts';
import {
  type AddEvidenceInput,
  acceptsSources,
  type Case,
  type CaseEvidence,
  type CaseTimelineEntry,
  type CaseUnit,
  decisionCarriesReward,
  MIN_HANDLERS,
  type OpenCaseInput,
  type SourceKind,
} from './model.ts';
import type {
  CaseFilter,
  CaseRecord,
  CaseSourceReader,
  CaseStore,
  CaseTips,
  DeadlineView,
  OpenedTask,
  RewardGrant,
  TaskView,
  WorkflowName,
  WorkflowStart,
  Workflows,
  WorkflowTask,
} from './ports.ts';
import type { RewardComponent } from './reward.ts';
import { REWARD_FLOW as REWARD } from './reward-flow.ts';
import {
  canonicalInstant,
  caseReadable,
  caseView,
  checkCitedEvidence,
  crimeFacts,
  fieldError,
  identityOpened,
  laterRound,
  parseFindingRef,
  reporterStanding,
  rewardRound,
  roundOfExecution,
  STANDING_REFUSAL,
  sameDecision,
  TIP_STATES_FOR_CASE,
  taskViewFor,
  tipSources,
  tipUnit,
} from './rules.ts';
import { OUTCOME_REWARD, TRANSFER_FLOW as TRANSFER, type TransferAction } from './transfer.ts';
import { type PackageFile, transferPackageFiles } from './transfer-package.ts';
import { type ActingOfficial, act, mayAct, SYSTEM_ACTOR, TASK_ROLES, type WorkflowDefinition } from './workflow.ts';

/**
 * The officials' case use-cases (functions/cases-api): open a case, attach sources, name the team, add evidence,
 * decide (starting the workflows), read and list, the tasks waiting for an official and acting on one, the deadlines.
 * Each gathers what its decision needs through the ports (ports.ts), decides in one pure step (changes.ts, rules.ts,
 * workflow.ts) and hands the result to the store. Sources are read from their own tables (tips, alarms, patrols) and
 * the registry; the case never copies a reporter's identity (a tip is referenced by id, its reporter stays in the
 * vault). Workflows run on Step Functions:
 *   - starting: an execution named `reward-<caseId>-<round>` / `transfer-<caseId>-<round>`, so a retried request
 *     cannot start two (an existing one is `started: false`). Round 1 here; later rounds (detention, arrest,
 *     conviction) start when a transfer task records that outcome.
 *   - acting: the pure workflow.ts `act` validates (wrong role 403, done/stale 409, missing comment 400), then the
 *     workflow gets `{ action, comment, by }` (the state machine's Choice reads `$.decision.action`), then the store
 *     marks the task done. If Step Functions refuses the token the answer is 409 and nothing changes.
 */

/** Principals as the use-cases see them (shared/http/principal.ts). */
export interface Caller {
  sub: string;
  roles: readonly Role[];
}

export interface CasesDeps {
  store: CaseStore;
  sources: CaseSourceReader;
  workflows: Workflows;
  /** the tips a case moves to 已立案; without it tips keep their status */
  tips?: CaseTips;
  now?: () => Date;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** Pages of 100 a transfer package reads at most of a case's timeline and of its tasks. */
const PACKAGE_PAGES = 20;

export class CasesService {
  private readonly now: () => Date;
  constructor(private readonly deps: CasesDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** A case the caller may read, audited; 404 when unknown, 403 outside the caller's scope. */
  async readCase(caseId: string, who: Caller): Promise<CaseRecord> {
    const peek = await this.deps.store.get(caseId);
    if (!peek) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    if (!caseReadable(peek.case, who.roles))
      throw new ForbiddenError(`case ${caseId} is outside your remit (无权查看该案件)`);
    const record = await this.deps.store.get(caseId, { actor: who.sub });
    if (!record) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    return record;
  }

  /** Cases by status or by unit; the listing is audited. */
  async listCases(
    filter: CaseFilter,
    page: { limit: number; cursor?: string },
    who: Caller,
    visible?: (c: Case) => boolean,
  ) {
    const out = await this.deps.store.list(filter, page, { actor: who.sub, ...(visible ? { visible } : {}) });
    return {
      items: out.items.map((c) => caseView({ case: c, version: c.version })),
      ...(out.cursor ? { cursor: out.cursor } : {}),
    };
  }

  /** The case's timeline, for a reader of the case (audited). */
  async timeline(caseId: string, who: Caller, page: { limit: number; cursor?: string }) {
    const peek = await this.deps.store.get(caseId);
    if (!peek) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    if (!caseReadable(peek.case, who.roles))
      throw new ForbiddenError(`case ${caseId} is outside your remit (无权查看该案件)`);
    return this.deps.store.timeline(caseId, page, { actor: who.sub });
  }

  /** Names the case team: at least MIN_HANDLERS distinct handlers (400); an open case starts its investigation. */
  async assignHandlers(caseId: string, handlers: readonly string[], who: Caller, expectedVersion?: number) {
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
    return this.deps.store.change(
      caseId,
      expectedVersion,
      { by: who.sub },
      'case.handlers.assign',
      assignHandlersChange(team),
    );
  }

  /**
   * Opens a case on a unit of the registry (its name and township come from the registry: 400 when the credit code
   * is not registered) or, when marked so, on a site not registered yet (a known township; the case is flagged for
   * registration). Every source must exist and hold up, and name no other unit than the case's; a unit with a case
   * still under way refuses a second one (409: attach there). Each source is claimed with the case (409 naming the
   * case holding one already); tips then move to 已立案.
   */
  async openCase(input: OpenCaseInput, who: Caller): Promise<CaseRecord> {
    const unit = await this.partyOf(input.unit);
    const enterpriseId = 'enterpriseId' in unit ? unit.enterpriseId : undefined;
    for (const [i, s] of input.sources.entries()) {
      const named = await this.sourceUnit(s.kind, s.id, `body.sources.${i}`);
      if (named !== undefined && named !== enterpriseId) {
        throw fieldError(
          `body.sources.${i}.id`,
          `the ${s.kind} concerns unit ${named}, not the case's unit`,
          '来源所涉单位与案件当事人不一致',
        );
      }
    }
    if (enterpriseId) {
      const open = await this.deps.store.openCaseOfUnit(enterpriseId);
      if (open) {
        throw new ConflictError(
          `unit ${enterpriseId} already has case ${open.caseId} under way; attach the sources to it (该单位已有在办案件，请关联至该案件)`,
        );
      }
    }
    const at = this.now().toISOString();
    const record = await this.deps.store.create(
      openedCase({ ...input, unit, caseId: ulid(Date.parse(at)) }, { by: who.sub, at }),
    );
    for (const s of input.sources) if (s.kind === 'tip') await this.markTip(s.id, record.case.caseId, who);
    return record;
  }

  /**
   * Links a case flagged for registration to the unit now in the registry (400 when the credit code is not
   * registered; 409 when the case refers to a registered unit already, or when the unit has another case still
   * under way and this one still takes sources). A handler must be on the case team.
   */
  async linkUnit(caseId: string, enterpriseId: string, who: Caller, expectedVersion?: number): Promise<CaseRecord> {
    const current = await this.deps.store.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    if (!who.roles.includes('bureau_head')) this.assertOnTeam(current.case, who);
    const enterprise = await this.registered(enterpriseId, 'body.enterpriseId');
    if (acceptsSources(current.case.status)) {
      const open = await this.deps.store.openCaseOfUnit(enterpriseId);
      if (open && open.caseId !== caseId) {
        throw new ConflictError(
          `unit ${enterpriseId} already has case ${open.caseId} under way (该单位已有在办案件 ${open.caseId}，请先办结其一)`,
        );
      }
    }
    return this.deps.store.change(
      caseId,
      expectedVersion,
      { by: who.sub },
      'case.unit.link',
      linkUnitChange(enterprise),
    );
  }

  /** The party of a new case: the registered unit as the registry has it, or the unregistered site as described. */
  private async partyOf(unit: CaseUnit): Promise<NewCase['unit']> {
    if (unit.kind === 'registered') {
      const e = await this.registered(unit.enterpriseId, 'body.unit.enterpriseId');
      return { enterpriseId: e.id, name: e.name, townshipId: e.townshipId };
    }
    if (!(await this.deps.sources.township(unit.townshipId))) {
      throw fieldError(
        'body.unit.townshipId',
        `township ${unit.townshipId} is not in the registry`,
        '乡镇（街道）不在名录中',
      );
    }
    return { name: unit.name, townshipId: unit.townshipId, ...(unit.address ? { address: unit.address } : {}) };
  }

  /** A unit of the registry, or a 400 on `field`: a case names registered units by their credit code. */
  private async registered(enterpriseId: string, field: string): Promise<Enterprise> {
    const e = await this.deps.sources.enterprise(enterpriseId);
    if (!e) {
      throw fieldError(
        field,
        `unit ${enterpriseId} is not in the registry; register it first, or open the case on an unregistered site`,
        '该统一社会信用代码不在污染源名录中：请先登记，或按未登记场所立案',
      );
    }
    return e;
  }

  /**
   * The tip's own status follows its case (已立案). Best effort after the case is committed: a tip changed meanwhile
   * keeps its status and the failure is logged; the case does not depend on it.
   */
  private async markTip(tipId: string, caseId: string, who: Caller): Promise<void> {
    try {
      await this.markCaseOpened(tipId, caseId, who.sub);
    } catch (err) {
      this.deps.log?.('tip not marked case_opened', { tipId, caseId, error: (err as Error).message });
    }
  }

  /** A substantiated tip moves to 已立案 with its audit entry; a tip changed meanwhile is read and tried once more. */
  private async markCaseOpened(tipId: string, caseId: string, by: string): Promise<void> {
    const tips = this.deps.tips;
    if (!tips) return;
    for (let attempt = 0; attempt < 2; attempt++) {
      const found = await tips.get(tipId);
      if (found?.tip.status !== 'substantiated') return;
      const at = this.now().toISOString();
      try {
        await tips.update({ ...found.tip, status: 'case_opened', updatedAt: at }, found.version, {
          actor: by,
          action: 'tip.status',
          entity: `tip/${tipId}`,
          at,
          detail: { from: 'substantiated', to: 'case_opened', caseId },
        });
        return;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || attempt > 0) throw err;
      }
    }
  }

  async attachSource(
    caseId: string,
    source: { kind: SourceKind; id: string },
    who: Caller,
    expectedVersion?: number,
  ): Promise<CaseRecord> {
    const current = await this.deps.store.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    this.assertOnTeam(current.case, who);
    const unit = await this.sourceUnit(source.kind, source.id, 'body');
    const record = await this.deps.store.change(
      caseId,
      expectedVersion,
      { by: who.sub },
      'case.source.attach',
      attachSourceChange(source, unit, who.sub),
    );
    if (source.kind === 'tip') await this.markTip(source.id, caseId, who);
    return record;
  }

  async addEvidence(
    caseId: string,
    input: AddEvidenceInput,
    who: Caller,
    expectedVersion?: number,
  ): Promise<CaseRecord & { evidence: CaseEvidence }> {
    const current = await this.deps.store.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    this.assertOnTeam(current.case, who);
    const record = await this.deps.store.change(
      caseId,
      expectedVersion,
      { by: who.sub },
      'case.evidence.add',
      addEvidenceChange(input, who.sub),
    );
    // the change adds the item last
    return { ...record, evidence: record.case.evidence.at(-1) as CaseEvidence };
  }

  /**
   * Records the decision, then starts its workflow. A suspected crime: the platform's proposal replaces the
   * submitted one; every confirmed item must be proposed and confirmed by the caller. A repeated identical
   * decision records nothing and only makes sure the workflow runs (a retry after a failed start).
   */
  async decide(
    caseId: string,
    request: DecisionRequest,
    who: Caller,
    expectedVersion?: number,
  ): Promise<{ record: CaseRecord; workflows: WorkflowStart[] }> {
    const current = await this.deps.store.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist (案件 ${caseId} 不存在)`);
    let record: CaseRecord;
    if (current.case.status !== 'investigating' && sameDecision(current.case.decision, request.decision)) {
      record = current;
    } else {
      let decision = request.decision;
      let proposal: ProposedCrimeItem[] | undefined;
      if (decision.type === 'suspected_crime') {
        proposal = await this.propose(current.case, request.crimeFacts);
        const proposed = new Set(proposal.map((p) => p.item));
        const issues = decision.confirmedItems.flatMap((c, i) => [
          ...(proposed.has(c.item)
            ? []
            : [
                {
                  field: `body.decision.confirmedItems.${i}.item`,
                  message: `the recorded facts do not meet ${c.item}`,
                  messageZh: '已记录的事实不满足该项入罪标准',
                },
              ]),
          ...(c.confirmedBy === who.sub
            ? []
            : [
                {
                  field: `body.decision.confirmedItems.${i}.confirmedBy`,
                  message: 'must be the caller',
                  messageZh: '确认人须为本人',
                },
              ]),
        ]);
        if (issues.length > 0) throw new ValidationError('the confirmation does not match the proposal', issues);
        decision = { ...decision, proposedItems: proposal.map((p) => ({ item: p.item, reference: p.reference })) };
      }
      record = await this.deps.store.change(
        caseId,
        expectedVersion,
        { by: who.sub },
        'case.decide',
        decisionChange(decision, who.sub, proposal ? { proposedCrimeItems: proposal.map((p) => p.item) } : undefined),
      );
    }
    return { record, workflows: await this.startWorkflows(record.case, who) };
  }

  /** The open tasks of the caller's roles (one role with `role`), across partitions with one compound cursor. */
  async myTasks(who: Caller, query: { role?: Role; limit: number; cursor?: string }) {
    const mine = who.roles.filter((r) => TASK_ROLES.includes(r));
    if (query.role && !mine.includes(query.role)) {
      throw new ForbiddenError(`you do not hold the role ${query.role} (您不具有“${rolesZh([query.role])}”角色)`);
    }
    const roles = query.role ? [query.role] : mine;
    const partitions: string[] = [...roles, ...(roles.includes('handler') ? ['case_team'] : [])];
    const state = decodeCursor(query.cursor) as { p?: number; c?: string } | undefined;
    if (query.cursor && (!state || typeof state.p !== 'number' || state.p >= partitions.length)) {
      throw fieldError('query.cursor', 'cursor is not valid', '翻页游标无效');
    }
    let p = state?.p ?? 0;
    let inner = state?.c;
    const found: TaskView[] = [];
    while (p < partitions.length && found.length < query.limit) {
      const partition = partitions[p] as string;
      const page = await this.deps.store.openTasksFor(partition, {
        limit: query.limit - found.length,
        ...(inner ? { cursor: inner } : {}),
      });
      const seen = new Set(found.map((t) => t.taskId));
      found.push(...page.items.filter((t) => !seen.has(t.taskId)));
      if (page.cursor) {
        inner = page.cursor;
        break;
      }
      p++;
      inner = undefined;
    }
    // only case-team tasks need the team; role tasks are listed from the index alone
    const teams = await this.deps.store.teamsOf(
      found.filter((t) => t.actors.includes('case_team')).map((t) => t.caseId),
    );
    const officer: ActingOfficial = { sub: who.sub, roles: who.roles };
    // case_team tasks only on cases that name the caller; a task the caller cannot act on is not "waiting for me"
    const items = found
      .map((t) => taskViewFor(t, officer, teams.get(t.caseId) ?? []))
      .filter((t) => (t.actions?.length ?? 0) > 0);
    const more = p < partitions.length;
    const cursor = more ? encodeCursor({ p, ...(inner ? { c: inner } : {}) }) : undefined;
    return { items, ...(cursor ? { cursor } : {}) };
  }

  /**
   * Acts on a task: validated by the pure workflow (403 wrong role, 409 done/stale, 400 missing comment or unknown
   * action), then SendTaskSuccess, then the task is marked done. A refused token is a 409 and changes nothing. A
   * follow-up task (no token: the criminal proceedings, follow-up.ts) has no execution to tell: the follow-up applies
   * the action (the next period's task, written with the completion; or the end of the transfer) instead.
   */
  async actOnTask(taskId: string, body: { action: string; comment?: string | undefined }, who: Caller) {
    const task = await this.deps.store.getTask(taskId);
    if (!task) throw new NotFoundError(`task ${taskId} does not exist (任务 ${taskId} 不存在)`);
    if (task.state !== 'open') throw new ConflictError(`task ${taskId} is ${task.state} (任务已处理或已过期)`);
    const step = stepDef(task.workflow, task.step);
    if (!step)
      throw new ConflictError(`task ${taskId} is at an unknown step ${task.step} (任务所在环节 ${task.step} 不存在)`);
    const current = await this.deps.store.get(task.caseId);
    const team = current?.case.handlers ?? [];
    if (who.sub === SYSTEM_ACTOR.sub)
      throw new ForbiddenError('the system principal does not act on tasks (系统账号不能办理任务)');
    const officer: ActingOfficial = { sub: who.sub, roles: who.roles };
    if (!mayAct(step, officer, team)) {
      throw new ForbiddenError(
        `step ${task.step} is for ${step.actors.join(' or ')} (当前环节“${step.labelZh}”须由${rolesZh(step.actors, '或')}办理)`,
      );
    }
    const at = this.now().toISOString();
    // the task is the state: its step is current while it is open (a done or lapsed one was refused above)
    const def = (task.workflow === 'reward' ? REWARD : TRANSFER) as WorkflowDefinition<string, string>;
    act(
      def,
      { step: task.step, enteredAt: task.createdAt, firstEntered: {}, history: [] },
      {
        step: task.step,
        action: body.action,
        who: officer,
        caseTeam: team,
        at,
        ...(body.comment !== undefined ? { comment: body.comment } : {}),
      },
    );
    if (task.workflow === 'reward' && task.step === 'eligibility' && body.action === 'confirm_eligible') {
      await this.requireVerifiedReporter(current?.case);
    }
    const output = cleanOutcome({
      action: body.action,
      by: who.sub,
      ...(body.comment !== undefined ? { comment: body.comment } : {}),
    });
    const comment = output.comment;
    // the ledger lines are known before the token is handed over: a round whose lines are unknown pays nothing
    const grant =
      task.workflow === 'reward' && task.step === 'payment' && body.action === 'paid'
        ? await this.roundGrant(task, current?.case)
        : undefined;
    let next: OpenedTask | undefined;
    if (task.token !== undefined) await this.deps.workflows.sendSuccess(task.token, output);
    else ({ next } = await followUpAction(this.deps.store, task, output, new Date(at)));
    const done: WorkflowTask = await this.deps.store.completeTask(
      task,
      output,
      { entry: taskDoneEntry(task, output), actor: who.sub, at },
      grant,
      next,
    );
    const component = task.workflow === 'transfer' ? OUTCOME_REWARD[body.action as TransferAction] : undefined;
    if (component && current) {
      await this.startLaterRound(current.case, component, comment ?? `task ${taskId}`, who);
    }
    const { token: _token, ...view } = done;
    return taskViewFor(view, officer, team);
  }

  /** Deadlines due in [from, to] (default the coming 7 days), each with where it stands now. */
  async deadlines(query: { from?: string; to?: string; limit: number; cursor?: string }) {
    const now = this.now();
    const from = query.from ? canonicalInstant(query.from, 'from') : now.toISOString();
    const to = query.to ? canonicalInstant(query.to, 'to') : new Date(now.getTime() + 7 * 86_400_000).toISOString();
    if (from > to) {
      throw new ValidationError('from is after to', [
        { field: 'query.from', message: 'must not be after `to`', messageZh: '开始时间不能晚于结束时间' },
      ]);
    }
    const page: Page<DeadlineView> = await this.deps.store.deadlinesDue(from, to, {
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return {
      items: page.items.map((d) => ({
        ...d,
        status:
          d.state === 'lapsed'
            ? ('overdue' as const)
            : deadlineState({ dueAt: d.dueAt, warnAt: d.warnAt ?? d.dueAt }, now),
      })),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    };
  }

  /**
   * 移送材料: the documents of a suspected-crime case for the police (and the procuratorate's copy), built from the case,
   * its whole timeline and its tasks (transfer-package.ts). For a reader of the case (the liaisons see only
   * suspected-crime cases); the case read is audited as every read. 409 on a case without that decision.
   */
  async transferPackage(caseId: string, who: Caller): Promise<{ case: Case; files: PackageFile[]; at: Date }> {
    const record = await this.readCase(caseId, who);
    if (record.case.decision?.type !== 'suspected_crime') {
      throw new ConflictError(
        `case ${caseId} has no suspected-crime decision; there is nothing to transfer (该案件未作出涉嫌犯罪移送决定，没有移送材料)`,
      );
    }
    const timeline: CaseTimelineEntry[] = [];
    const tasks: TaskView[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < PACKAGE_PAGES; i++) {
      const page = await this.deps.store.timeline(
        caseId,
        { limit: 100, ...(cursor ? { cursor } : {}) },
        { actor: who.sub },
      );
      timeline.push(...page.items);
      cursor = page.cursor;
      if (!cursor) break;
    }
    cursor = undefined;
    for (let i = 0; i < PACKAGE_PAGES; i++) {
      const page = await this.deps.store.tasksOf(caseId, { limit: 100, ...(cursor ? { cursor } : {}) });
      tasks.push(...page.items);
      cursor = page.cursor;
      if (!cursor) break;
    }
    const at = this.now();
    return {
      case: record.case,
      files: transferPackageFiles(record.case, timeline, tasks, { at: at.toISOString(), by: who.sub }),
      at,
    };
  }

  /** A case's workflow tasks (history), for a reader of the case. */
  async caseTasks(caseId: string, who: Caller, page: { limit: number; cursor?: string }) {
    const record = await this.readCase(caseId, who);
    const officer: ActingOfficial = { sub: who.sub, roles: who.roles };
    const out = await this.deps.store.tasksOf(caseId, page);
    return {
      items: out.items.map((t) => taskViewFor(t, officer, record.case.handlers)),
      ...(out.cursor ? { cursor: out.cursor } : {}),
    };
  }

  // ───────────── internals ─────────────

  /**
   * Eligibility needs a verified reporter (reward.ts `identity_not_verified`): the reward post must have opened, through
   * the vault and logged, the identity of a reporter of the case's tips or of the duplicates merged into them.
   * Otherwise a 409 says what is missing and nothing is sent to the workflow.
   */
  private async requireVerifiedReporter(c: Case | undefined): Promise<void> {
    // a case's tip is its merged group's primary: the group's other reporters (duplicates merged into it) count too
    const roots = (await Promise.all(tipSources(c).map((id) => this.deps.sources.tip(id)))).filter(
      (t) => t !== undefined,
    );
    const groups = await Promise.all(roots.map((t) => mergedGroup(t, (id) => this.deps.sources.tip(id), 50)));
    const members = [...new Map(groups.flat().map((t) => [t.id, t])).values()];
    const tips = await Promise.all(
      members.map(async (tip) => ({ tip, opened: identityOpened(await this.deps.sources.tipTimeline(tip.id)) })),
    );
    const { standing, toOpen } = reporterStanding(tips);
    if (standing === 'verified') return;
    throw new ConflictError(
      standing === 'not_opened' ? STANDING_REFUSAL.not_opened(toOpen) : STANDING_REFUSAL.unclaimed(),
    );
  }

  /**
   * The lines a paying `payment` task records as granted: its round's lines from the ledger; round 1 of a penalty,
   * started by the decision before rounds were claimed, from the case's penalty decision. Unknown: 409, nothing sent.
   */
  private async roundGrant(task: WorkflowTask, c: Case | undefined): Promise<RewardGrant> {
    const round = roundOfExecution(task.executionArn, task.caseId);
    if (round === undefined) {
      throw new ConflictError(`task ${task.taskId} belongs to no reward round (无法确定奖励轮次)`);
    }
    const ledger = await this.deps.store.rewardLedger(task.caseId);
    const claimed = ledger.rounds.find((r) => r.round === round);
    const d = c?.decision;
    const lines =
      claimed?.lines ??
      (round === 1 && d?.type === 'administrative_penalty' && decisionCarriesReward(d)
        ? rewardRound(d).lines
        : undefined);
    if (!lines || lines.length === 0) {
      throw new ConflictError(
        `reward round ${round} of case ${task.caseId} has no recorded lines (奖励轮次无发放明细)`,
      );
    }
    return { round, lines: lines.map((l) => ({ component: l.component, amountFen: l.amountFen })) };
  }

  /**
   * A transfer outcome that carries a reward component (OUTCOME_REWARD) on a case from a tip starts the next reward
   * round with only what no round pays yet: claimed on the ledger first (a retry or a race claims nothing and starts
   * nothing), then started as `reward-<caseId>-<n>` (ExecutionAlreadyExists is success).
   */
  private async startLaterRound(
    c: Case,
    component: RewardComponent,
    reference: string,
    who: Caller,
  ): Promise<WorkflowStart | undefined> {
    const tipIds = tipSources(c);
    if (tipIds.length === 0) return undefined;
    const ledger = await this.deps.store.rewardLedger(c.caseId);
    const next = laterRound(c, ledger, component, reference);
    if (next.totalFen <= 0) return undefined;
    const round = { round: next.round, lines: next.lines };
    if (!(await this.deps.store.claimRewardRound(c.caseId, round, rewardRoundEntry(round), { by: who.sub }))) {
      return undefined;
    }
    const founding = await this.deps.sources.tip(tipIds[0] as string);
    const name = `reward-${c.caseId}-${next.round}`;
    const started = await this.deps.workflows.start('reward', name, {
      caseId: c.caseId,
      round: next.round,
      tipIds,
      trigger: component,
      reference,
      reward: { lines: next.lines, totalFen: next.totalFen, approvals: next.approvals },
      commendationConsent: founding?.commendationConsent === true,
    });
    if (started.started) {
      await this.deps.store.addTimelineEntry(
        c.caseId,
        {
          type: 'reward_step',
          note: `启动第${next.round}轮举报奖励审批流程`,
          data: {
            event: 'workflow_started',
            executionName: name,
            ...(started.executionArn ? { executionArn: started.executionArn } : {}),
          },
        },
        { by: who.sub },
        'case.workflow.start',
      );
    }
    return started;
  }

  /** A handler works only on cases that name them (section chiefs on any). */
  private assertOnTeam(c: Case, who: Caller): void {
    if (who.roles.includes('section_chief')) return;
    if (!c.handlers.includes(who.sub)) {
      throw new ForbiddenError(`you are not a handler of case ${c.caseId} (您不是本案承办人)`);
    }
  }

  /**
   * Checks a source exists and may found or join a case; returns the unit it names. Tips must be found true; a patrol
   * finding is `<patrolId>#<index>`; a clue is a reference the platform does not hold (accepted as given).
   */
  private async sourceUnit(kind: SourceKind, id: string, field: string): Promise<string | undefined> {
    const missing = () =>
      fieldError(`${field}.id`, `${kind} ${id} does not exist`, kind === 'tip' ? '举报线索不存在' : '来源不存在');
    switch (kind) {
      case 'tip': {
        const tip = await this.deps.sources.tip(id);
        if (!tip) throw missing();
        if (tip.mergedInto) {
          throw new ConflictError(`tip ${id} was merged into tip ${tip.mergedInto}; use that one (该举报已合并)`);
        }
        if (!TIP_STATES_FOR_CASE.has(tip.status)) {
          throw new ConflictError(
            `tip ${id} is ${tip.status}; only a substantiated tip becomes a case (举报尚未核实属实)`,
          );
        }
        return tipUnit(tip);
      }
      case 'alarm': {
        const alarm = await this.deps.sources.alarm(id);
        if (!alarm) throw missing();
        return alarm.enterpriseId;
      }
      case 'patrol': {
        const ref = parseFindingRef(id);
        if (!ref) {
          throw fieldError(`${field}.id`, 'a patrol finding is `<patrolId>#<index>`', '巡查发现格式为 巡查编号#序号');
        }
        const patrol = await this.deps.sources.patrol(ref.patrolId);
        if (!patrol?.findings[ref.index]) throw missing();
        return undefined;
      }
      case 'clue':
        return undefined;
    }
  }

  /** The platform's proposal from the case's exceedance alarms and the recorded facts. */
  private async propose(c: Case, recorded: CrimeFactsInput | undefined): Promise<ProposedCrimeItem[]> {
    if (!recorded) {
      throw fieldError('body.crimeFacts', 'a suspected crime needs the recorded facts', '涉嫌犯罪须填写入罪事实');
    }
    checkCitedEvidence(c, recorded);
    const enterprise = c.enterpriseId ? await this.deps.sources.enterprise(c.enterpriseId) : undefined;
    const alarmFacts: ExceedanceFact[] = [];
    for (const s of c.sources.filter((x) => x.kind === 'alarm')) {
      const alarm = await this.deps.sources.alarm(s.id);
      if (!alarm) continue;
      const outlet = await this.deps.sources.outlet(alarm.outletId);
      const fact = exceedanceFromAlarm(alarm, outlet?.inDrinkingWaterProtectionZone ?? false);
      if (fact) alarmFacts.push(fact);
    }
    // an unregistered site holds no permit: it is not a key-management unit (the only class the thresholds look at)
    const unit = { name: c.unitName, permitClass: enterprise?.permitClass ?? 'registration' };
    return proposeCrimeItems(crimeFacts(unit, alarmFacts, recorded));
  }

  /** Starts the workflow a decided case needs (idempotent by execution name) and notes it on the timeline. */
  private async startWorkflows(c: Case, who: Caller): Promise<WorkflowStart[]> {
    const d = c.decision;
    if (!d) return [];
    const tipIds = tipSources(c);
    const starts: { workflow: WorkflowName; input: Record<string, unknown> }[] = [];
    if (decisionCarriesReward(d) && tipIds.length > 0 && d.type === 'administrative_penalty') {
      const founding = await this.deps.sources.tip(tipIds[0] as string);
      starts.push({
        workflow: 'reward',
        input: {
          caseId: c.caseId,
          round: 1,
          tipIds,
          trigger: 'administrative_penalty',
          decisionNumber: d.decisionNumber,
          decidedOn: d.decidedOn,
          fineFen: d.fineFen,
          reward: rewardRound(d),
          commendationConsent: founding?.commendationConsent === true,
        },
      });
    }
    if (d.type === 'suspected_crime') {
      starts.push({
        workflow: 'transfer',
        input: {
          caseId: c.caseId,
          round: 1,
          handlers: c.handlers,
          confirmedItems: d.confirmedItems.map((i) => i.item),
        },
      });
    }
    const out: WorkflowStart[] = [];
    for (const s of starts) {
      const name = `${s.workflow}-${c.caseId}-1`;
      const started = await this.deps.workflows.start(s.workflow, name, s.input);
      if (started.started) {
        await this.deps.store.addTimelineEntry(
          c.caseId,
          {
            type: s.workflow === 'reward' ? 'reward_step' : 'transfer_step',
            note: s.workflow === 'reward' ? '启动举报奖励审批流程' : '启动涉嫌犯罪案件移送流程',
            data: {
              event: 'workflow_started',
              executionName: name,
              ...(started.executionArn ? { executionArn: started.executionArn } : {}),
            },
          },
          { by: who.sub },
          'case.workflow.start',
        );
      }
      out.push(started);
    }
    return out;
  }
}
