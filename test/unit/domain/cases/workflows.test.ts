import { describe, expect, it } from 'vitest';
import type { VerifyReport } from '#shared/domain/archive/verify.ts';
import type { CaseEvidence } from '#shared/domain/cases/model.ts';
import { computeReward } from '#shared/domain/cases/reward.ts';
import {
  advanceSystem,
  REWARD_FLOW,
  type RewardFlowState,
  rewardAct,
  startRewardFlow,
} from '#shared/domain/cases/reward-flow.ts';
import {
  buildTransferPackage,
  currentTransferDeadline,
  OUTCOME_REWARD,
  startTransfer,
  TRANSFER_FLOW,
  type TransferAction,
  type TransferState,
  type TransferStep,
  transferAct,
} from '#shared/domain/cases/transfer.ts';
import {
  type ActingOfficial,
  allowedActions,
  checkDefinition,
  stepFunctionsOutline,
} from '#shared/domain/cases/workflow.ts';
import { ConflictError, ForbiddenError, ValidationError } from '#shared/domain/errors.ts';

/**
 * The two workflows as pure state machines: a lead-exceedance case at the Qingyuan pencil factory transferred to the
 * county public security bureau, and the reward of the citizen who reported it.
 */
const li: ActingOfficial = { sub: 'u-li', roles: ['handler'] };
const zhang: ActingOfficial = { sub: 'u-zhang', roles: ['handler'] };
const outsider: ActingOfficial = { sub: 'u-wu', roles: ['handler'] };
const head: ActingOfficial = { sub: 'u-head', roles: ['bureau_head'] };
const chief: ActingOfficial = { sub: 'u-chief', roles: ['section_chief'] };
const police: ActingOfficial = { sub: 'u-police', roles: ['police_liaison'] };
const procurator: ActingOfficial = { sub: 'u-proc', roles: ['procuratorate_liaison'] };
const rewardPost: ActingOfficial = { sub: 'u-reward', roles: ['reward_post'] };
const team = ['u-li', 'u-zhang'];

const crimeCase = {
  caseId: '01KP7QC0000000000000000001',
  handlers: team,
  decision: {
    type: 'suspected_crime' as const,
    proposedItems: [{ item: 'item3' as const, reference: '法释〔2023〕7号 第一条第（三）项' }],
    confirmedItems: [
      { item: 'item3' as const, facts: '总铅3.6倍', confirmedBy: 'u-li', confirmedAt: '2026-09-28T09:00:00+08:00' },
    ],
    decidedBy: 'u-li',
    decidedAt: '2026-09-28T09:00:00+08:00',
  },
};

/** runs a list of [step, action, who, at, comment?] through the transfer */
function run(state: TransferState, moves: [TransferStep, TransferAction, ActingOfficial, string, string?][]) {
  return moves.reduce(
    (s, [step, action, who, at, comment]) =>
      transferAct(s, { step, action, who, caseTeam: team, at, ...(comment ? { comment } : {}) }),
    state,
  );
}

describe('workflow definitions', () => {
  it('are sound: every next step exists, every step reachable, no dead ends', () => {
    expect(checkDefinition(TRANSFER_FLOW)).toEqual([]);
    expect(checkDefinition(REWARD_FLOW)).toEqual([]);
  });

  it('give the Step Functions outline: tasks, choices and timers', () => {
    const outline = stepFunctionsOutline(TRANSFER_FLOW);
    expect(outline.find((s) => s.state === 'head_decision')).toEqual({
      state: 'head_decision',
      type: 'Task.waitForTaskToken',
      actors: ['bureau_head'],
      choices: { approve: 'handover', reject: 'not_transferred' },
      deadline: 'head_decision',
    });
    expect(outline.find((s) => s.state === 'concluded')?.type).toBe('Succeed');
    expect(stepFunctionsOutline(REWARD_FLOW).find((s) => s.state === 'government_route')?.type).toBe('Choice');
  });
});

describe('judicial transfer', () => {
  it('refuses to start without a suspected-crime decision or with one officer', () => {
    expect(() => startTransfer({ ...crimeCase, handlers: ['u-li'] }, '2026-09-28T10:00:00+08:00')).toThrow(
      ConflictError,
    );
    const { decision: _d, ...noDecision } = crimeCase;
    expect(() => startTransfer(noDecision, '2026-09-28T10:00:00+08:00')).toThrow(ConflictError);
  });

  it('goes from the report to filing and the conviction, with the deadline of each step', () => {
    let s = startTransfer(crimeCase, '2026-09-28T10:00:00+08:00');
    expect(currentTransferDeadline(s)).toBeUndefined(); // drafting has no statutory clock
    s = run(s, [['report_drafting', 'submit_report', li, '2026-09-28T16:00:00+08:00']]);
    expect(currentTransferDeadline(s)?.dueDate).toBe('2026-10-08'); // 3 days → Oct 1, holiday → Oct 8
    s = run(s, [['head_decision', 'approve', head, '2026-09-29T09:00:00+08:00']]);
    expect(currentTransferDeadline(s)?.dueAt).toBe('2026-09-30T01:00:00.000Z'); // exactly 24 h
    s = run(s, [
      ['handover', 'hand_over', zhang, '2026-09-29T15:00:00+08:00'],
      ['police_receipt', 'acknowledge', police, '2026-09-29T16:00:00+08:00'],
    ]);
    expect(currentTransferDeadline(s)?.dueDate).toBe('2026-10-08'); // filing: 3 days from receipt, rolled
    s = run(s, [
      ['police_review', 'file', police, '2026-10-08T10:00:00+08:00'],
      ['items_handover', 'hand_over_items', li, '2026-10-09T10:00:00+08:00'],
      ['criminal_proceedings', 'record_arrest_approved', procurator, '2026-10-20T10:00:00+08:00'],
      ['criminal_proceedings', 'record_conviction', procurator, '2027-01-15T10:00:00+08:00'],
    ]);
    expect(s.step).toBe('concluded');
    expect(s.history.map((h) => h.action)).toContain('record_arrest_approved');
    expect(OUTCOME_REWARD.record_arrest_approved).toBe('arrest');
  });

  it('keeps the filing clock from the receipt across a request for materials, and extends it to 30 days', () => {
    let s = run(startTransfer(crimeCase, '2026-03-02T09:00:00+08:00'), [
      ['report_drafting', 'submit_report', li, '2026-03-02T10:00:00+08:00'],
      ['head_decision', 'approve', head, '2026-03-03T10:00:00+08:00'],
      ['handover', 'hand_over', li, '2026-03-03T15:00:00+08:00'],
      ['police_receipt', 'acknowledge', police, '2026-03-03T16:00:00+08:00'],
      ['police_review', 'request_materials', police, '2026-03-04T09:00:00+08:00', '缺少采样记录单'],
    ]);
    expect(currentTransferDeadline(s)?.dueDate).toBe('2026-03-09'); // materials: 3 days = Sat Mar 7, rolled to Mon
    expect(currentTransferDeadline(s)?.rolledOverFrom).toBe('2026-03-07');
    s = run(s, [['materials_completion', 'submit_materials', zhang, '2026-03-05T09:00:00+08:00']]);
    expect(currentTransferDeadline(s)?.startedAt).toBe('2026-03-03T08:00:00.000Z'); // from the receipt
    s = run(s, [
      ['police_review', 'extend_complex', police, '2026-03-05T11:00:00+08:00', '涉及跨区域危废倾倒，案情复杂'],
    ]);
    expect(currentTransferDeadline(s)).toMatchObject({ amount: 30, dueDate: '2026-04-02' });
  });

  it('takes a refusal through reconsideration (working days) and procuratorial supervision to filing', () => {
    let s = run(startTransfer(crimeCase, '2026-02-09T09:00:00+08:00'), [
      ['report_drafting', 'submit_report', li, '2026-02-09T10:00:00+08:00'],
      ['head_decision', 'approve', head, '2026-02-10T10:00:00+08:00'],
      ['handover', 'hand_over', li, '2026-02-10T15:00:00+08:00'],
      ['police_receipt', 'acknowledge', police, '2026-02-10T16:00:00+08:00'],
      ['police_review', 'refuse_filing', police, '2026-02-13T10:00:00+08:00', '现有证据不足以证明达到入罪标准'],
    ]);
    expect(currentTransferDeadline(s)).toMatchObject({ counting: 'working_days', dueDate: '2026-02-25' });
    s = run(s, [['refusal_response', 'request_reconsideration', zhang, '2026-02-24T09:00:00+08:00']]);
    expect(currentTransferDeadline(s)?.dueDate).toBe('2026-02-27');
    s = run(s, [
      ['reconsideration', 'uphold_refusal', police, '2026-02-27T09:00:00+08:00', '维持原决定'],
      ['supervision_option', 'request_supervision', li, '2026-02-28T09:00:00+08:00'],
      ['procuratorate_supervision', 'order_filing', procurator, '2026-03-10T09:00:00+08:00'],
    ]);
    expect(s.step).toBe('items_handover');
  });

  it('ends in not_transferred when the head refuses with reasons, and in returned when sent back', () => {
    const drafted = run(startTransfer(crimeCase, '2026-03-02T09:00:00+08:00'), [
      ['report_drafting', 'submit_report', li, '2026-03-02T10:00:00+08:00'],
    ]);
    expect(run(drafted, [['head_decision', 'reject', head, '2026-03-03T10:00:00+08:00', '证据不足']]).step).toBe(
      'not_transferred',
    );
    const filed = run(drafted, [
      ['head_decision', 'approve', head, '2026-03-03T10:00:00+08:00'],
      ['handover', 'hand_over', li, '2026-03-03T15:00:00+08:00'],
      ['police_receipt', 'acknowledge', police, '2026-03-03T16:00:00+08:00'],
      ['police_review', 'file', police, '2026-03-05T16:00:00+08:00'],
      ['items_handover', 'hand_over_items', li, '2026-03-06T16:00:00+08:00'],
      ['criminal_proceedings', 'return_for_penalty', procurator, '2026-06-01T16:00:00+08:00', '情节轻微，不起诉'],
    ]);
    expect(filed.step).toBe('returned');
  });

  it('refuses the wrong role, a handler off the team, a stale task, missing reasons, and a finished flow', () => {
    const s = run(startTransfer(crimeCase, '2026-03-02T09:00:00+08:00'), [
      ['report_drafting', 'submit_report', li, '2026-03-02T10:00:00+08:00'],
    ]);
    const at = '2026-03-03T10:00:00+08:00';
    expect(() => run(s, [['head_decision', 'approve', chief, at]])).toThrow(ForbiddenError);
    expect(() => run(s, [['head_decision', 'reject', head, at]])).toThrow(ValidationError); // no reasons
    expect(() => run(s, [['report_drafting', 'submit_report', li, at]])).toThrow(ConflictError); // stale
    const draft = startTransfer(crimeCase, at);
    expect(() => run(draft, [['report_drafting', 'submit_report', outsider, at]])).toThrow(ForbiddenError);
    const ended = run(s, [['head_decision', 'reject', head, at, '证据不足']]);
    expect(() => run(ended, [['not_transferred', 'approve', head, at]])).toThrow(ConflictError);
    expect(s.history).toHaveLength(1); // refusals changed nothing
  });

  it('lists the actions waiting for each official', () => {
    const s = run(startTransfer(crimeCase, '2026-03-02T09:00:00+08:00'), [
      ['report_drafting', 'submit_report', li, '2026-03-02T10:00:00+08:00'],
    ]);
    expect(allowedActions(TRANSFER_FLOW, s, head, team)).toEqual(['approve', 'reject']);
    expect(allowedActions(TRANSFER_FLOW, s, police, team)).toEqual([]);
  });
});

describe('transfer package', () => {
  const sha = (c: string) => c.repeat(64);
  const ev = (id: string, kind: 'photo' | 'lab_report' | 'document' | 'inspection_record'): CaseEvidence => ({
    type: 'object',
    id,
    kind,
    key: `cases/01KP7QC0000000000000000001/${id}`,
    sha256: sha(id.slice(-1).toLowerCase()),
    addedAt: '2026-04-15T09:00:00+08:00',
    addedBy: 'u-li',
  });
  const evidence: CaseEvidence[] = [
    ev('01KP7QE000000000000000000A', 'photo'),
    ev('01KP7QE000000000000000000B', 'lab_report'),
    ev('01KP7QE000000000000000000C', 'document'),
    ev('01KP7QE000000000000000000D', 'document'),
    ev('01KP7QE000000000000000000E', 'inspection_record'),
    {
      type: 'raw_archive',
      id: '01KP7QE000000000000000000F',
      mn: '88888880000003',
      from: '2026-04-14T00:00:00+08:00',
      to: '2026-04-14T23:59:59+08:00',
      addedAt: '2026-04-15T09:00:00+08:00',
      addedBy: 'u-li',
    },
  ];
  const verified: VerifyReport = {
    chain: 'd#88888880000003',
    from: '2026-04-14',
    to: '2026-04-14',
    ok: true,
    records: 1440,
    breaks: [],
  };
  const input = {
    case: { caseId: '01KP7QC0000000000000000001', unitName: '庆元县示例铅笔制造有限公司', evidence },
    documents: {
      transfer_letter: ['01KP7QE000000000000000000C'],
      investigation_report: ['01KP7QE000000000000000000D'],
      inspection_records: ['01KP7QE000000000000000000E'],
    },
    seized: false,
    penalised: false,
    archiveVerification: [verified],
    builtAt: '2026-04-16T09:00:00+08:00',
  };

  it('lists materials, the evidence with hashes and the archive verification, and is complete', () => {
    const pkg = buildTransferPackage(input);
    expect(pkg.missing).toEqual([]);
    expect(pkg.complete).toBe(true);
    expect(pkg.evidenceManifest).toHaveLength(5);
    expect(pkg.evidenceManifest[1]).toMatchObject({ kind: 'lab_report', sha256: sha('b') });
    expect(pkg.materials.find((m) => m.material === 'monitoring_reports')?.evidenceIds).toEqual([
      '01KP7QE000000000000000000B',
    ]);
    expect(pkg.materials.find((m) => m.material === 'audiovisual_list')).toMatchObject({
      required: true,
      present: true,
    });
    expect(pkg.rawArchive).toEqual([
      { mn: '88888880000003', from: '2026-04-14T00:00:00+08:00', to: '2026-04-14T23:59:59+08:00' },
    ]);
    expect(pkg.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(buildTransferPackage(input).manifestSha256).toBe(pkg.manifestSha256);
  });

  it('says what is missing: the letter, the penalty decision, a failed archive check', () => {
    const pkg = buildTransferPackage({
      ...input,
      documents: { ...input.documents, transfer_letter: [] },
      penalised: true,
      archiveVerification: [{ ...verified, ok: false, breaks: [{ kind: 'deleted', seq: 812, message: 'gap' }] }],
    });
    expect(pkg.complete).toBe(false);
    expect(pkg.missing).toEqual([
      '缺少：涉嫌犯罪案件移送书',
      '缺少：行政处罚决定书',
      '原始数据存档校验未通过：d#88888880000003（2026-04-14至2026-04-14）',
    ]);
  });

  it('ignores document ids that are not evidence of the case', () => {
    const pkg = buildTransferPackage({ ...input, documents: { ...input.documents, transfer_letter: ['forged'] } });
    expect(pkg.materials.find((m) => m.material === 'transfer_letter')?.present).toBe(false);
  });
});

describe('reward approval flow', () => {
  const reporter = {
    firstValidReporter: true,
    kind: 'real_name' as const,
    identityVerified: true,
    supervisoryStaff: false,
    closeRelativeOfStaff: false,
    declined: false,
  };
  const clue = {
    alreadyKnown: false,
    underInvestigation: false,
    alreadyOrderedToCorrect: false,
    untrue: false,
    malicious: false,
  };
  const step = (
    s: RewardFlowState,
    action: Parameters<typeof rewardAct>[1]['action'],
    who: ActingOfficial,
    comment?: string,
  ) =>
    rewardAct(s, {
      step: s.step,
      action,
      who,
      caseTeam: team,
      at: '2026-05-21T10:00:00+08:00',
      ...(comment ? { comment } : {}),
    });

  it('takes a penalty reward through the three approvals to payment without commendation', () => {
    const round = computeReward({
      reporter,
      clue,
      decisions: { penalty: { decisionNumber: '庆环罚〔2026〕8号', fineFen: 30_000_000 } },
    });
    const ctx = { round, commendationConsent: false };
    let s = step(startRewardFlow('2026-05-21T09:00:00+08:00'), 'confirm_eligible', rewardPost);
    s = advanceSystem(s, ctx, '2026-05-21T09:01:00+08:00');
    expect(s.step).toBe('handler_approval');
    s = step(step(step(s, 'approve', li), 'approve', chief), 'approve', head);
    s = advanceSystem(s, ctx, '2026-05-21T11:00:00+08:00');
    expect(s.step).toBe('payment');
    s = advanceSystem(
      step(s, 'paid', rewardPost, '财政国库集中支付 凭证2026-0521-07'),
      ctx,
      '2026-05-22T10:00:00+08:00',
    );
    expect(s.step).toBe('done');
  });

  it('routes a special amount to the county government and commends only with consent', () => {
    const round = computeReward({
      reporter,
      clue,
      decisions: { special: { approvedFen: 30_000_000, approvalReference: '庆政办〔2026〕12号' } },
    });
    const ctx = { round, commendationConsent: true };
    let s = advanceSystem(step(startRewardFlow('2026-05-21T09:00:00+08:00'), 'confirm_eligible', rewardPost), ctx, 'x');
    s = advanceSystem(step(step(step(s, 'approve', zhang), 'approve', chief), 'approve', head), ctx, 'x');
    expect(s.step).toBe('county_government_approval');
    s = step(s, 'record_government_approval', rewardPost, '庆政办〔2026〕12号');
    s = advanceSystem(step(s, 'paid', rewardPost, '凭证2026-0601-02'), ctx, 'x');
    expect(s.step).toBe('commendation');
  });

  it('ends without reward when nothing is payable, and on a rejection with reasons', () => {
    const nothing = { round: { totalFen: 0, approvals: [] }, commendationConsent: false };
    const s = advanceSystem(step(startRewardFlow('t'), 'confirm_eligible', rewardPost), nothing, 't');
    expect(s.step).toBe('no_reward');
    const round = computeReward({ reporter, clue, decisions: { conviction: { reference: '（2026）浙1126刑初45号' } } });
    const pending = advanceSystem(
      step(startRewardFlow('t'), 'confirm_eligible', rewardPost),
      { round, commendationConsent: false },
      't',
    );
    expect(() => step(pending, 'reject', li)).toThrow(ValidationError);
    expect(() => step(pending, 'approve', outsider)).toThrow(ForbiddenError);
    expect(() => step(pending, 'approve', chief)).toThrow(ForbiddenError);
    expect(step(pending, 'reject', li, '判决尚未生效').step).toBe('rejected');
  });

  it('does not let an official act on a system step', () => {
    const s = step(startRewardFlow('t'), 'confirm_eligible', rewardPost);
    expect(() => step(s, 'amount_payable', rewardPost)).toThrow(ForbiddenError);
  });
});
