import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { cleanOutcome, openedCase, taskDoneEntry, taskOpened } from '#shared/domain/cases/changes.ts';
import { computeDeadline } from '#shared/domain/cases/deadlines.ts';
import type { TaskView } from '#shared/domain/cases/ports.ts';
import { ulid } from '#shared/domain/ids.ts';
import { eventually, localClientConfig, realAppAssembly, tempDir } from './helpers.ts';

/**
 * Both case workflows, taken from the synthesized app, on the local platform with waits divided by TIME_SCALE (a
 * 24-hour hand-over lapses in ~4 s, a 3-day statutory period in ~15 s). The test plays the cases API: it reads the
 * tasks the workflow recorded (store.openTasksFor, one index query per role), answers with SendTaskSuccess
 * `{action, comment?, by}` and completes the task in the store.
 */
const TIME_SCALE = 20_000;

interface Captured {
  topicArn?: string;
  message: string;
  messageAttributes?: Record<string, { StringValue?: string }>;
}

describe('case workflows on the local platform', () => {
  const tmp = tempDir('case-workflows');
  let platform: Platform;
  let store: DynamoCaseStore;
  let sfn: SFNClient;
  let rewardArn: string;
  let transferArn: string;
  let seq = 0;

  beforeAll(async () => {
    platform = await startPlatform({
      cdkOut: realAppAssembly(),
      dataDir: `${tmp.dir}/data`,
      ports: await freePorts(),
      seed: false,
      timeScale: TIME_SCALE,
    });
    const table = (part: string) => {
      const t = platform.spec.tables.find((x) => x.id.includes(part));
      if (!t) throw new Error(`no ${part} table in the template`);
      return t.tableName;
    };
    const db = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb)), {
      marshallOptions: { removeUndefinedValues: true },
    });
    store = new DynamoCaseStore(db, { cases: table('Cases'), audit: table('Audit') });
    sfn = new SFNClient(localClientConfig(platform.endpoints.stepfunctions));
    const machine = (part: string) => {
      const m = platform.spec.stateMachines.find((x) => x.id.includes(part));
      if (!m) throw new Error(`no ${part} state machine in the template`);
      expect(m.type).toBe('STANDARD');
      return m.arn;
    };
    rewardArn = machine('CaseWorkflowsReward');
    transferArn = machine('CaseWorkflowsTransfer');
  }, 180_000);

  afterAll(async () => {
    sfn?.destroy();
    await platform?.stop();
    tmp.cleanup();
  });

  /** A case opened from a tip at a Songyuan bamboo workshop, with a case team of two. */
  const openCase = async (title: string): Promise<string> => {
    seq += 1;
    const at = new Date().toISOString();
    const { case: c } = await store.create(
      openedCase(
        {
          caseId: ulid(Date.parse(at)),
          title,
          unit: { name: '庆元县松源某竹制品加工厂', townshipId: 'songyuan' },
          sources: [{ kind: 'tip', id: `TIP-2026-${String(seq).padStart(4, '0')}` }],
          handlers: ['handler-li', 'handler-wang'],
        },
        { by: 'handler-li', at },
      ),
    );
    return c.caseId;
  };

  const start = async (arn: string, name: string, input: Record<string, unknown>) =>
    (await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) })))
      .executionArn as string;

  const taskFor = (role: string, caseId: string, step: string) =>
    eventually(
      async () =>
        (await store.openTasksFor(role, { limit: 100 })).items.find((t) => t.caseId === caseId && t.step === step),
      15_000,
      `${role} task ${step} of ${caseId}`,
    );

  /** What the cases API does on "act": SendTaskSuccess with the decision, then the task is marked done. */
  const act = async (role: string, caseId: string, step: string, action: string, comment?: string) => {
    const view = await taskFor(role, caseId, step);
    const task = await store.getTask(view.taskId);
    const by = `${role}-1`;
    if (!task) throw new Error(`task ${view.taskId} vanished`);
    const output = cleanOutcome({ action, by, ...(comment ? { comment } : {}) });
    await sfn.send(new SendTaskSuccessCommand({ taskToken: task.token, output: JSON.stringify(output) }));
    await store.completeTask(task, output, {
      entry: taskDoneEntry(task, output),
      actor: by,
      at: new Date().toISOString(),
    });
    return view;
  };

  const finished = (executionArn: string, timeoutMs = 15_000) =>
    eventually<DescribeExecutionCommandOutput>(
      async () => {
        const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return d.status === 'RUNNING' ? undefined : d;
      },
      timeoutMs,
      `execution ${executionArn} to finish`,
    );

  const tasksOf = async (caseId: string): Promise<TaskView[]> => (await store.tasksOf(caseId, { limit: 100 })).items;

  const bureauMessages = async (caseId: string): Promise<Captured[]> => {
    const res = await fetch(`${platform.endpoints.api}/_local/messages.json`);
    const all = ((await res.json()) as { messages: Captured[] }).messages;
    return all.filter((m) => m.messageAttributes?.caseId?.StringValue === caseId);
  };

  // started first, checked last: a transfer nobody hands over lapses three times (~3 × 4 s) while the others run
  let abandoned: { caseId: string; executionArn: string };

  it('starts a transfer whose approved hand-over nobody does', async () => {
    const caseId = await openCase('某竹制品厂暗管排放涉嫌污染环境罪（无人移送）');
    const executionArn = await start(transferArn, `transfer-${caseId}`, { caseId });
    await act('case_team', caseId, 'report_drafting', 'submit_report');
    await act('bureau_head', caseId, 'head_decision', 'approve');
    await taskFor('case_team', caseId, 'handover');
    abandoned = { caseId, executionArn };
  });

  it('pays a reward through every approval, the county government and a consented commendation', async () => {
    const caseId = await openCase('某竹制品厂超标排放（举报奖励·特别重大）');
    const executionArn = await start(rewardArn, `reward-${caseId}-1`, {
      caseId,
      round: 1,
      reward: {
        totalFen: 30_000_000,
        approvals: [
          { step: 'handler' },
          { step: 'section_chief' },
          { step: 'bureau_head' },
          { step: 'county_government' },
        ],
      },
      commendationConsent: true,
    });
    const eligibility = await act('reward_post', caseId, 'eligibility', 'confirm_eligible');
    expect(eligibility.actors).toEqual(['reward_post']);
    expect(eligibility.dueAt).toBeDefined(); // the reward service level (5 working days)
    expect(eligibility.input).toMatchObject({ caseId, reward: { totalFen: 30_000_000 } });
    const handler = await act('case_team', caseId, 'handler_approval', 'approve');
    expect(handler.actors).toEqual(['case_team']);
    await act('section_chief', caseId, 'section_chief_approval', 'approve');
    await act('bureau_head', caseId, 'bureau_head_approval', 'approve');
    await act('reward_post', caseId, 'county_government_approval', 'record_government_approval', '庆政函〔2026〕88号');
    await act('reward_post', caseId, 'payment', 'paid', '财政授权支付凭证 2026-1203，300000.00元');
    await act('reward_post', caseId, 'commendation', 'commended');
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({ caseId, decision: { action: 'commended' } });

    const steps = (await tasksOf(caseId)).map((t) => [t.step, t.state]);
    expect(steps).toEqual([
      ['eligibility', 'done'],
      ['handler_approval', 'done'],
      ['section_chief_approval', 'done'],
      ['bureau_head_approval', 'done'],
      ['county_government_approval', 'done'],
      ['payment', 'done'],
      ['commendation', 'done'],
    ]);
    const notes = (await store.timeline(caseId, { limit: 200 }, { actor: 'test' })).items.map((e) => e.note ?? '');
    expect(notes).toContain('计算奖励金额：有应发奖励');
    expect(notes).toContain('是否报县政府批准：特别重大奖励或悬赏，报县政府');
    expect(notes).toContain('流程结束：奖励已办结');
  });

  it('ends at rejected when the section chief refuses, and at no_reward when nothing is payable', async () => {
    const caseId = await openCase('某竹制品厂超标排放（举报奖励·科室驳回）');
    const executionArn = await start(rewardArn, `reward-${caseId}-1`, {
      caseId,
      round: 1,
      reward: {
        totalFen: 150_000,
        approvals: [{ step: 'handler' }, { step: 'section_chief' }, { step: 'bureau_head' }],
      },
      commendationConsent: false,
    });
    await act('reward_post', caseId, 'eligibility', 'confirm_eligible');
    await act('case_team', caseId, 'handler_approval', 'approve');
    await act('section_chief', caseId, 'section_chief_approval', 'reject', '举报线索在举报前已由执法检查掌握');
    const rejected = await finished(executionArn);
    expect(rejected.status).toBe('SUCCEEDED');
    expect(JSON.parse(rejected.output ?? '{}').decision).toMatchObject({ action: 'reject' });
    expect((await tasksOf(caseId)).map((t) => t.step)).not.toContain('bureau_head_approval');

    const second = await start(rewardArn, `reward-${caseId}-2`, {
      caseId,
      round: 2,
      reward: { totalFen: 0, approvals: [] },
    });
    await act('reward_post', caseId, 'eligibility', 'confirm_eligible');
    const none = await finished(second);
    expect(none.status).toBe('SUCCEEDED');
    expect(JSON.parse(none.output ?? '{}').decision).toMatchObject({ action: 'nothing_payable' });
  });

  it('takes a transfer through materials, refusal, reconsideration and supervision to the filing, then hands it to the follow-up', async () => {
    const caseId = await openCase('某竹制品厂暗管排放涉嫌污染环境罪');
    const pkg = { manifestSha256: 'a3f1c9'.padEnd(64, '0'), materials: 6, missing: [], complete: true };
    const executionArn = await start(transferArn, `transfer-${caseId}`, { caseId, package: pkg });
    await act('case_team', caseId, 'report_drafting', 'submit_report');
    const head = await act('bureau_head', caseId, 'head_decision', 'approve');
    // the head decides within 3 calendar days of the report: the task shows the statutory deadline
    expect(head.dueAt).toBe(computeDeadline('head_decision', head.createdAt).dueAt);
    expect(head.input).toMatchObject({ deadline: { basis: 'head_decision', labelZh: '负责人审批是否移送' } });
    const handover = await act('case_team', caseId, 'handover', 'hand_over');
    expect(Date.parse(handover.dueAt ?? '') - Date.parse(handover.createdAt)).toBeLessThanOrEqual(24 * 3_600_000);
    const receipt = await act('police_liaison', caseId, 'police_receipt', 'acknowledge');
    expect(receipt.input).toMatchObject({ package: pkg }); // the police see the package manifest
    // the law says "immediately": the bureau's service level is 24 hours, by the clock
    expect(Date.parse(receipt.dueAt ?? '') - Date.parse(receipt.createdAt)).toBeLessThanOrEqual(24 * 3_600_000);

    const review1 = await act('police_liaison', caseId, 'police_review', 'request_materials', '缺少采样记录单');
    await act('case_team', caseId, 'materials_completion', 'submit_materials');
    // the filing period still runs from the first receipt
    const review2 = await taskFor('police_liaison', caseId, 'police_review');
    expect(review2.taskId).not.toBe(review1.taskId);
    expect(review2.dueAt).toBe(review1.dueAt);
    const due = await store.deadlinesDue(
      new Date().toISOString(),
      new Date(Date.now() + 40 * 86_400_000).toISOString(),
      {
        limit: 100,
      },
    );
    expect(due.items.find((d) => d.taskId === review2.taskId)).toMatchObject({
      kind: 'filing_decision',
      state: 'open',
    });

    await act('police_liaison', caseId, 'police_review', 'refuse_filing', '认为污染物排放量未达立案标准');
    const response = await act('case_team', caseId, 'refusal_response', 'request_reconsideration');
    expect(response.input).toMatchObject({ deadline: { basis: 'reconsideration_request' } });
    await act('police_liaison', caseId, 'reconsideration', 'uphold_refusal', '复议维持原决定');
    await act('case_team', caseId, 'supervision_option', 'request_supervision');
    await act('procuratorate_liaison', caseId, 'procuratorate_supervision', 'order_filing');
    await act('case_team', caseId, 'items_handover', 'hand_over_items');
    // the execution ends where the criminal proceedings begin: the follow-up keeps their task, with no token
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const proceedings = await taskFor('police_liaison', caseId, 'criminal_proceedings');
    expect(proceedings.actors).toEqual(['police_liaison', 'procuratorate_liaison']);
    expect(proceedings.input).toMatchObject({ deadline: { basis: 'follow_up' } });
    expect((await store.getTask(proceedings.taskId))?.token).toBeUndefined();
    const steps = (await tasksOf(caseId)).map((t) => t.step);
    expect(steps).toEqual([
      'report_drafting',
      'head_decision',
      'handover',
      'police_receipt',
      'police_review',
      'materials_completion',
      'police_review',
      'refusal_response',
      'reconsideration',
      'supervision_option',
      'procuratorate_supervision',
      'items_handover',
      'criminal_proceedings',
    ]);
  }, 30_000);

  it('escalates a lapsed hand-over to the bureau and waits again for the case team', async () => {
    const caseId = await openCase('某竹制品厂暗管排放涉嫌污染环境罪（移送超期）');
    const executionArn = await start(transferArn, `transfer-${caseId}`, { caseId });
    await act('case_team', caseId, 'report_drafting', 'submit_report');
    await act('bureau_head', caseId, 'head_decision', 'approve');
    const first = await taskFor('case_team', caseId, 'handover');
    const lapsed = await eventually(
      async () => {
        const tasks = await tasksOf(caseId);
        const reopened = tasks.find((t) => t.step === 'handover' && t.state === 'open' && t.taskId !== first.taskId);
        return reopened && tasks.find((t) => t.taskId === first.taskId)?.state === 'lapsed' ? reopened : undefined;
      },
      15_000,
      'the hand-over to lapse and re-open',
    );
    expect(lapsed.input).toMatchObject({ deadline: { escalationLevel: 1 } });
    const messages = await eventually(async () => {
      const m = await bureauMessages(caseId);
      return m.length > 0 ? m : undefined;
    });
    expect(messages[0]?.message).toContain('【案件督办】');
    expect(messages[0]?.message).toContain('向公安机关移送');
    expect(messages[0]?.messageAttributes?.kind?.StringValue).toBe('case_escalation');
    await act('case_team', caseId, 'handover', 'hand_over');
    await taskFor('police_liaison', caseId, 'police_receipt');
    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'test done' }));
  }, 30_000);

  it('warns the bureau once, from the schedule, when a deadline reaches its warning time', async () => {
    const caseId = await openCase('某竹制品厂超标排放（期限提醒）');
    const now = Date.now();
    const taskId = ulid(now);
    const recorded = {
      taskId,
      caseId,
      workflow: 'transfer' as const,
      executionArn: `arn:aws:states:us-east-1:000000000000:execution:transfer:transfer-${caseId}`,
      step: 'head_decision',
      actors: ['bureau_head'],
      token: `token-${taskId}`,
      createdAt: new Date(now - 3 * 3_600_000).toISOString(),
      dueAt: new Date(now + 2 * 3_600_000).toISOString(),
      warnAt: new Date(now - 60_000).toISOString(),
      input: { caseId },
    };
    await store.recordTask(recorded, taskOpened(recorded));
    const rule = platform.spec.schedules.find((r) =>
      r.targets.some((t) => JSON.stringify(t.input) === JSON.stringify({ kind: 'deadline_warnings' })),
    );
    expect(rule?.scheduleExpression).toBe('rate(15 minutes)');
    const run = () =>
      fetch(`${platform.endpoints.api}/_local/schedules/${encodeURIComponent(rule?.ruleName ?? '')}/run`, {
        method: 'POST',
      });
    expect((await run()).status).toBe(202);
    expect((await run()).status).toBe(202);
    const warnings = await eventually(async () => {
      const m = (await bureauMessages(caseId)).filter(
        (x) => x.messageAttributes?.kind?.StringValue === 'case_deadline_warning',
      );
      return m.length > 0 ? m : undefined;
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('【案件期限提醒】');
    expect(warnings[0]?.message).toContain('请局领导及时办理');
    expect(warnings[0]?.messageAttributes?.dedupeId?.StringValue).toBe(`${taskId}#warn`);
    // the sweep notes the warning on the timeline after it is published
    const timeline = await eventually(async () => {
      const notes = (await store.timeline(caseId, { limit: 100 }, { actor: 'section-chief-1' })).items.map(
        (e) => e.note ?? '',
      );
      return notes.some((n) => n.startsWith('【案件期限提醒】')) ? notes : undefined;
    });
    expect(timeline.filter((n) => n.startsWith('【案件期限提醒】'))).toHaveLength(1);
  });

  it('fails the abandoned transfer with DeadlineLapsed after two escalations', async () => {
    const done = await finished(abandoned.executionArn, 30_000);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('DeadlineLapsed');
    const kinds = (await bureauMessages(abandoned.caseId)).map((m) => m.messageAttributes?.kind?.StringValue);
    expect(kinds).toEqual(['case_escalation', 'case_escalation', 'case_deadline_lapsed']);
    const handovers = (await tasksOf(abandoned.caseId)).filter((t) => t.step === 'handover').map((t) => t.state);
    expect(handovers).toEqual(['lapsed', 'lapsed', 'lapsed']);
  }, 40_000);
});
