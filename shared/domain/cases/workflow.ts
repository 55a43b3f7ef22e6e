import { ConflictError, ForbiddenError, ValidationError } from '#shared/domain/errors.ts';
import { type Role, rolesZh } from '#shared/domain/roles.ts';
import type { DeadlineKind } from './deadlines.ts';

/**
 * A small, data-driven workflow vocabulary shared by the judicial transfer (transfer.ts) and the reward approval
 * (reward-flow.ts). A definition is plain data: steps, who may act on each, the actions allowed and the step each
 * leads to, the statutory deadline of the step. The Step Functions definitions (CDK) are generated from, or checked
 * against, these tables (`stepFunctionsOutline`): one `.waitForTaskToken` task per human step, a Choice on the action,
 * terminal steps as Succeed states.
 *
 * `act` is the pure transition: it refuses an action by the wrong role (403), on a finished workflow or a step that
 * is no longer current (409, a stale task), or without a required comment (400), and changes nothing when it refuses.
 */

/** `case_team`: a handler who is on the case's team; `system`: the workflow itself (timers, computed steps). */
export type Actor = Role | 'case_team' | 'system';

export interface ActionDef<S extends string> {
  next: S;
  labelZh: string;
  /** a rejection, a refusal, a return: the reason is recorded */
  requiresComment?: boolean;
}

export interface StepDef<S extends string, A extends string> {
  labelZh: string;
  actors: readonly Actor[];
  actions: Partial<Record<A, ActionDef<S>>>;
  /** the statutory deadline that runs while the workflow waits here (deadlines.ts) */
  deadline?: DeadlineKind;
  /**
   * when the deadline starts: on every entry, or on the first entry only (the filing decision counts from the police's
   * receipt of the case, not from each return of completed materials)
   */
  clock?: 'entry' | 'first_entry';
  /**
   * a wait with no end in law (the criminal proceedings): the workflow hands it to the periodic follow-up
   * (follow-up.ts) and ends there, so no execution waits on it; its actions lead back to it or to a terminal step
   */
  followUp?: boolean;
  terminal?: boolean;
}

export interface WorkflowDefinition<S extends string, A extends string> {
  name: string;
  start: S;
  steps: Record<S, StepDef<S, A>>;
}

export interface HistoryEntry<S extends string, A extends string> {
  at: string;
  step: S;
  action: A;
  by: string;
  next: S;
  comment?: string;
}

export interface WorkflowState<S extends string, A extends string> {
  step: S;
  enteredAt: string;
  /** first entry into each step, for `first_entry` clocks */
  firstEntered: Partial<Record<S, string>>;
  history: HistoryEntry<S, A>[];
}

export interface ActingOfficial {
  sub: string;
  roles: readonly Role[];
}

/** The workflow itself acting on a `system` step (a Choice state in Step Functions); never an official's token. */
/** Roles that act on workflow tasks (the steps' actors; `case_team` = a handler on the case). */
export const TASK_ROLES: readonly Role[] = [
  'handler',
  'section_chief',
  'bureau_head',
  'reward_post',
  'police_liaison',
  'procuratorate_liaison',
];

export const SYSTEM_ACTOR: ActingOfficial = { sub: 'system', roles: [] };

export function startWorkflow<S extends string, A extends string>(
  def: WorkflowDefinition<S, A>,
  at: string,
): WorkflowState<S, A> {
  return {
    step: def.start,
    enteredAt: at,
    firstEntered: { [def.start]: at } as Partial<Record<S, string>>,
    history: [],
  };
}

/** Whether `who` may act on `step` (case team: a handler named on the case). */
export function mayAct(step: StepDef<string, string>, who: ActingOfficial, caseTeam: readonly string[]): boolean {
  return step.actors.some((actor) =>
    actor === 'case_team'
      ? who.roles.includes('handler') && caseTeam.includes(who.sub)
      : actor === 'system'
        ? who.sub === SYSTEM_ACTOR.sub
        : who.roles.includes(actor),
  );
}

/** The actions `who` may take now (for the "tasks waiting for me" list). */
export function allowedActions<S extends string, A extends string>(
  def: WorkflowDefinition<S, A>,
  state: WorkflowState<S, A>,
  who: ActingOfficial,
  caseTeam: readonly string[],
): A[] {
  const step = def.steps[state.step];
  if (step.terminal || !mayAct(step, who, caseTeam)) return [];
  return Object.keys(step.actions) as A[];
}

export interface ActInput<S extends string, A extends string> {
  /** the step the caller believes is current (from its task): a stale task is refused */
  step: S;
  action: A;
  who: ActingOfficial;
  caseTeam: readonly string[];
  at: string;
  comment?: string;
}

/** THE TRANSITION: validated, pure; returns the next state with the action appended to the history. */
export function act<S extends string, A extends string>(
  def: WorkflowDefinition<S, A>,
  state: WorkflowState<S, A>,
  input: ActInput<S, A>,
): WorkflowState<S, A> {
  const current = def.steps[state.step];
  if (current.terminal) {
    throw new ConflictError(`the ${def.name} workflow has finished at ${state.step} (流程已结束)`);
  }
  if (input.step !== state.step) {
    throw new ConflictError(
      `task for step ${input.step} is no longer current; the workflow is at ${state.step} (任务已处理或已过期)`,
    );
  }
  const action = current.actions[input.action];
  if (!action) {
    throw new ValidationError(`action ${input.action} is not allowed at ${state.step}`, [
      {
        field: 'body.action',
        message: `allowed: ${Object.keys(current.actions).join(', ')}`,
        messageZh: `当前环节只允许：${Object.keys(current.actions).join('、')}`,
      },
    ]);
  }
  if (!mayAct(current, input.who, input.caseTeam)) {
    throw new ForbiddenError(
      `step ${state.step} is for ${current.actors.join(' or ')} (当前环节“${current.labelZh}”须由${rolesZh(current.actors, '或')}办理)`,
    );
  }
  const comment = input.comment?.trim();
  if (action.requiresComment && !comment) {
    throw new ValidationError(`${input.action} needs a comment giving the reasons`, [
      { field: 'body.comment', message: 'a comment is required', messageZh: '请填写理由' },
    ]);
  }
  const entry: HistoryEntry<S, A> = {
    at: input.at,
    step: state.step,
    action: input.action,
    by: input.who.sub,
    next: action.next,
    ...(comment ? { comment } : {}),
  };
  const firstEntered = { ...state.firstEntered };
  if (firstEntered[action.next] === undefined) firstEntered[action.next] = input.at;
  return { step: action.next, enteredAt: input.at, firstEntered, history: [...state.history, entry] };
}

/** When the current step's deadline clock started, if the step has a deadline. */
export function clockStart<S extends string, A extends string>(
  def: WorkflowDefinition<S, A>,
  state: WorkflowState<S, A>,
): string | undefined {
  const step = def.steps[state.step];
  if (!step.deadline) return undefined;
  return step.clock === 'first_entry' ? (state.firstEntered[state.step] ?? state.enteredAt) : state.enteredAt;
}

/** Structural problems of a definition (empty when sound): unknown next steps, unreachable steps, dead ends. */
export function checkDefinition<S extends string, A extends string>(def: WorkflowDefinition<S, A>): string[] {
  const problems: string[] = [];
  const names = Object.keys(def.steps) as S[];
  const reached = new Set<S>([def.start]);
  const queue: S[] = [def.start];
  while (queue.length > 0) {
    const s = queue.shift() as S;
    for (const a of Object.values(def.steps[s].actions) as ActionDef<S>[]) {
      if (!(a.next in def.steps)) problems.push(`${s}: next step ${a.next} does not exist`);
      else if (!reached.has(a.next)) {
        reached.add(a.next);
        queue.push(a.next);
      }
    }
  }
  for (const s of names) {
    const step = def.steps[s];
    const count = Object.keys(step.actions).length;
    if (!reached.has(s)) problems.push(`${s}: unreachable`);
    if (step.terminal && count > 0) problems.push(`${s}: terminal step with actions`);
    if (!step.terminal && count === 0) problems.push(`${s}: dead end (no actions, not terminal)`);
    if (!step.terminal && step.actors.length === 0) problems.push(`${s}: nobody may act`);
    if (step.followUp) {
      for (const a of Object.values(step.actions) as ActionDef<S>[]) {
        const next = def.steps[a.next];
        if (next && a.next !== s && !next.terminal) problems.push(`${s}: a followed-up step may only end or stay`);
      }
    }
  }
  return problems;
}

/**
 * The outline a Step Functions definition must match: per step, a task (waitForTaskToken), a Succeed state, or the
 * hand-over of a followed-up step (`FollowUp`: the execution records the follow-up and ends), the roles named in the
 * task input, the Choice branches by action, and the timer (deadline kind) for the escalation. The CDK builder maps
 * this 1:1; an infra test compares the synthesized template with it.
 */
export function stepFunctionsOutline<S extends string, A extends string>(def: WorkflowDefinition<S, A>) {
  return (Object.keys(def.steps) as S[]).map((name) => {
    const step = def.steps[name];
    return {
      state: name,
      type: step.terminal
        ? ('Succeed' as const)
        : step.followUp
          ? ('FollowUp' as const)
          : step.actors.includes('system')
            ? ('Choice' as const)
            : ('Task.waitForTaskToken' as const),
      actors: [...step.actors],
      choices: Object.fromEntries(
        (Object.entries(step.actions) as [A, ActionDef<S>][]).map(([action, a]) => [action, a.next]),
      ) as Partial<Record<A, S>>,
      ...(step.deadline ? { deadline: step.deadline } : {}),
    };
  });
}
