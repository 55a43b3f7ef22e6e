import type { CrimeFactsInput } from '#shared/contracts/cases.ts';
import { ValidationError } from '#shared/domain/errors.ts';
import type { Role } from '#shared/domain/roles.ts';
import { hasSealedIdentity, type TimelineEntry, type Tip } from '#shared/domain/tips/model.ts';
import { stepDef } from './changes.ts';
import type { CaseCrimeFacts, ExceedanceFact } from './crime-thresholds.ts';
import { CASE_STATUS_LABELS, type Case, type DecisionBody, decisionCarriesReward } from './model.ts';
import type { CaseRecord, RewardLedger, TaskView } from './ports.ts';
import {
  approvalChain,
  type GrantedComponent,
  type RewardClue,
  type RewardComponent,
  type RewardDecisions,
  type RewardReporter,
  rewardDelta,
  rewardLines,
} from './reward.ts';
import { type ActingOfficial, mayAct } from './workflow.ts';

/**
 * The pure rules of the officials' case use-cases (use-cases.ts): who may read a case, which task actions an official
 * may take, which sources may found a case, the crime facts the platform checks, the reward rounds and where a
 * reporter stands before eligibility. No I/O.
 */

/** Tip states from which a case may be opened: the report was found true (or a case is already open on it). */
export const TIP_STATES_FOR_CASE = new Set(['substantiated', 'case_opened']);

/** The unit a tip names (a registered unit only; a triage guess is not a naming). */
export const tipUnit = (tip: Tip): string | undefined =>
  tip.suspectedUnit?.kind === 'registered' ? tip.suspectedUnit.enterpriseId : undefined;

/** A patrol finding reference `<patrolId>#<index>`. */
export function parseFindingRef(id: string): { patrolId: string; index: number } | undefined {
  const m = /^([0-9A-HJKMNP-TV-Z]{26})#(\d{1,2})$/.exec(id);
  return m?.[1] && m[2] ? { patrolId: m[1], index: Number(m[2]) } : undefined;
}

export const fieldError = (field: string, message: string, messageZh: string) =>
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
  const step = stepDef(task.workflow, task.step);
  if (!step || task.state !== 'open' || step.terminal || !mayAct(step, who, caseTeam)) return [];
  return Object.entries(step.actions).map(([action, def]) => ({
    action,
    labelZh: def?.labelZh ?? action,
    requiresComment: def?.requiresComment === true,
  }));
}

export const taskViewFor = (task: TaskView, who: ActingOfficial, caseTeam: readonly string[]) => {
  const step = stepDef(task.workflow, task.step);
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

/** Whether the reward post has opened the reporter identity of a tip through the vault (an access on its timeline). */
export const identityOpened = (timeline: readonly TimelineEntry[]): boolean =>
  timeline.some((e) => e.type === 'identity_access');

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

export const STANDING_REFUSAL = {
  not_opened: (ids: string[]) =>
    `open the reporter's identity through the vault first (POST /tips/{tipId}/identity/open with a reason, logged; tips ${ids.join(', ')}), ` +
    'then confirm eligibility (请先经身份库核实举报人身份，查看留痕后再确认符合奖励条件)',
  unclaimed: () =>
    'the reporter is anonymous and has not claimed the reward with the receipt, so the identity cannot be verified: ' +
    "wait for the claim (the reporter was told on the follow page), or close with 'ineligible' " +
    '(匿名举报人尚未凭查询码申领奖励，身份无法核实：可等待申领，或以"不符合奖励条件"办结)',
};

/** The tips a case came from (their ids, in the order they were added). */
export const tipSources = (c: Pick<Case, 'sources'> | undefined): string[] =>
  (c?.sources ?? []).filter((s) => s.kind === 'tip').map((s) => s.id);

/** Two decisions are the same decision (a retried request) when their bodies match. */
export function sameDecision(recorded: Case['decision'], requested: DecisionBody): boolean {
  if (!recorded || recorded.type !== requested.type) return false;
  const { decidedBy: _b, decidedAt: _a, ...body } = recorded;
  const strip = (d: Record<string, unknown>) => {
    const { proposedItems: _p, ...rest } = d;
    return JSON.stringify(rest, Object.keys(rest).sort());
  };
  return strip(body) === strip(requested as Record<string, unknown>);
}

/** An ISO instant in its canonical form (what the stores' sort keys hold), or a 400 on `query.<field>`. */
export function canonicalInstant(value: string, field: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new ValidationError(`${field} is not an ISO 8601 instant`, [
      {
        field: `query.${field}`,
        message: 'must be an ISO 8601 instant',
        messageZh: '时间格式无效，应为 ISO 8601（如 2026-05-01T08:30:00+08:00）',
      },
    ]);
  }
  return new Date(t).toISOString();
}
