import { ExecutionAlreadyExists, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoAlarmStore } from '#shared/adapters/alarms-store.ts';
import {
  type CaseFilter,
  type CaseRecord,
  canonicalInstant,
  type DeadlineView,
  DynamoCaseStore,
  type RewardGrant,
  type RewardLedger,
  stepOf,
  type TaskView,
  type WorkflowName,
  type WorkflowTask,
} from '#shared/adapters/cases-store.ts';
import { decodeCursor, dynamo, encodeCursor } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { DynamoTipStore } from '#shared/adapters/tips-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { type CrimeFactsInput, type DecisionRequest, TASK_ROLES } from '#shared/contracts/cases.ts';
import type { Alarm } from '#shared/domain/alarms/lifecycle.ts';
import {
  type CaseCrimeFacts,
  type ExceedanceFact,
  exceedanceFromAlarm,
  type ProposedCrimeItem,
  proposeCrimeItems,
} from '#shared/domain/cases/crime-thresholds.ts';
import { deadlineState } from '#shared/domain/cases/deadlines.ts';
import {
  type AddEvidenceInput,
  CASE_STATUS_LABELS,
  type Case,
  type DecisionBody,
  decisionCarriesReward,
  type OpenCaseInput,
  type SourceKind,
} from '#shared/domain/cases/model.ts';
import {
  approvalChain,
  type GrantedComponent,
  type RewardClue,
  type RewardComponent,
  type RewardDecisions,
  type RewardReporter,
  rewardDelta,
  rewardLines,
} from '#shared/domain/cases/reward.ts';
import { REWARD_FLOW as REWARD } from '#shared/domain/cases/reward-flow.ts';
import { OUTCOME_REWARD, TRANSFER_FLOW as TRANSFER, type TransferAction } from '#shared/domain/cases/transfer.ts';
import {
  type ActingOfficial,
  act,
  mayAct,
  SYSTEM_ACTOR,
  type WorkflowDefinition,
} from '#shared/domain/cases/workflow.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '#shared/domain/errors.ts';
import type { Patrol } from '#shared/domain/patrols/model.ts';
import type { Enterprise, Outlet } from '#shared/domain/registry/model.ts';
import type { Page } from '#shared/domain/registry/store.ts';
import type { Role } from '#shared/domain/roles.ts';
import { hasSealedIdentity, type Tip } from '#shared/domain/tips/model.ts';
import { mergedGroup } from '#shared/domain/tips/triage.ts';
import type { Principal } from '#shared/http/principal.ts';
import { logger } from '#shared/observability/logger.ts';

/**
 * The cases use-cases behind the officials' API. Sources are read from their own tables (tips, alarms, patrols) and
 * the registry; the case never copies a reporter's identity (a tip is referenced by id, its reporter stays in the
 * vault). Workflows run on Step Functions:
 *   - starting: StartExecution named `reward-<caseId>-<round>` / `transfer-<caseId>-<round>`, so a retried request
 *     cannot start two (ExecutionAlreadyExists is success). Round 1 here; later rounds (detention, arrest,
 *     conviction) are started by the transfer workflow.
 *   - acting: the pure workflow.ts `act` validates (wrong role 403, done/stale 409, missing comment 400), then
 *     SendTaskSuccess with output `{ action, comment, by }` (the state machine's Choice reads `$.decision.action`),
 *     then the store marks the task done. If Step Functions refuses the token (TaskTimedOut, InvalidToken,
 *     TaskDoesNotExist) the answer is 409 and nothing changes.
 */

// ───────────────────────────── ports ─────────────────────────────

/** Read access to what a case is opened from, and to the registry. */
export interface CaseSourceReader {
  tip(id: string): Promise<Tip | undefined>;
  alarm(id: string): Promise<Alarm | undefined>;
  patrol(id: string): Promise<Patrol | undefined>;
  enterprise(id: string): Promise<Enterprise | undefined>;
  outlet(id: string): Promise<Outlet | undefined>;
  /** whether the reward post has opened the reporter identity of a tip through the vault (an access on its timeline) */
  identityOpened(tipId: string): Promise<boolean>;
}

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

/** The Step Functions errors that mean "this task can no longer be completed": a 409 for the caller. */
export const STALE_TOKEN_ERRORS = ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'];

export function sfnWorkflows(sfn: SFNClient, arns: { reward?: string; transfer?: string }): Workflows {
  return {
    async start(workflow, name, input) {
      const arn = arns[workflow];
      if (!arn) throw new Error(`no state machine configured for the ${workflow} workflow`);
      try {
        const out = await sfn.send(
          new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }),
        );
        return {
          workflow,
          executionName: name,
          ...(out.executionArn ? { executionArn: out.executionArn } : {}),
          started: true,
        };
      } catch (err) {
        if (err instanceof ExecutionAlreadyExists || (err as Error).name === 'ExecutionAlreadyExists') {
          return { workflow, executionName: name, started: false };
        }
        throw err;
      }
    },
    async sendSuccess(token, output) {
      try {
        await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
      } catch (err) {
        if (STALE_TOKEN_ERRORS.includes((err as Error).name)) {
          throw new ConflictError(
            'the workflow no longer waits for this task: it timed out or was handled (任务已超时或已处理)',
          );
        }
        throw err;
      }
    },
  };
}

export function dynamoSourceReader(tables: { tips: string; alarms: string; registry: string; audit: string }) {
  const alarms = new DynamoAlarmStore(dynamo, { alarms: tables.alarms, audit: tables.audit });
  const registry = new DynamoRegistryStore(dynamo, tables.registry, tables.audit);
  // tips and their timelines only: this reader never touches the identities table
  const tipStore = new DynamoTipStore(dynamo, { tips: tables.tips, identities: 'none', audit: tables.audit });
  const reader: CaseSourceReader = {
    tip: async (id) => (await tipStore.get(id))?.tip,
    alarm: (id) => alarms.get(id),
    async patrol(id) {
      const out = await dynamo.send(new GetCommand({ TableName: tables.tips, Key: { pk: `patrol#${id}`, sk: '#' } }));
      return out.Item?.kind === 'patrol' ? (out.Item.patrol as Patrol) : undefined;
    },
    enterprise: async (id) => (await registry.get<Enterprise>('enterprises', id))?.item,
    outlet: async (id) => (await registry.get<Outlet>('outlets', id))?.item,
    identityOpened: async (id) => (await tipStore.timeline(id)).some((e) => e.type === 'identity_access'),
  };
  return reader;
}

/** Marks tips 已立案 through the tip store (one transaction with its audit entry; a stale version is retried once). */
export function dynamoTipCaseMarker(tables: { tips: string; identities: string; audit: string }): TipCaseMarker {
  const store = new DynamoTipStore(dynamo, tables);
  return {
    async markCaseOpened(tipId, caseId, by) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const found = await store.get(tipId);
        if (!found || found.tip.status !== 'substantiated') return;
        const at = new Date().toISOString();
        try {
          await store.update({ ...found.tip, status: 'case_opened', updatedAt: at }, found.version, {
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
    },
  };
}

// ───────────────────────────── pure helpers ─────────────────────────────

/** Tip states from which a case may be opened: the report was found true (or a case is already open on it). */
const TIP_STATES_FOR_CASE = new Set(['substantiated', 'case_opened']);

/** The unit a tip names (a registered unit only; a triage guess is not a naming). */
export const tipUnit = (tip: Tip): string | undefined =>
  tip.suspectedUnit?.kind === 'registered' ? tip.suspectedUnit.enterpriseId : undefined;

/** A patrol finding reference `<patrolId>#<index>`. */
export function parseFindingRef(id: string): { patrolId: string; index: number } | undefined {
  const m = /^([0-9A-HJKMNP-TV-Z]{26})#(\d{1,2})$/.exec(id);
  return m?.[1] && m[2] ? { patrolId: m[1], index: Number(m[2]) } : undefined;
}

const fieldError = (field: string, message: string, messageZh: string) =>
  new ValidationError(message, [{ field, message, messageZh }]);

/**
 * Who may read a case: bureau staff always; the reward post a case from a tip; the liaisons a suspected-crime case.
 */
export function caseReadable(c: Case, roles: readonly Role[]): boolean {
  if (roles.some((r) => r === 'handler' || r === 'section_chief' || r === 'bureau_head' || r === 'analyst'))
    return true;
  if (roles.includes('reward_post') && c.sources.some((s) => s.kind === 'tip')) return true;
  const liaison = roles.includes('police_liaison') || roles.includes('procuratorate_liaison');
  return liaison && c.decision?.type === 'suspected_crime';
}

/** What the API shows of a case: the case, its version and the status in Chinese. */
export const caseView = (r: CaseRecord) => ({
  ...r.case,
  version: r.version,
  statusZh: CASE_STATUS_LABELS[r.case.status],
});

/** The step's actions the official may take now, with labels (none when the task is not open or not theirs). */
export function actionsFor(task: TaskView, who: ActingOfficial, caseTeam: readonly string[]) {
  const step = stepOf(task.workflow, task.step);
  if (!step || task.state !== 'open' || step.terminal || !mayAct(step, who, caseTeam)) return [];
  return Object.entries(step.actions).map(([action, def]) => ({
    action,
    labelZh: def?.labelZh ?? action,
    requiresComment: def?.requiresComment === true,
  }));
}

export const taskViewFor = (task: TaskView, who: ActingOfficial, caseTeam: readonly string[]) => {
  const step = stepOf(task.workflow, task.step);
  return {
    ...task,
    ...(step ? { stepZh: step.labelZh } : {}),
    ...(task.state === 'open' ? { actions: actionsFor(task, who, caseTeam) } : {}),
  };
};

/** The platform's crime facts: the case's exceedance alarms (zone flag from the registry) plus the recorded facts. */
export function crimeFacts(
  unit: { name: string; permitClass: CaseCrimeFacts['unit']['permitClass'] },
  alarmFacts: ExceedanceFact[],
  recorded: CrimeFactsInput,
): CaseCrimeFacts {
  const ev = (evidenceId: string) => ({ kind: 'evidence' as const, id: evidenceId });
  return {
    unit,
    exceedances: [
      ...alarmFacts,
      ...recorded.labExceedances.map(({ evidenceId, unit: u, outletName, ...e }) => ({
        ...e,
        ...(u !== undefined ? { unit: u } : {}),
        ...(outletName !== undefined ? { outletName } : {}),
        source: ev(evidenceId),
      })),
    ],
    protectedZoneDischarges: recorded.protectedZoneDischarges.map(({ evidenceId, ...d }) => ({
      ...d,
      source: ev(evidenceId),
    })),
    hazardousWaste: recorded.hazardousWaste.map(({ evidenceId, wasteCode, ...w }) => ({
      ...w,
      ...(wasteCode !== undefined ? { wasteCode } : {}),
      source: ev(evidenceId),
    })),
    concealedDischarges: recorded.concealedDischarges.map(({ evidenceId, ...d }) => ({ ...d, source: ev(evidenceId) })),
    falsificationFindings: recorded.falsificationFindings.map(({ evidenceId, ...f }) => ({
      ...f,
      source: ev(evidenceId),
    })),
    ...(recorded.repeatOffence ? { repeatOffence: recorded.repeatOffence } : {}),
    priorPenalties: recorded.priorPenalties,
  };
}

/** Every evidence id the recorded facts cite must be evidence of the case (400 naming the field otherwise). */
export function checkCitedEvidence(c: Case, recorded: CrimeFactsInput): void {
  const known = new Set(c.evidence.map((e) => e.id));
  const lists = {
    labExceedances: recorded.labExceedances,
    protectedZoneDischarges: recorded.protectedZoneDischarges,
    hazardousWaste: recorded.hazardousWaste,
    concealedDischarges: recorded.concealedDischarges,
    falsificationFindings: recorded.falsificationFindings,
  };
  const issues = Object.entries(lists).flatMap(([name, list]) =>
    list.flatMap((f, i) =>
      known.has(f.evidenceId)
        ? []
        : [
            {
              field: `body.crimeFacts.${name}.${i}.evidenceId`,
              message: 'not evidence of this case',
              messageZh: '所引证据不属于本案',
            },
          ],
    ),
  );
  if (issues.length > 0) throw new ValidationError('crime facts cite evidence the case does not hold', issues);
}

/**
 * What the reward machine's `amount` and `government_route` Choice steps read (`$.reward.totalFen`,
 * `$.reward.approvals`): round 1 of a penalty, nothing granted before, computed by reward.ts. Eligibility is not
 * assumed here: the reward post decides it at the first step, before the amount counts.
 */
export function rewardRound(d: { decisionNumber: string; fineFen: number }) {
  const lines = rewardLines({ penalty: { decisionNumber: d.decisionNumber, fineFen: d.fineFen } });
  return {
    lines,
    totalFen: lines.reduce((t, l) => t + l.amountFen, 0),
    approvals: approvalChain(lines),
  };
}

/**
 * How the platform sees the reporter and the clue when it sizes a later round: eligible. Eligibility is not the
 * platform's to assume — the reward post decides it at the round's first step (`eligibility`), exactly as in round 1 —
 * so the amount is computed as if eligible and the post may still refuse it with reasons.
 */
const ASSUMED_ELIGIBLE: { reporter: RewardReporter; clue: RewardClue } = {
  reporter: {
    firstValidReporter: true,
    kind: 'real_name',
    identityVerified: true,
    supervisoryStaff: false,
    closeRelativeOfStaff: false,
    declined: false,
  },
  clue: {
    alreadyKnown: false,
    underInvestigation: false,
    alreadyOrderedToCorrect: false,
    untrue: false,
    malicious: false,
  },
};

/** The round a reward execution runs, from its name `reward-<caseId>-<n>` (the last part of the execution ARN). */
export function roundOfExecution(executionArn: string, caseId: string): number | undefined {
  const name = executionArn.split(':').pop() ?? '';
  const m = new RegExp(`^reward-${caseId}-(\\d+)$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * What a later round pays when a transfer outcome brings `component`: the delta against every component some round
 * already pays or paid (started rounds count: a component under approval in round 2 is never put into round 3 too),
 * and against round 1's penalty while the case's penalty decision carries one (round 1 is started by the decision).
 * The next round number is after every round on the ledger, and at least 2 (round 1 is the penalty's).
 */
export function laterRound(
  c: Pick<Case, 'decision'>,
  ledger: RewardLedger,
  component: RewardComponent,
  reference: string,
) {
  const covered: GrantedComponent[] = [
    ...ledger.granted.map((g) => ({ component: g.component, amountFen: g.amountFen })),
    ...ledger.rounds.flatMap((r) => r.lines.map((l) => ({ component: l.component, amountFen: l.amountFen }))),
  ];
  const decisions: RewardDecisions = { [component]: { reference } };
  const d = c.decision;
  if (d?.type === 'administrative_penalty' && decisionCarriesReward(d)) {
    decisions.penalty = { decisionNumber: d.decisionNumber, fineFen: d.fineFen };
    covered.push(...rewardRound(d).lines.map((l) => ({ component: l.component, amountFen: l.amountFen })));
  }
  // one entry per component: rewardDelta sums repeated entries, and a started round that was then paid is one grant
  const byComponent = new Map(covered.map((g) => [g.component, g]));
  const delta = rewardDelta([...byComponent.values()], { ...ASSUMED_ELIGIBLE, decisions });
  const last = Math.max(1, ...ledger.rounds.map((r) => r.round), ...ledger.granted.map((g) => g.round));
  return { round: last + 1, lines: delta.lines, totalFen: delta.totalFen, approvals: delta.approvals };
}

/**
 * Where a reward round's reporters stand before the reward post confirms eligibility: `verified` when some tip of the
 * round has a reporter identity (a real-name report, or an anonymous reporter who claimed with the receipt) that the
 * post has opened through the vault (logged); `not_opened` when one has an identity nobody opened yet; `unclaimed`
 * when every reporter is anonymous and none has claimed (the reporter was invited to through the receipt).
 */
export function reporterStanding(tips: readonly { tip: Tip; opened: boolean }[]): {
  standing: 'verified' | 'not_opened' | 'unclaimed';
  /** the tips whose identity the post could open now */
  toOpen: string[];
} {
  const known = tips.filter(({ tip }) => hasSealedIdentity(tip));
  const toOpen = known.filter((t) => !t.opened).map((t) => t.tip.id);
  if (known.some((t) => t.opened)) return { standing: 'verified', toOpen };
  return { standing: known.length > 0 ? 'not_opened' : 'unclaimed', toOpen };
}

const STANDING_REFUSAL = {
  not_opened: (ids: string[]) =>
    `open the reporter's identity through the vault first (POST /tips/{tipId}/identity/open with a reason, logged; tips ${ids.join(', ')}), ` +
    'then confirm eligibility (请先经身份库核实举报人身份，查看留痕后再确认符合奖励条件)',
  unclaimed: () =>
    'the reporter is anonymous and has not claimed the reward with the receipt, so the identity cannot be verified: ' +
    "wait for the claim (the reporter was told on the follow page), or close with 'ineligible' " +
    '(匿名举报人尚未凭查询码申领奖励，身份无法核实：可等待申领，或以"不符合奖励条件"办结)',
};

/** The tips a case came from (their ids, in the order they were added). */
const tipSources = (c: Pick<Case, 'sources'> | undefined): string[] =>
  (c?.sources ?? []).filter((s) => s.kind === 'tip').map((s) => s.id);

/** Two decisions are the same decision (a retried request) when their bodies match. */
function sameDecision(recorded: Case['decision'], requested: DecisionBody): boolean {
  if (!recorded || recorded.type !== requested.type) return false;
  const { decidedBy: _b, decidedAt: _a, ...body } = recorded;
  const strip = (d: Record<string, unknown>) => {
    const { proposedItems: _p, ...rest } = d;
    return JSON.stringify(rest, Object.keys(rest).sort());
  };
  return strip(body) === strip(requested as Record<string, unknown>);
}

// ───────────────────────────── use-cases ─────────────────────────────

/** Moves a substantiated tip to 已立案 once a case holds it, so the reporter sees it through the receipt. */
export interface TipCaseMarker {
  markCaseOpened(tipId: string, caseId: string, by: string): Promise<void>;
}

export interface CasesDeps {
  store: DynamoCaseStore;
  sources: CaseSourceReader;
  workflows: Workflows;
  tips?: TipCaseMarker;
  now?: () => Date;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export class CasesService {
  private readonly now: () => Date;
  constructor(private readonly deps: CasesDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** A case the caller may read, audited; 404 when unknown, 403 outside the caller's scope. */
  async readCase(caseId: string, who: Principal): Promise<CaseRecord> {
    const peek = await this.deps.store.get(caseId);
    if (!peek) throw new NotFoundError(`case ${caseId} does not exist`);
    if (!caseReadable(peek.case, who.roles))
      throw new ForbiddenError(`case ${caseId} is outside your remit (无权查看该案件)`);
    const record = await this.deps.store.get(caseId, { actor: who.sub });
    if (!record) throw new NotFoundError(`case ${caseId} does not exist`);
    return record;
  }

  /** Cases by status or by unit; the listing is audited. */
  async listCases(filter: CaseFilter, page: { limit: number; cursor?: string }, who: Principal) {
    const out = await this.deps.store.list(filter, page, { actor: who.sub });
    return {
      items: out.items.map((c) => caseView({ case: c, version: c.version })),
      ...(out.cursor ? { cursor: out.cursor } : {}),
    };
  }

  /** The case's timeline, for a reader of the case (audited). */
  async timeline(caseId: string, who: Principal, page: { limit: number; cursor?: string }) {
    const peek = await this.deps.store.get(caseId);
    if (!peek) throw new NotFoundError(`case ${caseId} does not exist`);
    if (!caseReadable(peek.case, who.roles))
      throw new ForbiddenError(`case ${caseId} is outside your remit (无权查看该案件)`);
    return this.deps.store.timeline(caseId, page, { actor: who.sub });
  }

  async assignHandlers(caseId: string, handlers: string[], who: Principal, expectedVersion?: number) {
    return this.deps.store.assignHandlers(caseId, handlers, { by: who.sub }, expectedVersion);
  }

  async openCase(input: OpenCaseInput, who: Principal): Promise<CaseRecord> {
    for (const [i, s] of input.sources.entries()) {
      const unit = await this.sourceUnit(s.kind, s.id, `body.sources.${i}`);
      if (unit !== undefined && unit !== input.enterpriseId) {
        throw fieldError(
          `body.sources.${i}.id`,
          `the ${s.kind} concerns unit ${unit}, not the case's unit`,
          '来源所涉单位与案件当事人不一致',
        );
      }
    }
    if (input.enterpriseId) {
      const open = await this.deps.store.openCaseOfUnit(input.enterpriseId);
      if (open) {
        throw new ConflictError(
          `unit ${input.enterpriseId} already has case ${open.caseId} under way; attach the sources to it (该单位已有在办案件，请关联至该案件)`,
        );
      }
    }
    const record = await this.deps.store.openCase(input, { by: who.sub });
    for (const s of input.sources) if (s.kind === 'tip') await this.markTip(s.id, record.case.caseId, who);
    return record;
  }

  /**
   * The tip's own status follows its case (已立案). Best effort after the case is committed: a tip changed meanwhile
   * keeps its status and the failure is logged; the case does not depend on it.
   */
  private async markTip(tipId: string, caseId: string, who: Principal): Promise<void> {
    try {
      await this.deps.tips?.markCaseOpened(tipId, caseId, who.sub);
    } catch (err) {
      this.deps.log?.('tip not marked case_opened', { tipId, caseId, error: (err as Error).message });
    }
  }

  async attachSource(
    caseId: string,
    source: { kind: SourceKind; id: string },
    who: Principal,
    expectedVersion?: number,
  ): Promise<CaseRecord> {
    const current = await this.deps.store.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist`);
    this.assertOnTeam(current.case, who);
    const unit = await this.sourceUnit(source.kind, source.id, 'body');
    const record = await this.deps.store.attachSource(caseId, source, unit, { by: who.sub }, expectedVersion);
    if (source.kind === 'tip') await this.markTip(source.id, caseId, who);
    return record;
  }

  async addEvidence(caseId: string, input: AddEvidenceInput, who: Principal, expectedVersion?: number) {
    const current = await this.deps.store.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist`);
    this.assertOnTeam(current.case, who);
    return this.deps.store.addEvidence(caseId, input, { by: who.sub }, expectedVersion);
  }

  /**
   * Records the decision, then starts its workflow. A suspected crime: the platform's proposal replaces the
   * submitted one; every confirmed item must be proposed and confirmed by the caller. A repeated identical
   * decision records nothing and only makes sure the workflow runs (a retry after a failed start).
   */
  async decide(
    caseId: string,
    request: DecisionRequest,
    who: Principal,
    expectedVersion?: number,
  ): Promise<{ record: CaseRecord; workflows: WorkflowStart[] }> {
    const current = await this.deps.store.get(caseId);
    if (!current) throw new NotFoundError(`case ${caseId} does not exist`);
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
      record = await this.deps.store.recordDecision(
        caseId,
        decision,
        { by: who.sub },
        expectedVersion,
        proposal ? { proposedCrimeItems: proposal.map((p) => p.item) } : undefined,
      );
    }
    return { record, workflows: await this.startWorkflows(record.case, who) };
  }

  /** The open tasks of the caller's roles (one role with `role`), across partitions with one compound cursor. */
  async myTasks(who: Principal, query: { role?: Role; limit: number; cursor?: string }) {
    const mine = who.roles.filter((r) => TASK_ROLES.includes(r));
    if (query.role && !mine.includes(query.role)) {
      throw new ForbiddenError(`you do not hold the role ${query.role} (您不具有该角色)`);
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
   * action), then SendTaskSuccess, then the task is marked done. A refused token is a 409 and changes nothing.
   */
  async actOnTask(taskId: string, body: { action: string; comment?: string | undefined }, who: Principal) {
    const task = await this.deps.store.getTask(taskId);
    if (!task) throw new NotFoundError(`task ${taskId} does not exist`);
    if (task.state !== 'open') throw new ConflictError(`task ${taskId} is ${task.state} (任务已处理或已过期)`);
    const step = stepOf(task.workflow, task.step);
    if (!step) throw new ConflictError(`task ${taskId} is at an unknown step ${task.step}`);
    const current = await this.deps.store.get(task.caseId);
    const team = current?.case.handlers ?? [];
    if (who.sub === SYSTEM_ACTOR.sub) throw new ForbiddenError('the system principal does not act on tasks');
    const officer: ActingOfficial = { sub: who.sub, roles: who.roles };
    if (!mayAct(step, officer, team)) {
      throw new ForbiddenError(
        `step ${task.step} is for ${step.actors.join(' or ')} (当前环节须由${step.labelZh}责任人办理)`,
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
    const comment = body.comment?.trim();
    const output = { action: body.action, ...(comment ? { comment } : {}), by: who.sub };
    // the ledger lines are known before the token is handed over: a round whose lines are unknown pays nothing
    const grant =
      task.workflow === 'reward' && task.step === 'payment' && body.action === 'paid'
        ? await this.roundGrant(task, current?.case)
        : undefined;
    await this.deps.workflows.sendSuccess(task.token, output);
    const done: WorkflowTask = await this.deps.store.completeTask(taskId, output, { actor: who.sub, at }, grant);
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

  /** A case's workflow tasks (history), for a reader of the case. */
  async caseTasks(caseId: string, who: Principal, page: { limit: number; cursor?: string }) {
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
      members.map(async (tip) => ({ tip, opened: await this.deps.sources.identityOpened(tip.id) })),
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
    who: Principal,
  ): Promise<WorkflowStart | undefined> {
    const tipIds = tipSources(c);
    if (tipIds.length === 0) return undefined;
    const ledger = await this.deps.store.rewardLedger(c.caseId);
    const next = laterRound(c, ledger, component, reference);
    if (next.totalFen <= 0) return undefined;
    if (!(await this.deps.store.claimRewardRound(c.caseId, next.round, next.lines, { by: who.sub }))) return undefined;
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
  private assertOnTeam(c: Case, who: Principal): void {
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
  private async startWorkflows(c: Case, who: Principal): Promise<WorkflowStart[]> {
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

/**
 * Builds the service from the function's environment: CASES_TABLE and AUDIT_TABLE (read/write); TIPS_TABLE,
 * ALARMS_TABLE and REGISTRY_TABLE (read); REWARD_STATE_MACHINE_ARN and TRANSFER_STATE_MACHINE_ARN (start, send task
 * success), read from process.env by those names.
 */
export function casesServiceFromEnv(sfn: SFNClient = new SFNClient({})): CasesService {
  const config = readConfig({
    casesTable: ENV.casesTable,
    auditTable: ENV.auditTable,
    tipsTable: ENV.tipsTable,
    alarmsTable: ENV.alarmsTable,
    registryTable: ENV.registryTable,
  });
  const arns = {
    ...(process.env[ENV.rewardStateMachine] ? { reward: process.env[ENV.rewardStateMachine] as string } : {}),
    ...(process.env[ENV.transferStateMachine] ? { transfer: process.env[ENV.transferStateMachine] as string } : {}),
  };
  return new CasesService({
    store: new DynamoCaseStore(dynamo, { cases: config.casesTable, audit: config.auditTable }),
    sources: dynamoSourceReader({
      tips: config.tipsTable,
      alarms: config.alarmsTable,
      registry: config.registryTable,
      audit: config.auditTable,
    }),
    workflows: sfnWorkflows(sfn, arns),
    tips: dynamoTipCaseMarker({
      tips: config.tipsTable,
      identities: 'unused-identities-table',
      audit: config.auditTable,
    }),
    log: (message, fields) => logger.warn(message, fields),
  });
}
