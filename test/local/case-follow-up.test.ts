import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { BAMBOO, FUNGI } from '#shared/domain/registry/qingyuan-seed.ts';
import { eventually, localClientConfig, realAppAssembly, tempDir } from './helpers.ts';

/**
 * The long judicial step against Step Functions' execution limit, through the HTTP API only. The platform runs with
 * the limit shortened to MAX_DAYS and every wait divided by TIME_SCALE (the limit is ~13 s of real time, a 24-hour
 * step ~4 s): a transfer left at the case team's report is TIMED_OUT by it (`States.Timeout`, as AWS ends an
 * execution after a year), while a transfer taken to the police's filing ends its execution where the criminal
 * proceedings begin and the periodic follow-up keeps the case going long past the limit: its status, its task and
 * deadline, two periods re-armed by the daily check run as if months and a year later, the liaisons' arrest and
 * conviction, each reward round started once.
 */
const TIME_SCALE = 20_000;
const MAX_DAYS = 3;
const DAY = 86_400_000;

interface TaskItem {
  taskId: string;
  caseId: string;
  step: string;
  state: string;
  dueAt?: string;
  createdAt: string;
  input?: Record<string, unknown>;
  actions?: { action: string }[];
}

interface Captured {
  message: string;
  messageAttributes?: Record<string, { StringValue?: string }>;
}

describe('a long judicial step past the execution limit', () => {
  const tmp = tempDir('case-follow-up');
  let platform: Platform;
  let sfn: SFNClient;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    platform = await startPlatform({
      cdkOut: realAppAssembly(),
      dataDir: `${tmp.dir}/data`,
      ports: await freePorts(),
      timeScale: TIME_SCALE,
      maxExecutionSeconds: MAX_DAYS * 86_400,
    });
    sfn = new SFNClient(localClientConfig(platform.endpoints.stepfunctions));
    const keys = await loadOrCreateKeys(`${tmp.dir}/data`);
    const { issuer, audience } = platform.endpoints.auth;
    const people: [string, string[]][] = [
      ['analyst-1', ['analyst']],
      ['handler-li', ['handler']],
      ['handler-wang', ['handler']],
      ['chief-1', ['section_chief']],
      ['head-1', ['bureau_head']],
      ['reward-1', ['reward_post']],
      ['police-1', ['police_liaison']],
      ['procurator-1', ['procuratorate_liaison']],
    ];
    for (const [sub, roles] of people) {
      tokens[sub] = signToken(keys, { iss: issuer, aud: audience, sub, roles, townships: ['*'] }, 1800);
    }
  }, 180_000);

  afterAll(async () => {
    sfn?.destroy();
    await platform?.stop();
    tmp.cleanup();
  });

  const call = async (who: string | undefined, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${platform.endpoints.api}${path}`, {
      method,
      headers: {
        ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: the test reads loosely typed API answers
    return { status: res.status, text, json: (text ? JSON.parse(text) : undefined) as any };
  };

  const waitingFor = (who: string, caseId: string, step: string, other?: string) =>
    eventually(
      async () => {
        const res = await call(who, 'GET', '/tasks?limit=100');
        if (res.status !== 200) throw new Error(`GET /tasks ${res.status} ${res.text}`);
        return (res.json.items as TaskItem[]).find((t) => t.caseId === caseId && t.step === step && t.taskId !== other);
      },
      10_000,
      `${who}'s task ${step} on ${caseId}`,
    );

  const act = async (who: string, caseId: string, step: string, action: string, comment?: string) => {
    const task = await waitingFor(who, caseId, step);
    const res = await call(who, 'POST', `/tasks/${task.taskId}/act`, { action, ...(comment ? { comment } : {}) });
    expect(res.status, `${who} ${step} ${action}: ${res.text}`).toBe(200);
    return task;
  };

  const describeExecution = (executionArn: string) => sfn.send(new DescribeExecutionCommand({ executionArn }));
  const finished = (executionArn: string, timeoutMs: number) =>
    eventually<DescribeExecutionCommandOutput>(
      async () => {
        const d = await describeExecution(executionArn);
        return d.status === 'RUNNING' ? undefined : d;
      },
      timeoutMs,
      `execution ${executionArn} to end`,
    );

  const messages = async (caseId: string, kind: string): Promise<Captured[]> => {
    const res = await fetch(`${platform.endpoints.api}/_local/messages.json`);
    return ((await res.json()) as { messages: Captured[] }).messages.filter(
      (m) => m.messageAttributes?.caseId?.StringValue === caseId && m.messageAttributes?.kind?.StringValue === kind,
    );
  };

  /** The daily follow-up check, fired as if scheduled at `time` (the rule's input transformer passes it on). */
  const followUpCheckAt = async (time: Date) => {
    const rule = platform.spec.schedules.find((r) =>
      r.targets.some((t) => t.inputTransformer?.template.includes('follow_ups')),
    );
    expect(rule?.scheduleExpression).toBe('cron(0 1 * * ? *)');
    const res = await fetch(
      `${platform.endpoints.api}/_local/schedules/${encodeURIComponent(rule?.ruleName ?? '')}/run?time=${time.toISOString()}`,
      { method: 'POST' },
    );
    expect(res.status).toBe(202);
  };

  /** A case on a registered unit, its team of two, the inspection record, and the suspected-crime decision. */
  const crimeCase = async (title: string, enterpriseId: string, source: { kind: string; id: string }) => {
    const opened = await call('chief-1', 'POST', '/cases', {
      title,
      unit: { kind: 'registered', enterpriseId },
      sources: [source],
    });
    expect(opened.status, opened.text).toBe(201);
    const caseId = String(opened.json.caseId);
    const team = await call('chief-1', 'POST', `/cases/${caseId}/handlers`, {
      handlers: ['handler-li', 'handler-wang'],
    });
    expect(team.status, team.text).toBe(200);
    const evidence = await call('handler-li', 'POST', `/cases/${caseId}/evidence`, {
      type: 'object',
      kind: 'inspection_record',
      key: `cases/${caseId}/inspection.pdf`,
      sha256: 'c0ffee'.padEnd(64, '0'),
      note: '现场检查笔录：发现通往溪沟的暗管',
    });
    expect(evidence.status, evidence.text).toBe(201);
    const evidenceId = String((evidence.json.evidence as { id: string }[]).at(-1)?.id);
    const decided = await call('chief-1', 'POST', `/cases/${caseId}/decision`, {
      decision: {
        type: 'suspected_crime',
        proposedItems: [],
        confirmedItems: [
          { item: 'item5', facts: '暗管排放有毒废水', confirmedBy: 'chief-1', confirmedAt: new Date().toISOString() },
        ],
      },
      crimeFacts: {
        concealedDischarges: [{ method: 'concealed_pipe', substance: 'toxic', description: '暗管', evidenceId }],
      },
    });
    expect(decided.status, decided.text).toBe(200);
    const started = (decided.json.workflows as { executionArn?: string; executionName: string }[])[0];
    expect(started?.executionName).toBe(`transfer-${caseId}-1`);
    return { caseId, executionArn: String(started?.executionArn) };
  };

  it('keeps a transfer in the criminal proceedings going past the limit that times out an execution left waiting', async () => {
    // a real-name tip about the fungi base, found true, becomes a suspected-crime case
    const tip = await call(undefined, 'POST', '/tips', {
      category: 'illegal_discharge',
      description: '菌棒厂深夜用暗管把灭菌废水排进竹口溪支流',
      location: { townshipId: 'zhukou', address: '竹口镇食用菌园区' },
      observedAt: '2026-11-21T23:30:00+08:00',
      reporter: { kind: 'real_name', identity: { name: '叶一平', phone: '13900001111' } },
    });
    expect(tip.status, tip.text).toBe(201);
    const tipId = String(tip.json.tipId);
    for (const status of ['triaging', 'verifying', 'substantiated']) {
      expect((await call('analyst-1', 'POST', `/tips/${tipId}/status`, { status })).status).toBe(200);
    }
    const { caseId, executionArn } = await crimeCase('某食用菌企业暗管排放灭菌废水', FUNGI, { kind: 'tip', id: tipId });

    // the control, started just after: a transfer whose report nobody drafts waits in its execution (5 working days,
    // longer than the limit)
    const idle = await crimeCase('某竹木制品公司暗管排放（无人撰写移送报告）', BAMBOO, {
      kind: 'clue',
      id: 'CLUE-2026-0088',
    });

    // the transfer to the police's filing and the hand-over of the items, well inside the limit
    await act('handler-wang', caseId, 'report_drafting', 'submit_report');
    await act('head-1', caseId, 'head_decision', 'approve');
    await act('handler-li', caseId, 'handover', 'hand_over');
    await act('police-1', caseId, 'police_receipt', 'acknowledge');
    await act('police-1', caseId, 'police_review', 'file');
    await act('handler-li', caseId, 'items_handover', 'hand_over_items');

    // its execution ends where the proceedings begin; the first follow-up period runs 60 days
    const handedOver = await finished(executionArn, 10_000);
    expect(handedOver.status).toBe('SUCCEEDED');
    const first = await waitingFor('police-1', caseId, 'criminal_proceedings');
    expect(Date.parse(first.dueAt ?? '') - Date.parse(first.createdAt)).toBeGreaterThan(59 * DAY);
    expect(first.input).toMatchObject({ deadline: { basis: 'follow_up', escalationLevel: 0 } });
    expect(first.actions?.map((a) => a.action)).toContain('record_conviction');

    // the limit passes: the waiting execution is TIMED_OUT (States.Timeout), on DescribeExecution and the local page
    const timedOut = await finished(idle.executionArn, (MAX_DAYS * DAY) / TIME_SCALE + 10_000);
    expect(timedOut).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(timedOut.cause).toContain('maximum execution time');
    const page = await (await fetch(`${platform.endpoints.api}/_local/executions.json`)).json();
    expect(
      (page as { executions: { executionArn: string; status: string; error?: string }[] }).executions.find(
        (e) => e.executionArn === idle.executionArn,
      ),
    ).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    const startedAt = (await describeExecution(executionArn)).startDate?.getTime() ?? 0;
    expect(Date.now() - startedAt).toBeGreaterThan((MAX_DAYS * DAY) / TIME_SCALE);

    // …and the case in the proceedings is all there: status, task, deadline
    expect((await call('chief-1', 'GET', `/cases/${caseId}`)).json.status).toBe('transferred');
    const due = await call('handler-li', 'GET', `/deadlines?from=${first.createdAt}&to=${first.dueAt}&limit=100`);
    expect(due.status, due.text).toBe(200);
    expect(
      (due.json.items as { taskId: string; status: string }[]).find((d) => d.taskId === first.taskId),
    ).toMatchObject({ status: 'pending' });

    // the daily check after the 60 days without news: reminded, re-armed; again a year later
    await followUpCheckAt(new Date(Date.parse(first.dueAt ?? '') + 9 * 3_600_000));
    const second = await waitingFor('police-1', caseId, 'criminal_proceedings', first.taskId);
    expect(second.input).toMatchObject({ deadline: { escalationLevel: 1 } });
    const reminders = await eventually(async () => {
      const m = await messages(caseId, 'case_follow_up');
      return m.length > 0 ? m : undefined;
    });
    expect(reminders[0]?.message).toContain('【案件跟踪】');
    const history = (await call('chief-1', 'GET', `/cases/${caseId}/tasks?limit=100`)).json.items as TaskItem[];
    expect(history.find((t) => t.taskId === first.taskId)?.state).toBe('lapsed');
    await followUpCheckAt(new Date(Date.parse(first.createdAt) + 400 * DAY));
    const third = await waitingFor('police-1', caseId, 'criminal_proceedings', second.taskId);
    expect(third.input).toMatchObject({ deadline: { escalationLevel: 2 } });
    expect((await messages(caseId, 'case_follow_up')).length).toBe(2);

    // the liaisons' outcomes still work: the arrest starts reward round 2, the conviction round 3 and closes the case
    await act('police-1', caseId, 'criminal_proceedings', 'record_arrest_approved', '庆检捕〔2027〕3号');
    const round2 = await waitingFor('reward-1', caseId, 'eligibility');
    expect(round2.input).toMatchObject({ round: 2, reward: { totalFen: 1_000_000 } });
    const conviction = await act(
      'procurator-1',
      caseId,
      'criminal_proceedings',
      'record_conviction',
      '庆元县人民法院（2027）浙1126刑初12号',
    );
    const again = await call('procurator-1', 'POST', `/tasks/${conviction.taskId}/act`, {
      action: 'record_conviction',
    });
    expect(again.status).toBe(409);
    await waitingFor('reward-1', caseId, 'eligibility', round2.taskId);
    const closed = await eventually(async () => {
      const c = await call('chief-1', 'GET', `/cases/${caseId}`);
      return c.json.status === 'closed' ? c.json : undefined;
    });
    expect(closed.closedAt).toBeDefined();

    // each round started once; no task of the proceedings left open
    const rewardMachine = platform.spec.stateMachines.find((m) => m.id.includes('CaseWorkflowsReward'))?.arn;
    const rounds = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: rewardMachine }))).executions
      ?.map((e) => e.name)
      .filter((n) => n?.startsWith(`reward-${caseId}-`))
      .sort();
    expect(rounds).toEqual([`reward-${caseId}-2`, `reward-${caseId}-3`]);
    const tasks = (await call('chief-1', 'GET', `/cases/${caseId}/tasks?limit=100`)).json.items as TaskItem[];
    // two periods lapsed and re-armed, one done by the arrest (re-armed with it), one by the conviction
    expect(
      tasks
        .filter((t) => t.step === 'criminal_proceedings')
        .map((t) => t.state)
        .sort(),
    ).toEqual(['done', 'done', 'lapsed', 'lapsed']);
    const notes: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(
        'chief-1',
        'GET',
        `/cases/${caseId}/timeline?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status, page.text).toBe(200);
      notes.push(...(page.json.items as { note?: string }[]).map((e) => e.note ?? ''));
      cursor = page.json.cursor;
    } while (cursor);
    expect(notes).toContain('流程结束：刑事判决已生效');
    expect(notes.filter((n) => n === '启动第2轮举报奖励审批流程')).toHaveLength(1);
    expect(notes.filter((n) => n === '启动第3轮举报奖励审批流程')).toHaveLength(1);
  }, 60_000);
});
