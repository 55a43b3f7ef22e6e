import type { RewardResult } from './reward.ts';
import {
  type ActInput,
  act,
  SYSTEM_ACTOR,
  startWorkflow,
  type WorkflowDefinition,
  type WorkflowState,
} from './workflow.ts';

/**
 * The reward approval (举报奖励审批) as a pure, data-driven state machine; the Step Functions standard workflow mirrors
 * REWARD_FLOW (workflow.ts stepFunctionsOutline). One run per reward ROUND: the first round starts when a penalty
 * with a fine is recorded on a case that came from a tip; each later outcome (detention, arrest, conviction, a special
 * amount, a bounty) starts another round that pays only the components not yet granted (reward.ts rewardDelta).
 *
 *   eligibility (reward post: first valid reporter, exclusions, identity verified through the vault — logged)
 *     ├ confirm_eligible ─► amount (system: rewardDelta) ─┬ amount_payable ─► handler_approval
 *     │                                                  └ nothing_payable ─► no_reward
 *     └ ineligible ─► no_reward (reasons recorded)
 *   handler_approval ─► section_chief_approval ─► bureau_head_approval ─► government_route (system)
 *     government_route ├ needs_government ─► county_government_approval (reward post records the county's approval)
 *                      └ no_government ─► payment
 *   payment (reward post records the payment: reference, date; the component ledger is written in the same transaction)
 *     └ paid ─► commendation_route (system) ├ consented ─► commendation (reward post records it) ─► done
 *                                           └ no_consent ─► done
 *   Any approval can be rejected with reasons ─► rejected. Commendation is public only with the reporter's consent
 *   (an anonymous reporter cannot consent: tips/model.ts).
 */

export const REWARD_STEPS = [
  'eligibility',
  'amount',
  'handler_approval',
  'section_chief_approval',
  'bureau_head_approval',
  'government_route',
  'county_government_approval',
  'payment',
  'commendation_route',
  'commendation',
  'done',
  'no_reward',
  'rejected',
] as const;
export type RewardStep = (typeof REWARD_STEPS)[number];

export type RewardAction =
  | 'confirm_eligible'
  | 'ineligible'
  | 'amount_payable'
  | 'nothing_payable'
  | 'approve'
  | 'reject'
  | 'needs_government'
  | 'no_government'
  | 'record_government_approval'
  | 'paid'
  | 'consented'
  | 'no_consent'
  | 'commended';

const approval = (labelZh: string, next: RewardStep) => ({
  approve: { next, labelZh: `${labelZh}同意` },
  reject: { next: 'rejected' as const, labelZh: `${labelZh}不同意`, requiresComment: true },
});

export const REWARD_FLOW: WorkflowDefinition<RewardStep, RewardAction> = {
  name: 'reward-approval',
  start: 'eligibility',
  steps: {
    eligibility: {
      labelZh: '奖励资格审核',
      actors: ['reward_post'],
      actions: {
        confirm_eligible: { next: 'amount', labelZh: '符合奖励条件' },
        ineligible: { next: 'no_reward', labelZh: '不符合奖励条件', requiresComment: true },
      },
    },
    amount: {
      labelZh: '计算奖励金额',
      actors: ['system'],
      actions: {
        amount_payable: { next: 'handler_approval', labelZh: '有应发奖励' },
        nothing_payable: { next: 'no_reward', labelZh: '无新增奖励' },
      },
    },
    handler_approval: {
      labelZh: '承办人审核',
      actors: ['case_team'],
      actions: approval('承办人', 'section_chief_approval'),
    },
    section_chief_approval: {
      labelZh: '科室负责人审核',
      actors: ['section_chief'],
      actions: approval('科室负责人', 'bureau_head_approval'),
    },
    bureau_head_approval: {
      labelZh: '局领导审批',
      actors: ['bureau_head'],
      actions: approval('局领导', 'government_route'),
    },
    government_route: {
      labelZh: '是否报县政府批准',
      actors: ['system'],
      actions: {
        needs_government: { next: 'county_government_approval', labelZh: '特别重大奖励或悬赏，报县政府' },
        no_government: { next: 'payment', labelZh: '无需县政府批准' },
      },
    },
    county_government_approval: {
      labelZh: '县政府批准（奖励岗登记批准文件）',
      actors: ['reward_post'],
      actions: {
        record_government_approval: { next: 'payment', labelZh: '已登记县政府批准文件', requiresComment: true },
        reject: { next: 'rejected', labelZh: '县政府未批准', requiresComment: true },
      },
    },
    payment: {
      labelZh: '发放奖励',
      actors: ['reward_post'],
      actions: { paid: { next: 'commendation_route', labelZh: '已发放', requiresComment: true } },
    },
    commendation_route: {
      labelZh: '是否公开表彰',
      actors: ['system'],
      actions: {
        consented: { next: 'commendation', labelZh: '举报人同意公开表彰' },
        no_consent: { next: 'done', labelZh: '不公开表彰' },
      },
    },
    commendation: {
      labelZh: '公开表彰',
      actors: ['reward_post'],
      actions: { commended: { next: 'done', labelZh: '已表彰' } },
    },
    done: { labelZh: '奖励已办结', actors: [], actions: {}, terminal: true },
    no_reward: { labelZh: '不予奖励', actors: [], actions: {}, terminal: true },
    rejected: { labelZh: '审批未通过', actors: [], actions: {}, terminal: true },
  },
};

export type RewardFlowState = WorkflowState<RewardStep, RewardAction>;

export const startRewardFlow = (at: string): RewardFlowState => startWorkflow(REWARD_FLOW, at);

export function rewardAct(state: RewardFlowState, input: ActInput<RewardStep, RewardAction>): RewardFlowState {
  return act(REWARD_FLOW, state, input);
}

/** What the workflow decides by itself at a `system` step, from the round's amount and the reporter's consent. */
export function systemChoice(
  step: RewardStep,
  ctx: { round: Pick<RewardResult, 'totalFen' | 'approvals'>; commendationConsent: boolean },
): RewardAction {
  switch (step) {
    case 'amount':
      return ctx.round.totalFen > 0 ? 'amount_payable' : 'nothing_payable';
    case 'government_route':
      return ctx.round.approvals.some((a) => a.step === 'county_government') ? 'needs_government' : 'no_government';
    case 'commendation_route':
      return ctx.commendationConsent ? 'consented' : 'no_consent';
    default:
      throw new Error(`${step} is not a system step`);
  }
}

/** Runs the system step the workflow stands at (no-op elsewhere): what the Choice state does. */
export function advanceSystem(
  state: RewardFlowState,
  ctx: Parameters<typeof systemChoice>[1],
  at: string,
): RewardFlowState {
  const step = REWARD_FLOW.steps[state.step];
  if (!step.actors.includes('system')) return state;
  const action = systemChoice(state.step, ctx);
  return rewardAct(state, { step: state.step, action, who: SYSTEM_ACTOR, caseTeam: [], at });
}
