import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { BAMBOO, BOILER, FUNGI, PENCIL } from '#shared/domain/registry/qingyuan-seed.ts';
import { eventually, realAppAssembly, tempDir } from './helpers.ts';

/**
 * Cases and their workflows end to end, as a new user would do it: ONLY the HTTP API with role tokens, on the real synthesized app.
 *   1. a real-name tip (public API) → the analyst finds it true → a section chief opens a case from it, names two
 *      handlers, records a penalty with a fine → the reward workflow starts → every approval appears in GET /tasks of
 *      the right role and is approved with POST /tasks/{id}/act → payment and (consented) commendation → timeline.
 *   2. an exceedance alarm (HJ 212 over MQTT) → a case from the alarm → a suspected-crime decision on recorded facts →
 *      the transfer tasks → the police liaison acknowledges, files, feeds back the conviction → timeline, deadlines.
 *   3. an anonymous tip: the reporter is invited through the receipt, claims the reward with it, and the identity is
 *      opened by the reward post only (logged, visible to the reporter) before eligibility is confirmed.
 * No waits are shortened: nothing here is meant to lapse.
 */
const BW01 = '33112600000000000000BW01'; // the bamboo factory's water outlet (COD limit 100 mg/L)

interface TaskItem {
  taskId: string;
  caseId: string;
  workflow: string;
  step: string;
  state: string;
  dueAt?: string;
  input?: Record<string, unknown>;
  actions?: { action: string }[];
}

describe('cases end to end through the API', () => {
  const tmp = tempDir('cases-e2e');
  let platform: Platform;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    // plain MQTT (the debugging listener) for the bamboo factory's DAQ: device authentication over TLS is
    // device-onboarding.test.ts's subject
    platform = await startPlatform({
      cdkOut: realAppAssembly(),
      dataDir: `${tmp.dir}/data`,
      ports: await freePorts(),
      plainMqtt: true,
    });
    const keys = await loadOrCreateKeys(`${tmp.dir}/data`);
    const { issuer, audience } = platform.endpoints.auth;
    const people: [string, string[]][] = [
      ['analyst-1', ['analyst']],
      ['duty-1', ['duty_officer']],
      ['handler-li', ['handler']],
      ['handler-wang', ['handler']],
      ['handler-zhao', ['handler']], // not on the team
      ['chief-1', ['section_chief']],
      ['head-1', ['bureau_head']],
      ['reward-1', ['reward_post']],
      ['police-1', ['police_liaison']],
    ];
    for (const [sub, roles] of people) {
      tokens[sub] = signToken(keys, { iss: issuer, aud: audience, sub, roles, townships: ['*'] }, 1800);
    }
  }, 180_000);

  afterAll(async () => {
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

  /** The task at `step` of `caseId` in GET /tasks of `who`, once the workflow has recorded it. */
  const waitingFor = (who: string, caseId: string, step: string) =>
    eventually(
      async () => {
        const res = await call(who, 'GET', '/tasks?limit=100');
        if (res.status !== 200) throw new Error(`GET /tasks ${res.status} ${res.text}`);
        return (res.json.items as TaskItem[]).find((t) => t.caseId === caseId && t.step === step);
      },
      20_000,
      `${who}'s task ${step} on ${caseId}`,
    );

  const act = async (who: string, caseId: string, step: string, action: string, comment?: string) => {
    const task = await waitingFor(who, caseId, step);
    expect(task.actions?.map((a) => a.action)).toContain(action);
    const res = await call(who, 'POST', `/tasks/${task.taskId}/act`, { action, ...(comment ? { comment } : {}) });
    expect(res.status, `${who} ${step} ${action}: ${res.text}`).toBe(200);
    expect(res.json).toMatchObject({ taskId: task.taskId, state: 'done' });
    return task;
  };

  const caseTasks = async (who: string, caseId: string): Promise<TaskItem[]> =>
    (await call(who, 'GET', `/cases/${caseId}/tasks?limit=100`)).json.items;

  const timelineNotes = async (who: string, caseId: string): Promise<string[]> => {
    const res = await call(who, 'GET', `/cases/${caseId}/timeline?limit=100`);
    expect(res.status, res.text).toBe(200);
    return (res.json.items as { note?: string; type: string }[]).map((e) => `${e.type}:${e.note ?? ''}`);
  };

  let tipCase: string;

  it('takes a real-name tip through a penalty to a paid reward and a consented commendation', async () => {
    // 1. the citizen reports (public API, no token)
    const tip = await call(undefined, 'POST', '/tips', {
      category: 'illegal_discharge',
      description: '铅笔厂车间后门夜间用软管向溪沟排放灰黑色废水',
      location: { townshipId: 'songyuan', address: '松源街道工业园区', point: { lat: 27.61, lng: 119.06 } },
      observedAt: '2026-11-20T22:10:00+08:00',
      reporter: {
        kind: 'real_name',
        identity: { name: '王小明', phone: '13912345678', idNumber: '33112619900101123X' },
      },
      commendationConsent: true,
    });
    expect(tip.status, tip.text).toBe(201);
    const tipId = String(tip.json.tipId);

    // 2. the analyst verifies it and finds it true
    for (const status of ['triaging', 'verifying', 'substantiated']) {
      const res = await call('analyst-1', 'POST', `/tips/${tipId}/status`, { status });
      expect(res.status, `${status}: ${res.text}`).toBe(200);
    }

    // 3. a section chief opens the case from the tip and names two handlers
    const opened = await call('chief-1', 'POST', '/cases', {
      title: '某铅笔厂夜间偷排生产废水',
      unit: { kind: 'registered', enterpriseId: PENCIL },
      sources: [{ kind: 'tip', id: tipId }],
    });
    expect(opened.status, opened.text).toBe(201);
    // the party as the registry has it: name and township are never typed by hand
    expect(opened.json).toMatchObject({
      enterpriseId: PENCIL,
      unitName: '庆元县示例铅笔制造有限公司',
      townshipId: 'pingdu',
    });
    tipCase = String(opened.json.caseId);
    // the reporter sees it through the receipt: 已立案
    const followed = await fetch(`${platform.endpoints.api}/tips/follow`, {
      headers: { 'x-receipt': String(tip.json.receipt) },
    });
    expect(followed.status).toBe(200);
    expect(await followed.json()).toMatchObject({ status: 'case_opened', statusLabel: '已立案' });
    const team = await call('chief-1', 'POST', `/cases/${tipCase}/handlers`, {
      handlers: ['handler-li', 'handler-wang'],
    });
    expect(team.status, team.text).toBe(200);
    expect(team.json).toMatchObject({ status: 'investigating', handlers: ['handler-li', 'handler-wang'] });

    // 4. the penalty: CNY 120,000 fine → 5 % = CNY 6,000 reward
    const decided = await call('chief-1', 'POST', `/cases/${tipCase}/decision`, {
      decision: {
        type: 'administrative_penalty',
        decisionNumber: '庆环罚〔2026〕31号',
        decidedOn: '2026-11-25',
        legalBasis: '《中华人民共和国水污染防治法》第八十三条',
        fineFen: 12_000_000,
        items: [{ kind: 'fine' }, { kind: 'order_to_correct' }],
      },
    });
    expect(decided.status, decided.text).toBe(200);
    expect(decided.json.workflows).toEqual([
      expect.objectContaining({ workflow: 'reward', executionName: `reward-${tipCase}-1`, started: true }),
    ]);

    // 5. the approvals, each in the inbox of the right role only. Eligibility needs the reporter verified: the reward
    //    post opens the identity through the vault first (logged, and the reporter sees who and why)
    const early = await waitingFor('reward-1', tipCase, 'eligibility');
    const unverified = await call('reward-1', 'POST', `/tasks/${early.taskId}/act`, { action: 'confirm_eligible' });
    expect(unverified.status, unverified.text).toBe(409);
    expect(unverified.json.detail).toContain('请先经身份库核实举报人身份');
    const identity = await call('reward-1', 'POST', `/tips/${tipId}/identity/open`, {
      reason: '核实举报人身份以发放奖励',
    });
    expect(identity.status, identity.text).toBe(200);
    expect(identity.json.identity).toMatchObject({ name: '王小明' });
    const eligibility = await act('reward-1', tipCase, 'eligibility', 'confirm_eligible');
    expect(eligibility.input).toMatchObject({ caseId: tipCase, reward: { totalFen: 600_000 } });
    expect(JSON.stringify(eligibility.input)).not.toContain('王小明');

    const forHandler = await waitingFor('handler-li', tipCase, 'handler_approval');
    // a handler not on the team does not see it and may not act on it; a section chief may not either
    const zhao = await call('handler-zhao', 'GET', '/tasks?limit=100');
    expect((zhao.json.items as TaskItem[]).some((t) => t.taskId === forHandler.taskId)).toBe(false);
    const wrong = await call('chief-1', 'POST', `/tasks/${forHandler.taskId}/act`, { action: 'approve' });
    expect(wrong.status, wrong.text).toBe(403);
    await act('handler-li', tipCase, 'handler_approval', 'approve');
    const again = await call('handler-wang', 'POST', `/tasks/${forHandler.taskId}/act`, { action: 'approve' });
    expect(again.status, again.text).toBe(409);

    await act('chief-1', tipCase, 'section_chief_approval', 'approve');
    await act('head-1', tipCase, 'bureau_head_approval', 'approve');
    // no special amount or bounty: no county government step; payment, then the commendation the reporter agreed to
    await act('reward-1', tipCase, 'payment', 'paid', '国库集中支付凭证 2026-1187，6000.00元');
    await act('reward-1', tipCase, 'commendation', 'commended');

    const steps = await eventually(async () => {
      const tasks = await caseTasks('chief-1', tipCase);
      return tasks.length === 6 && tasks.every((t) => t.state === 'done') ? tasks.map((t) => t.step) : undefined;
    });
    expect(steps).toEqual([
      'eligibility',
      'handler_approval',
      'section_chief_approval',
      'bureau_head_approval',
      'payment',
      'commendation',
    ]);

    // 6. the audit trail, as the reward post sees it
    const notes = await eventually(async () => {
      const n = await timelineNotes('reward-1', tipCase);
      return n.some((x) => x.includes('流程结束：奖励已办结')) ? n : undefined;
    });
    expect(notes.join('\n')).toContain('启动举报奖励审批流程');
    expect(notes.join('\n')).toContain('计算奖励金额：有应发奖励');
    expect(notes.join('\n')).toContain('是否报县政府批准：无需县政府批准');
    expect(notes.join('\n')).toContain('是否公开表彰：举报人同意公开表彰');

    // 7. the reporter reads the outcome through the receipt
    const view = await eventually(async () => {
      const res = await fetch(`${platform.endpoints.api}/tips/follow`, {
        headers: { 'x-receipt': String(tip.json.receipt) },
      });
      const body = (await res.json()) as { messages?: { text: string }[] };
      return body.messages?.some((m) => m.text.includes('举报奖励 6000.00 元已审批发放')) ? body : undefined;
    });
    expect(JSON.stringify(view)).not.toContain('handler-li');
    expect(view).toMatchObject({ identityAccess: [{ reason: '核实举报人身份以发放奖励' }] });
  }, 120_000);

  it('lets an anonymous reporter claim with the receipt, revealing the identity to the reward post only', async () => {
    const follow = async (receipt: string, path = '/tips/follow', body?: unknown) => {
      const res = await fetch(`${platform.endpoints.api}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'x-receipt': receipt, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      // biome-ignore lint/suspicious/noExplicitAny: the test reads loosely typed API answers
      return { status: res.status, text, json: JSON.parse(text) as any };
    };
    const claimant = { name: '匿名举报人甲', phone: '13600006666', idNumber: '331126198805050055' };

    // an anonymous tip, found true, becomes a case with a CNY 30,000 fine: round 1 pays CNY 1,500
    const tip = await call(undefined, 'POST', '/tips', {
      category: 'illegal_discharge',
      description: '竹木厂晚上把蒸煮废液直接排进屏都溪',
      location: { townshipId: 'pingdu', address: '屏都街道竹木加工区' },
      observedAt: '2026-11-22T21:00:00+08:00',
      reporter: { kind: 'anonymous' },
    });
    expect(tip.status, tip.text).toBe(201);
    const tipId = String(tip.json.tipId);
    const receipt = String(tip.json.receipt);
    expect((await follow(receipt, '/tips/follow/claim', { identity: claimant })).status).toBe(409);
    for (const status of ['triaging', 'verifying', 'substantiated']) {
      expect((await call('analyst-1', 'POST', `/tips/${tipId}/status`, { status })).status).toBe(200);
    }
    const opened = await call('chief-1', 'POST', '/cases', {
      title: '某竹木制品公司夜间直排蒸煮废液',
      unit: { kind: 'registered', enterpriseId: BAMBOO },
      sources: [{ kind: 'tip', id: tipId }],
      handlers: ['handler-li', 'handler-wang'],
    });
    expect(opened.status, opened.text).toBe(201);
    const caseId = String(opened.json.caseId);
    expect(
      (await call('chief-1', 'POST', `/cases/${caseId}/handlers`, { handlers: ['handler-li', 'handler-wang'] })).status,
    ).toBe(200);
    const decided = await call('chief-1', 'POST', `/cases/${caseId}/decision`, {
      decision: {
        type: 'administrative_penalty',
        decisionNumber: '庆环罚〔2026〕35号',
        decidedOn: '2026-11-27',
        legalBasis: '《中华人民共和国水污染防治法》第八十三条',
        fineFen: 3_000_000,
        items: [{ kind: 'fine' }],
      },
    });
    expect(decided.status, decided.text).toBe(200);

    // the reward post cannot confirm an unknown reporter; the reporter is invited through the receipt
    const early = await waitingFor('reward-1', caseId, 'eligibility');
    const refused = await call('reward-1', 'POST', `/tasks/${early.taskId}/act`, { action: 'confirm_eligible' });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.json.detail).toContain('匿名举报人尚未凭查询码申领奖励');
    const invited = await eventually(async () => {
      const v = await follow(receipt);
      return v.json.messages?.some((m: { text: string }) => m.text.includes('申领举报奖励')) ? v.json : undefined;
    });
    expect(invited.reward).toEqual({ claimable: true });
    expect((await call('reward-1', 'POST', `/tips/${tipId}/identity/open`, { reason: '核实身份' })).status).toBe(404);

    // the claim: a bad ID number is a 400 naming the field; the valid claim is sealed; a second one is a 409
    const bad = await follow(receipt, '/tips/follow/claim', { identity: { ...claimant, idNumber: '12345' } });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.json.errors.map((e: { field: string }) => e.field)).toEqual(['body.identity.idNumber']);
    const claimed = await follow(receipt, '/tips/follow/claim', { identity: claimant });
    expect(claimed.status, claimed.text).toBe(200);
    expect(claimed.json.reward).toEqual({ claimable: false, claimedAt: expect.any(String) });
    expect(claimed.text).not.toContain(claimant.idNumber);
    const twice = await follow(receipt, '/tips/follow/claim', { identity: { ...claimant, name: '冒领者' } });
    expect(twice.status, twice.text).toBe(409);

    // officials see that it was claimed, never who; only the reward post opens it, and the reporter sees that
    const asAnalyst = await call('analyst-1', 'GET', `/tips/${tipId}`);
    expect(asAnalyst.json.tip).toMatchObject({ reporterKind: 'anonymous', rewardClaimedAt: expect.any(String) });
    for (const secret of Object.values(claimant)) expect(asAnalyst.text).not.toContain(secret);
    expect((await call('analyst-1', 'POST', `/tips/${tipId}/identity/open`, { reason: '核实身份' })).status).toBe(403);
    const identity = await call('reward-1', 'POST', `/tips/${tipId}/identity/open`, { reason: '核实申领人身份' });
    expect(identity.status, identity.text).toBe(200);
    expect(identity.json.identity).toEqual(claimant);

    // now eligible: the round goes through its approvals and is paid
    await act('reward-1', caseId, 'eligibility', 'confirm_eligible');
    const approval = await waitingFor('handler-li', caseId, 'handler_approval');
    expect(approval.input).toMatchObject({ reward: { totalFen: 150_000 } });
    for (const secret of Object.values(claimant)) expect(JSON.stringify(approval.input)).not.toContain(secret);
    await act('handler-li', caseId, 'handler_approval', 'approve');
    await act('chief-1', caseId, 'section_chief_approval', 'approve');
    await act('head-1', caseId, 'bureau_head_approval', 'approve');
    await act('reward-1', caseId, 'payment', 'paid', '国库集中支付凭证 2026-1203，1500.00元');
    const done = await eventually(async () => {
      const v = await follow(receipt);
      return v.json.messages?.some((m: { text: string }) => m.text.includes('举报奖励 1500.00 元已审批发放'))
        ? v.json
        : undefined;
    });
    expect(done.identityAccess).toEqual([expect.objectContaining({ reason: '核实申领人身份' })]);
    expect(done.messages.filter((m: { text: string }) => m.text.includes('申领举报奖励'))).toHaveLength(1);
    const notes = (await timelineNotes('reward-1', caseId)).join('\n');
    for (const secret of Object.values(claimant)) expect(notes).not.toContain(secret);
  }, 120_000);

  it('takes a case from an exceedance alarm through a judicial transfer to the police feedback', async () => {
    // 1. the bamboo factory's outlet reports an hourly COD of 250 mg/L (2.5× the limit)
    const device = await mqtt.connectAsync(platform.endpoints.mqtt as string, { clientId: BW01, reconnectPeriod: 0 });
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000);
    const packet = encodePacket({
      qn: isoToBeijing(new Date(), true),
      st: '32',
      cn: '2061',
      pw: '123456',
      mn: BW01,
      flag: 4,
      cp: `DataTime=${isoToBeijing(hour.toISOString())};w01018-Avg=250.0,w01018-Flag=N;w00000-Avg=5.2,w00000-Flag=N`,
    });
    await device.publishAsync(`envwatch/devices/${BW01}/hj212`, packet, { qos: 1 });
    await device.endAsync();
    const alarm = await eventually(
      async () => {
        const res = await call('duty-1', 'GET', `/alarms?enterprise=${BAMBOO}`);
        return (res.json?.items as { alarmId: string; type: string }[] | undefined)?.find(
          (a) => a.type === 'exceedance',
        );
      },
      30_000,
      'the exceedance alarm',
    );

    // 2. a case from the alarm, with its team and the inspection record of the concealed pipe
    const opened = await call('chief-1', 'POST', '/cases', {
      title: '某竹木制品公司超标排放及暗管排放含酚废水',
      unit: { kind: 'registered', enterpriseId: BAMBOO },
      sources: [{ kind: 'alarm', id: alarm.alarmId }],
      handlers: ['handler-li', 'handler-wang'],
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
      key: `cases/${caseId}/inspection-2026-11-26.pdf`,
      sha256: 'b4c1d2'.padEnd(64, '0'),
      note: '现场检查笔录：厂区东侧发现通往溪沟的暗管',
    });
    expect(evidence.status, evidence.text).toBe(201);
    const evidenceId = String((evidence.json.evidence as { id: string }[]).at(-1)?.id);

    // 3. suspected crime: the platform proposes item5 from the recorded facts, the section chief confirms it
    const decided = await call('chief-1', 'POST', `/cases/${caseId}/decision`, {
      decision: {
        type: 'suspected_crime',
        proposedItems: [],
        confirmedItems: [
          {
            item: 'item5',
            facts: '通过暗管向溪沟排放含酚有毒废水，有现场检查笔录为证',
            confirmedBy: 'chief-1',
            confirmedAt: new Date().toISOString(),
          },
        ],
      },
      crimeFacts: {
        concealedDischarges: [
          { method: 'concealed_pipe', substance: 'toxic', description: '厂区东侧暗管排放含酚废水', evidenceId },
        ],
      },
    });
    expect(decided.status, decided.text).toBe(200);
    expect(decided.json.workflows).toEqual([
      expect.objectContaining({ workflow: 'transfer', executionName: `transfer-${caseId}-1`, started: true }),
    ]);

    // 4. the transfer: report, head's approval (3-day deadline), hand-over to the police (24 h)
    await act('handler-wang', caseId, 'report_drafting', 'submit_report');
    const head = await waitingFor('head-1', caseId, 'head_decision');
    expect(head.dueAt).toBeDefined();
    const due = await call('handler-li', 'GET', '/deadlines');
    expect(due.status, due.text).toBe(200);
    expect((due.json.items as { taskId: string }[]).some((d) => d.taskId === head.taskId)).toBe(true);
    await act('head-1', caseId, 'head_decision', 'approve');
    await act('handler-li', caseId, 'handover', 'hand_over');

    // 5. the police liaison: receipt, filing; the case team hands over the items; the outcome comes back
    const receipt = await act('police-1', caseId, 'police_receipt', 'acknowledge');
    expect(receipt.input).toMatchObject({ caseId, confirmedItems: ['item5'] });
    await act('police-1', caseId, 'police_review', 'file');
    await act('handler-li', caseId, 'items_handover', 'hand_over_items');
    await act('police-1', caseId, 'criminal_proceedings', 'record_conviction');

    const steps = await eventually(async () => {
      const tasks = await caseTasks('police-1', caseId);
      return tasks.length === 7 && tasks.every((t) => t.state === 'done') ? tasks.map((t) => t.step) : undefined;
    });
    expect(steps).toEqual([
      'report_drafting',
      'head_decision',
      'handover',
      'police_receipt',
      'police_review',
      'items_handover',
      'criminal_proceedings',
    ]);
    const notes = await eventually(async () => {
      const n = await timelineNotes('police-1', caseId);
      return n.some((x) => x.includes('流程结束：刑事判决已生效')) ? n : undefined;
    });
    expect(notes.join('\n')).toContain('启动涉嫌犯罪案件移送流程');
    // handed over at the police's receipt, closed by the conviction
    const closed = await eventually(async () => {
      const c = await call('chief-1', 'GET', `/cases/${caseId}`);
      return c.json.status === 'closed' ? c.json : undefined;
    });
    expect(closed.closedAt).toBeDefined();
  }, 120_000);

  it('pays the conviction of a case that came from a tip as a later reward round of the conviction alone', async () => {
    // a real-name tip about the fungi base's night-time dumping, found true, becomes a suspected-crime case
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
    const opened = await call('chief-1', 'POST', '/cases', {
      title: '某食用菌企业暗管排放灭菌废水',
      unit: { kind: 'registered', enterpriseId: FUNGI },
      sources: [{ kind: 'tip', id: tipId }],
    });
    expect(opened.status, opened.text).toBe(201);
    const caseId = String(opened.json.caseId);
    expect(
      (await call('chief-1', 'POST', `/cases/${caseId}/handlers`, { handlers: ['handler-li', 'handler-wang'] })).status,
    ).toBe(200);
    const evidence = await call('handler-li', 'POST', `/cases/${caseId}/evidence`, {
      type: 'object',
      kind: 'inspection_record',
      key: `cases/${caseId}/inspection.pdf`,
      sha256: 'c0ffee'.padEnd(64, '0'),
      note: '现场检查笔录：发现暗管',
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

    await act('handler-wang', caseId, 'report_drafting', 'submit_report');
    await act('head-1', caseId, 'head_decision', 'approve');
    await act('handler-li', caseId, 'handover', 'hand_over');
    await act('police-1', caseId, 'police_receipt', 'acknowledge');
    await act('police-1', caseId, 'police_review', 'file');
    await act('handler-li', caseId, 'items_handover', 'hand_over_items');
    await act('police-1', caseId, 'criminal_proceedings', 'record_conviction', '庆元县人民法院（2026）浙1126刑初88号');

    // the conviction starts round 2 of the reward: CNY 10,000, the conviction alone
    const eligibility = await waitingFor('reward-1', caseId, 'eligibility');
    expect(eligibility.input).toMatchObject({ round: 2, reward: { totalFen: 1_000_000 } });
    expect(JSON.stringify(eligibility.input)).not.toContain('叶一平');
  }, 120_000);

  it('opens a case on a workshop a tip found that the registry lacks, flags it, and links it once registered', async () => {
    const tip = await call(undefined, 'POST', '/tips', {
      category: 'illegal_discharge',
      description: '松源街道某村后山一家无招牌的竹筷作坊把蒸煮废水直排山沟',
      location: { townshipId: 'songyuan', address: '松源街道某村后山' },
      observedAt: '2026-11-22T09:00:00+08:00',
      reporter: { kind: 'anonymous' },
    });
    expect(tip.status, tip.text).toBe(201);
    const tipId = String(tip.json.tipId);
    for (const status of ['triaging', 'verifying', 'substantiated']) {
      expect((await call('analyst-1', 'POST', `/tips/${tipId}/status`, { status })).status).toBe(200);
    }
    // a name and township typed by hand are refused unless the unit is marked as not registered
    const unmarked = await call('chief-1', 'POST', '/cases', {
      title: '无名竹筷作坊直排蒸煮废水',
      unitName: '松源某无名竹筷作坊',
      townshipId: 'songyuan',
      sources: [{ kind: 'tip', id: tipId }],
    });
    expect(unmarked.status, unmarked.text).toBe(400);
    const opened = await call('chief-1', 'POST', '/cases', {
      title: '无名竹筷作坊直排蒸煮废水',
      unit: { kind: 'unregistered', name: '松源某无名竹筷作坊', townshipId: 'songyuan', address: '松源街道某村后山' },
      sources: [{ kind: 'tip', id: tipId }],
    });
    expect(opened.status, opened.text).toBe(201);
    const caseId = String(opened.json.caseId);
    expect(opened.json).toMatchObject({ needsRegistration: true, unitName: '松源某无名竹筷作坊' });
    const pending = await call('chief-1', 'GET', '/cases?needsRegistration=true');
    expect(pending.status, pending.text).toBe(200);
    expect((pending.json.items as { caseId: string }[]).map((c) => c.caseId)).toContain(caseId);

    // a valid credit code the registry does not hold is refused; the bureau registers the workshop (here the seeded
    // heating station stands in for it) and links the case
    const stale = await call('chief-1', 'POST', `/cases/${caseId}/unit`, { enterpriseId: '91331126MA2BQY0A2A' });
    expect(stale.status, stale.text).toBe(400);
    expect(stale.json.errors[0]).toMatchObject({ field: 'body.enterpriseId' });
    const linked = await call('chief-1', 'POST', `/cases/${caseId}/unit`, { enterpriseId: BOILER });
    expect(linked.status, linked.text).toBe(200);
    expect(linked.json).toMatchObject({
      enterpriseId: BOILER,
      unitName: '庆元县示例集中供热站',
      townshipId: 'songyuan',
    });
    expect(linked.json.needsRegistration).toBeUndefined();
    const after = await call('chief-1', 'GET', '/cases?needsRegistration=true');
    expect((after.json.items as { caseId: string }[]).map((c) => c.caseId)).not.toContain(caseId);
    expect((await timelineNotes('chief-1', caseId)).join('\n')).toContain(
      'unit_linked:当事人已登记：庆元县示例集中供热站',
    );
  }, 60_000);
});
