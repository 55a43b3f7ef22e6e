import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { isConditionFailure } from '#shared/adapters/dynamodb.ts';
import type { DynamoTipStore } from '#shared/adapters/tips-store.ts';
import { canTransition } from '#shared/domain/cases/model.ts';
import { seededUlid } from '#shared/domain/cases/timers.ts';
import { ulid } from '#shared/domain/ids.ts';
import { mergedGroup, pendingClaimant } from '#shared/domain/tips/triage.ts';
import type { BureauMessage, CaseTasksDeps, CaseTasksStore, DeadlineWarnings } from './use-case.ts';

/**
 * The I/O of `case-tasks` on top of the cases store: the store's task methods and its timeline (a system step's
 * choice, a workflow's outcome, written with their audit entry), and the bureau topic message of an escalation
 * (Chinese text; attributes for subscription filters, and `dedupeId`, since a retried escalation may publish twice).
 */
export function caseTasksStore(store: DynamoCaseStore): CaseTasksStore {
  return {
    recordTask: (t) => store.recordTask(t),
    lapseTask: (id) => store.lapseTask(id),
    workflowEvent: async (e) => {
      await store.addTimelineEntry(
        e.caseId,
        {
          type: e.workflow === 'reward' ? 'reward_step' : 'transfer_step',
          note: e.note,
          data: { event: 'workflow_step', workflow: e.workflow, step: e.step },
        },
        { by: 'system', at: e.at },
        'case.workflow.step',
      );
    },
    advanceCase: async (caseId, path, note) => {
      const current = await store.get(caseId);
      if (!current) return;
      const at = path.indexOf(current.case.status);
      // already at (or past) the end of the path: nothing to do (a retried Lambda)
      for (const to of at >= 0 ? path.slice(at + 1) : path) {
        if (!canTransition((await store.get(caseId))?.case.status ?? current.case.status, to)) return;
        await store.setStatus(caseId, to, { by: 'system', note });
      }
    },
  };
}

/** The deadline-warning sweep's store side, on the cases store. */
export function deadlineWarnings(store: DynamoCaseStore): DeadlineWarnings {
  return {
    due: (now, limit) => store.deadlineWarningsDue(now, limit),
    claim: (taskId, at) => store.claimDeadlineWarning(taskId, at),
    release: (taskId) => store.releaseDeadlineWarning(taskId),
    note: async (d, text, at) => {
      await store.addTimelineEntry(
        d.caseId,
        {
          type: d.workflow === 'reward' ? 'reward_step' : 'transfer_step',
          note: text,
          data: { event: 'deadline_warning', taskId: d.taskId, step: d.step, dueAt: d.dueAt },
        },
        { by: 'system', at },
        'case.deadline.warning',
      );
    },
  };
}

export function bureauPublisher(sns: SNSClient, topicArn: string): (m: BureauMessage) => Promise<void> {
  return async (m) => {
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: m.subject,
        Message: m.textZh,
        MessageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        ),
      }),
    );
  };
}

/**
 * A message to a tip's reporter (the follow page shows it), with its audit entry, through the tip store. A retried
 * Lambda may post it twice; the text says the same thing both times.
 */
export function reporterMessenger(tips: DynamoTipStore): (tipId: string, text: string) => Promise<void> {
  return async (tipId, text) => {
    const at = new Date().toISOString();
    await tips.addEntry(
      tipId,
      { type: 'message', id: ulid(Date.parse(at)), at, from: 'handler', text },
      { actor: 'system', action: 'tip.message', entity: `tip/${tipId}`, at, detail: { via: 'reward-workflow' } },
    );
  };
}

/**
 * The claim invitation (use-case.ts CLAIM_INVITATION) to the reporter each tip's reward is for, when they may still
 * claim (triage.ts pendingClaimant: the merged group's first valid reporter, anonymous, found true, not claimed). Its entry id is seeded by the step entry and the tip, and written only if absent, so a retried or
 * escalated task posts it once.
 */
export function claimInviter(tips: DynamoTipStore): NonNullable<CaseTasksDeps['inviteClaims']> {
  const read = async (id: string) => (await tips.get(id))?.tip;
  return async (tipIds, text, once) => {
    for (const rootId of tipIds) {
      const root = await read(rootId);
      if (!root) continue;
      const tip = pendingClaimant(await mergedGroup(root, read, 50), root);
      if (!tip) continue;
      const id = seededUlid(Date.parse(once.at), `${once.seed}#claim-invitation#${tip.id}`);
      try {
        await tips.addEntry(
          tip.id,
          { type: 'message', id, at: once.at, from: 'handler', text },
          {
            actor: 'system',
            action: 'tip.message',
            entity: `tip/${tip.id}`,
            at: once.at,
            detail: { via: 'reward-workflow', kind: 'claim_invitation' },
          },
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
  };
}
