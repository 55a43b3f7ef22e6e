import { statusChange, stepType } from './changes.ts';
import { type CaseStatus, canTransition } from './model.ts';
import type { CaseStore, WorkflowName } from './ports.ts';
import { stepOf } from './timers.ts';

/**
 * Where a workflow's steps and ends leave the case, shared by the workflows' Lambda (workflow-tasks.ts: a terminal
 * state) and the periodic follow-up (follow-up.ts: a liaison's conviction or return after the execution ended).
 */

export type OutcomeStore = Pick<CaseStore, 'get' | 'change' | 'addTimelineEntry'>;

/**
 * How the judicial transfer moves its case: the police's receipt means the case was handed over (transferred); a
 * conviction or other end of the criminal proceedings closes it; a return sends it back to the bureau to investigate
 * for an administrative penalty. A transfer the head refused leaves the case decided (the bureau acts on its own).
 */
export const TRANSFER_CASE_STATUS: Readonly<Record<string, readonly CaseStatus[]>> = {
  police_receipt: ['transferred'],
  concluded: ['transferred', 'closed'],
  returned: ['transferred', 'investigating'],
};

/** A workflow event on the case timeline (by `system`), with its audit entry. */
export const workflowEvent = (
  store: OutcomeStore,
  e: { caseId: string; workflow: WorkflowName; step: string; note: string },
  at: string,
) =>
  store.addTimelineEntry(
    e.caseId,
    { type: stepType(e.workflow), note: e.note, data: { event: 'workflow_step', workflow: e.workflow, step: e.step } },
    { by: 'system', at },
    'case.workflow.step',
  );

/**
 * Moves the case along `path` (e.g. decided → transferred → closed) from wherever it is: steps it has already
 * passed are skipped, so a retried call changes nothing; a step the lifecycle does not allow from where the case
 * stands ends the walk (model.ts canTransition). Each change is audited by the store.
 */
export async function advanceCase(
  store: OutcomeStore,
  caseId: string,
  path: readonly CaseStatus[],
  note: string,
): Promise<void> {
  const current = await store.get(caseId);
  if (!current) return;
  const at = path.indexOf(current.case.status);
  let status = current.case.status;
  for (const to of at >= 0 ? path.slice(at + 1) : path) {
    if (!canTransition(status, to)) return;
    status = (await store.change(caseId, undefined, { by: 'system' }, 'case.status', statusChange(to, note))).case
      .status;
  }
}

/** A workflow reached its terminal `step`: the end on the case timeline, the case moved along TRANSFER_CASE_STATUS. */
export async function recordOutcome(
  store: OutcomeStore,
  e: { caseId: string; workflow: WorkflowName; step: string },
  at: string,
): Promise<void> {
  const label = stepOf(e.workflow, e.step).labelZh;
  await workflowEvent(store, { ...e, note: `流程结束：${label}` }, at);
  const path = e.workflow === 'transfer' ? TRANSFER_CASE_STATUS[e.step] : undefined;
  if (path) await advanceCase(store, e.caseId, path, label);
}
