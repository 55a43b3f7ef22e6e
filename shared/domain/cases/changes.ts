import { calendarAssumedNoteZh } from '#shared/domain/calendar/cn-holidays.ts';
import { ConflictError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import { CRIME_ITEMS, type CrimeItem } from './crime-thresholds.ts';
import {
  type AddEvidenceInput,
  acceptsSources,
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
  type SourceKind,
  type TimelineType,
} from './model.ts';
import type {
  CaseChange,
  CaseEventDraft,
  DeadlineView,
  RewardRoundRecord,
  TaskOutcome,
  WorkflowName,
  WorkflowTask,
} from './ports.ts';
import type { RewardLine } from './reward.ts';
import { FLOWS, type StepTimer } from './timers.ts';
import type { StepDef } from './workflow.ts';

/**
 * The changes of a case, pure: each takes the case as read (and the instant of the change) and says what changes —
 * the next case, its timeline events in Chinese, the sources it claims and the audit detail — or refuses with the
 * domain error (409 for a state that does not allow it). The store (ports.ts CaseStore.change) writes the result in
 * one transaction at the version read. Also the timeline entries of workflow tasks and the deadline a task carries.
 */

/** Limits that keep a case item far below DynamoDB's 400 KB. */
export const MAX_EVIDENCE = 200;
export const MAX_SOURCES = 100;

type TimelineData = NonNullable<CaseTimelineEntry['data']>;

// ───────────────────────────── opening ─────────────────────────────

/** A new case with its party resolved: a registered unit (from the registry) or a site flagged for registration. */
export interface NewCase {
  caseId: string;
  unit:
    | { enterpriseId: string; name: string; townshipId: string }
    | { name: string; townshipId: string; address?: string };
  title: string;
  sources: readonly { kind: SourceKind; id: string }[];
  handlers: readonly string[];
}

/**
 * A new case from its sources (already checked: they exist, they hold up, their units match). With two or more
 * distinct handlers the case starts `investigating`, otherwise `open`.
 */
export function openedCase(
  input: NewCase,
  acting: { by: string; at: string },
): { case: Case; events: CaseEventDraft[]; detail: Record<string, unknown> } {
  const handlers = [...new Set(input.handlers)];
  const { unit } = input;
  const registered = 'enterpriseId' in unit;
  const c: Case = {
    caseId: input.caseId,
    ...(registered ? { enterpriseId: unit.enterpriseId } : {}),
    unitName: unit.name,
    townshipId: unit.townshipId,
    ...(!registered && unit.address ? { unitAddress: unit.address } : {}),
    ...(registered ? {} : { needsRegistration: true }),
    title: input.title,
    sources: input.sources.map((s) => ({ kind: s.kind, id: s.id, addedAt: acting.at, addedBy: acting.by })),
    handlers,
    status: handlers.length >= MIN_HANDLERS ? 'investigating' : 'open',
    evidence: [],
    openedAt: acting.at,
    openedBy: acting.by,
    updatedAt: acting.at,
    version: 1,
  };
  const sources = c.sources.map((s) => `${s.kind}#${s.id}`);
  return {
    case: c,
    events: [
      {
        type: 'opened',
        note: registered ? `立案：${c.title}` : `立案：${c.title}（当事人未登记，待登记）`,
        data: { status: c.status, sources, ...(registered ? {} : { needsRegistration: true }) },
      },
    ],
    detail: {
      status: c.status,
      sources,
      handlers,
      ...(c.enterpriseId ? { enterpriseId: c.enterpriseId } : { needsRegistration: true }),
    },
  };
}

// ───────────────────────────── changes ─────────────────────────────

/**
 * A later source joins an open case of the same unit (`sourceUnit`: the USCC the source names, undefined when it
 * names none, which the official may attach to any case still open). 409 when the case no longer accepts sources,
 * the units differ, the source is already in this case, or the case holds MAX_SOURCES.
 */
export function attachSourceChange(
  source: { kind: SourceKind; id: string },
  sourceUnit: string | undefined,
  by: string,
): (c: Case, at: string) => CaseChange {
  return (c, at) => {
    if (!acceptsSources(c.status)) {
      throw new ConflictError(
        `case ${c.caseId} is ${c.status} and takes no more sources (案件已作出决定或已结案，不能再关联来源)`,
      );
    }
    // a source naming no unit (a clue, a patrol finding, a tip about an unnamed site) joins on the official's
    // judgment; one naming a unit joins only that unit's case
    if (sourceUnit !== undefined && !(c.enterpriseId && acceptsSourcesFor(c, sourceUnit))) {
      throw new ConflictError(
        `the source concerns unit ${sourceUnit}, not the unit of case ${c.caseId} (来源所涉单位与案件不一致)`,
      );
    }
    if (c.sources.some((s) => s.kind === source.kind && s.id === source.id)) {
      throw new ConflictError(`${source.kind} ${source.id} is already a source of case ${c.caseId} (来源已关联)`);
    }
    if (c.sources.length >= MAX_SOURCES)
      throw new ConflictError(`a case holds at most ${MAX_SOURCES} sources (一个案件最多关联 ${MAX_SOURCES} 个来源)`);
    const added: CaseSource = { kind: source.kind, id: source.id, addedAt: at, addedBy: by };
    return {
      next: { ...c, sources: [...c.sources, added] },
      events: [
        {
          type: 'source_added',
          note: `关联来源：${source.kind} ${source.id}`,
          data: { sourceKind: source.kind, sourceId: source.id },
        },
      ],
      claims: [added],
      detail: { source: `${source.kind}#${source.id}` },
    };
  };
}

/** Names the case team (the caller checked ≥ MIN_HANDLERS distinct). An open case starts its investigation. */
export function assignHandlersChange(team: readonly string[]): (c: Case) => CaseChange {
  return (c) => {
    if (c.status === 'closed') throw new ConflictError(`case ${c.caseId} is closed (案件已结案)`);
    const status: CaseStatus = c.status === 'open' ? 'investigating' : c.status;
    return {
      next: { ...c, handlers: [...team], status },
      events: [
        { type: 'handlers_changed', note: `承办人：${team.join('、')}`, data: { from: c.handlers, to: [...team] } },
        ...(status !== c.status
          ? [{ type: 'status_changed' as const, note: '开始调查', data: { from: c.status, to: status } }]
          : []),
      ],
      detail: { handlers: [...team], ...(status !== c.status ? { status } : {}) },
    };
  };
}

/** The evidence item a change adds (its id is a ULID of the change's instant). */
export const newEvidence = (input: AddEvidenceInput, by: string, at: string): CaseEvidence => ({
  ...input,
  id: ulid(Date.parse(at)),
  addedAt: at,
  addedBy: by,
});

/**
 * Adds a sealed S3 object (with its hash) or a raw-archive span, last in the case's evidence list; not on a closed
 * case, at most MAX_EVIDENCE.
 */
export function addEvidenceChange(input: AddEvidenceInput, by: string): (c: Case, at: string) => CaseChange {
  return (c, at) => {
    if (c.status === 'closed') throw new ConflictError(`case ${c.caseId} is closed (案件已结案)`);
    if (c.evidence.length >= MAX_EVIDENCE) {
      throw new ConflictError(`a case holds at most ${MAX_EVIDENCE} evidence items (证据数量已达上限)`);
    }
    const added = newEvidence(input, by, at);
    const what: TimelineData =
      added.type === 'object'
        ? { evidenceId: added.id, kind: added.kind, key: added.key, sha256: added.sha256 }
        : { evidenceId: added.id, mn: added.mn, from: added.from, to: added.to };
    return {
      next: { ...c, evidence: [...c.evidence, added] },
      events: [{ type: 'evidence_added', note: added.note ?? '添加证据', data: what }],
      detail: what,
    };
  };
}

/**
 * Links a case flagged for registration to the unit now in the registry: the case takes the registry's id, name and
 * township and leaves the registration list (the name it was opened under stays on the timeline). 409 when the case
 * already refers to a registered unit.
 */
export function linkUnitChange(enterprise: { id: string; name: string; townshipId: string }): (c: Case) => CaseChange {
  return (c) => {
    if (!c.needsRegistration || c.enterpriseId) {
      throw new ConflictError(
        `case ${c.caseId} already refers to registered unit ${c.enterpriseId ?? '?'} (案件当事人已是登记单位)`,
      );
    }
    const { needsRegistration: _flag, unitAddress: _address, ...rest } = c;
    return {
      next: { ...rest, enterpriseId: enterprise.id, unitName: enterprise.name, townshipId: enterprise.townshipId },
      events: [
        {
          type: 'unit_linked',
          note: `当事人已登记：${enterprise.name}（${enterprise.id}）`,
          data: { enterpriseId: enterprise.id, from: c.unitName },
        },
      ],
      detail: { enterpriseId: enterprise.id, from: c.unitName },
    };
  };
}

/**
 * Records THE decision (model.ts canDecide: an investigation with a team of two or more; otherwise 409). The case
 * moves to `decided` and leaves its unit's open listing. For a suspected crime, `proposedCrimeItems` is what the
 * platform proposed from the case's facts (crime-thresholds.ts); it is stored with the case and in the decision.
 */
export function decisionChange(
  decision: DecisionBody,
  by: string,
  proposal?: { proposedCrimeItems: CrimeItem[] },
): (c: Case, at: string) => CaseChange {
  return (c, at) => {
    if (!canDecide(c)) {
      throw new ConflictError(
        c.status === 'investigating'
          ? `case ${c.caseId} needs at least ${MIN_HANDLERS} handlers before a decision (须有两名以上承办人)`
          : `case ${c.caseId} is ${c.status}; a decision is recorded on a case under investigation (案件不在调查阶段)`,
      );
    }
    const recorded: CaseDecision = { ...decision, decidedBy: by, decidedAt: at };
    const proposed = proposal?.proposedCrimeItems;
    const events: CaseEventDraft[] = [
      ...(proposed
        ? [
            {
              type: 'crime_items_proposed' as const,
              note: proposed.length > 0 ? '平台比对入罪标准，提出建议' : '平台未发现达到入罪标准的事实',
              data: { items: proposed },
            },
          ]
        : []),
      { type: 'decision_recorded', note: decisionNote(decision), data: decisionData(decision) },
      { type: 'status_changed', note: '已作出决定', data: { from: c.status, to: 'decided' } },
    ];
    return {
      next: { ...c, status: 'decided', decision: recorded, ...(proposed ? { proposedCrimeItems: proposed } : {}) },
      events,
      detail: decisionData(decision),
    };
  };
}

/**
 * A status change the workflows make (decided → transferred → investigating when the police return it, → closed):
 * checked with model.ts canTransition (409 otherwise). Leaving `decided` for `investigating` clears the decision.
 */
export function statusChange(to: CaseStatus, note?: string): (c: Case, at: string) => CaseChange {
  return (c, at) => {
    if (!canTransition(c.status, to)) {
      throw new ConflictError(`case ${c.caseId} cannot go from ${c.status} to ${to} (案件状态不允许此变更)`);
    }
    const { decision: _dropped, ...rest } = c;
    const next: Case = {
      ...(to === 'investigating' ? rest : c),
      status: to,
      ...(to === 'closed' ? { closedAt: at } : {}),
    };
    return {
      next,
      events: [{ type: 'status_changed', ...(note ? { note } : {}), data: { from: c.status, to } }],
      detail: { from: c.status, to, ...(note ? { note } : {}) },
    };
  };
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

// ───────────────────────────── the reward ledger ─────────────────────────────

/** The timeline entry of a claimed reward round. */
export function rewardRoundEntry(round: Pick<RewardRoundRecord, 'round' | 'lines'>): CaseEventDraft {
  const lines: readonly RewardLine[] = round.lines;
  return {
    type: 'reward_step',
    note: `第${round.round}轮举报奖励：${lines.map((l) => l.labelZh).join('、')}`,
    data: {
      event: 'reward_round_claimed',
      round: round.round,
      components: lines.map((l) => l.component),
      totalFen: lines.reduce((t, l) => t + l.amountFen, 0),
    },
  };
}

// ───────────────────────────── workflow tasks ─────────────────────────────

/** The step definition of a task, if the step exists in the flow. */
export function stepDef(workflow: WorkflowName, step: string): StepDef<string, string> | undefined {
  const steps: Record<string, StepDef<string, string> | undefined> = FLOWS[workflow].steps;
  return steps[step];
}

export const stepType = (workflow: WorkflowName): TimelineType =>
  workflow === 'reward' ? 'reward_step' : 'transfer_step';

/** The deadline a task carries (a DeadlineView), when it has a due time. */
export function deadlineOf(task: Omit<WorkflowTask, 'token'>, state: DeadlineView['state']): DeadlineView | undefined {
  if (!task.dueAt) return undefined;
  const def = stepDef(task.workflow, task.step);
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

/** What recording a task adds: the timeline entry (待办) and its open deadline. */
export function taskOpened(task: Omit<WorkflowTask, 'state'>): { entry: CaseEventDraft; deadline?: DeadlineView } {
  const deadline = deadlineOf({ ...task, state: 'open' }, 'open');
  return {
    entry: {
      type: stepType(task.workflow),
      note: `待办：${stepDef(task.workflow, task.step)?.labelZh ?? task.step}${task.calendarAssumed?.length ? `（${calendarAssumedNoteZh(task.calendarAssumed)}）` : ''}`,
      data: { event: 'task_opened', taskId: task.taskId, step: task.step, actors: task.actors },
    },
    ...(deadline ? { deadline } : {}),
  };
}

/** The deadline a task shows its actor (`input.deadline`), from the step's timer; none when the step has no clock. */
export function shownDeadline(timer: StepTimer): Record<string, unknown> | undefined {
  if (!timer.dueAt) return undefined;
  return {
    dueAt: timer.dueAt,
    ...(timer.warnAt ? { warnAt: timer.warnAt } : {}),
    ...(timer.basis ? { basis: timer.basis } : {}),
    ...(timer.labelZh ? { labelZh: timer.labelZh } : {}),
    ...(timer.calendarAssumed
      ? { calendarAssumed: timer.calendarAssumed, calendarNoteZh: calendarAssumedNoteZh(timer.calendarAssumed) }
      : {}),
    escalationLevel: timer.level,
  };
}

/** The outcome as stored: the comment trimmed, dropped when empty. */
export function cleanOutcome(outcome: TaskOutcome): TaskOutcome {
  const comment = outcome.comment?.trim();
  return { action: outcome.action, ...(comment ? { comment } : {}), by: outcome.by };
}

/** The timeline entry of a done task: the step and the action's label in Chinese, with the comment. */
export function taskDoneEntry(
  task: Pick<WorkflowTask, 'taskId' | 'workflow' | 'step'>,
  outcome: TaskOutcome,
): CaseEventDraft {
  const step = stepDef(task.workflow, task.step);
  const label = step?.labelZh ?? task.step;
  const actionLabel = (step?.actions[outcome.action] as { labelZh?: string } | undefined)?.labelZh ?? outcome.action;
  return {
    type: stepType(task.workflow),
    note: `${label}：${actionLabel}${outcome.comment ? `（${outcome.comment}）` : ''}`,
    data: { event: 'task_done', taskId: task.taskId, step: task.step, action: outcome.action },
  };
}

/** The timeline entry of a lapsed task (the workflow escalates). */
export function taskLapsedEntry(task: Pick<WorkflowTask, 'taskId' | 'workflow' | 'step'>): CaseEventDraft {
  return {
    type: stepType(task.workflow),
    note: `${stepDef(task.workflow, task.step)?.labelZh ?? task.step}：已超期，升级处理`,
    data: { event: 'task_lapsed', taskId: task.taskId, step: task.step },
  };
}
