import { readFileSync } from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { BOILER, PENCIL } from '#shared/domain/registry/qingyuan-seed.ts';
import { contains, GPS, jpegWithMetadata, MODEL, SECRETS, videoWithMetadata } from '../../unit/helpers/images.ts';
import { eventually } from '../helpers.ts';
import { api, type ConsoleContext, type ContextRef, signIn, tableRows, tokenFor } from './context.ts';

/**
 * Tips and cases in the console, each role signing in through the local OIDC provider and clicking through its own
 * task: the analyst finds a submitted tip (its photo shown stripped of metadata), links it to the suggested unit and
 * finds it true; a handler opens a case from it; the section chief records the penalty; the reward post opens the
 * reporter's identity (told the reporter will see it) and confirms eligibility; the section chief and the bureau head
 * approve the reward; the reward post pays; the police liaison signs for a judicial transfer. What the flows are not
 * about (the citizen's report, the case team's own approval, the transfer's earlier steps) is set up through the API.
 */
const REPORTER = { name: '赵明', phone: '13712340000', idNumber: '331126198802020021' };

interface TaskItem {
  taskId: string;
  caseId: string;
  step: string;
  state: string;
}

/** A real-name tip from the public API, about 600 m north-east of the heating station, with a photo and a video. */
async function submitTip(ctx: ConsoleContext): Promise<string> {
  const files = [
    { contentType: 'image/jpeg', bytes: jpegWithMetadata() },
    { contentType: 'video/mp4', bytes: videoWithMetadata() },
  ];
  const slots = await api<{ uploads: { uploadId: string; url: string; headers: Record<string, string> }[] }>(
    ctx,
    '',
    'POST',
    '/evidence/uploads',
    { files: files.map((f) => ({ contentType: f.contentType, bytes: f.bytes.length })) },
  );
  expect(slots.status).toBe(201);
  for (const [i, slot] of slots.json.uploads.entries()) {
    const put = await fetch(slot.url, { method: 'PUT', headers: slot.headers, body: files[i]?.bytes });
    expect(put.status).toBe(200);
  }
  const tip = await api<{ tipId: string }>(ctx, '', 'POST', '/tips', {
    category: 'air',
    description: '供热站烟囱夜里冒黑烟，气味刺鼻（控制台测试）',
    location: { townshipId: 'songyuan', address: '松源街道供热站东北侧', point: { lat: 27.6185, lng: 119.0625 } },
    observedAt: new Date(Date.now() - 6 * 3_600_000).toISOString(),
    reporter: { kind: 'real_name', identity: REPORTER },
    uploadIds: slots.json.uploads.map((u) => u.uploadId),
  });
  expect(tip.status).toBe(201);
  return tip.json.tipId;
}

/** A page of its own browser context (its own session), failing fast rather than at playwright's 30 s. */
async function newPage(ctx: ConsoleContext): Promise<Page> {
  const page = await ctx.browser.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

/** Reloads `page` until `target` shows (a workflow records its next task a moment after an action). */
async function reloadUntil(page: Page, target: Locator, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      await target.waitFor({ state: 'visible', timeout: 1500 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await page.reload();
    }
  }
}

/** Acts on the open task of `step` on the case page: the step's comment, then the action's button. */
async function actOn(page: Page, step: string, action: string, comment?: string): Promise<void> {
  const button = page.getByRole('button', { name: action, exact: true });
  const panel = page.getByTestId(`task-${step}`).filter({ has: button });
  await reloadUntil(page, panel);
  if (comment) await panel.getByRole('textbox').fill(comment);
  await panel.getByRole('button', { name: action, exact: true }).click();
  // done: the task leaves the open ones (an API refusal would show under the comment and keep it there)
  await panel.waitFor({ state: 'detached', timeout: 10_000 });
}

export function socialFlows(context: ContextRef) {
  describe('tips and cases in the console', () => {
    let tipId: string;
    let caseId: string;

    it('lets the analyst find a tip, see its stripped photo and video, link the suggested unit and find it true', async () => {
      const ctx = context();
      tipId = await submitTip(ctx);
      const page = await newPage(ctx);
      await signIn(ctx, page, 'analyst', '/tips');
      // the queue, narrowed to the tip's category on the server
      await page.locator('.el-select', { has: page.getByRole('combobox', { name: '类别' }) }).click();
      await page.getByRole('option', { name: '废气' }).click();
      await page.getByRole('button', { name: '查询' }).click();
      const row = tableRows(page).filter({ hasText: tipId.slice(-8) });
      await row.first().waitFor({ timeout: 10_000 });
      // the console fetches the stripped copies through their short-lived links, never an original
      const copies: { url: string; status: number }[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/working.')) copies.push({ url: r.url(), status: r.status() });
      });
      await row.first().getByRole('link').click();
      await page.waitForURL(`**/console/tips/${tipId}`);
      // and shows them from memory: the photo inline, the video in a player
      const img = page.getByRole('img', { name: /举报照片/ });
      await img.waitFor();
      expect(await img.getAttribute('src')).toMatch(/^blob:/);
      await expect
        .poll(() => img.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth))
        .toBeGreaterThan(0);
      const player = page.getByLabel(/举报视频/);
      await player.waitFor();
      expect(await player.getAttribute('src')).toMatch(/^blob:/);
      expect(copies.map((c) => c.status)).toEqual([200, 200]);
      for (const copy of copies) {
        expect(copy.url).not.toContain('/original');
        // what the link serves (read again here: the page keeps the bytes to itself)
        const bytes = Buffer.from(await (await fetch(copy.url)).arrayBuffer());
        for (const secret of [...SECRETS, GPS, MODEL]) expect(contains(bytes, secret), secret).toBe(false);
      }

      // the suggested unit, with its reason, linked by one click
      const suggested = page.getByTestId('suggested-unit');
      await expect.poll(() => suggested.textContent()).toContain('距发现地点最近的登记单位');
      await suggested.getByRole('button', { name: '关联此单位' }).click();
      await suggested.getByText('已关联').waitFor();
      for (const step of ['开始研判', '转入核查', '认定属实']) {
        await page.getByRole('button', { name: step }).click();
        await page.getByRole('button', { name: step }).waitFor({ state: 'detached' });
      }
      await expect.poll(() => page.getByTestId('tip-status').textContent()).toBe('属实');
      // the page never carries the reporter's identity
      const html = await page.content();
      for (const secret of Object.values(REPORTER)) expect(html).not.toContain(secret);
      await page.close();

      const analyst = tokenFor(ctx, 'analyst-check', ['analyst']);
      const stored = await api<{ tip: { status: string; suspectedUnit?: unknown } }>(
        ctx,
        analyst,
        'GET',
        `/tips/${tipId}`,
      );
      expect(stored.json.tip).toMatchObject({
        status: 'substantiated',
        suspectedUnit: { kind: 'registered', enterpriseId: BOILER },
      });
    });

    it('lets a handler open a case from the tip and the section chief record the penalty', async () => {
      const ctx = context();
      const handler = await newPage(ctx);
      await signIn(ctx, handler, 'handler1', `/tips/${tipId}`);
      await handler.getByRole('button', { name: '立案' }).click();
      await handler.getByLabel('承办人（两名以上即开始调查，用逗号分隔）').fill('handler1, handler2');
      await handler.getByRole('button', { name: '确认立案' }).click();
      await handler.waitForURL(/\/console\/cases\/[0-9A-Z]{26}$/);
      caseId = handler.url().split('/').at(-1) as string;
      await expect.poll(() => handler.getByTestId('case-status').textContent()).toBe('调查中');
      await handler.close();

      const chief = await newPage(ctx);
      await signIn(ctx, chief, 'chief', `/cases/${caseId}`);
      const form = chief.getByRole('form', { name: '作出决定' });
      await form.getByLabel('处罚决定书文号').fill('庆环罚〔2026〕88号');
      await form.getByLabel('决定日期').fill('2026-12-01');
      await form.getByLabel('决定日期').press('Enter');
      await form.getByLabel('法律依据').fill('《中华人民共和国大气污染防治法》第九十九条');
      await form.getByLabel('罚款金额（元）').fill('100000');
      await form.getByRole('button', { name: '记录决定' }).click();
      await expect
        .poll(() => chief.getByTestId('case-decision').textContent(), { timeout: 10_000 })
        .toContain('庆环罚〔2026〕88号');
      await expect.poll(() => chief.getByTestId('case-decision').textContent()).toContain('100000.00 元');
      await chief.close();
    });

    it('takes the reward through the identity check, the approvals and the payment', async () => {
      const ctx = context();
      const reward = await newPage(ctx);
      await signIn(ctx, reward, 'reward', `/cases/${caseId}`);
      await reward.getByRole('button', { name: '查看举报人身份' }).click();
      const dialog = reward.getByRole('dialog', { name: '查看举报人身份' });
      await expect.poll(() => dialog.textContent()).toContain('举报人凭查询码可以看到查看人、时间和理由');
      await dialog.getByLabel('查看理由').fill('核实举报人身份以发放奖励');
      await dialog.getByRole('button', { name: '确认查看' }).click();
      await expect.poll(() => dialog.getByTestId('reporter-identity').textContent()).toContain(REPORTER.name);
      await dialog.getByRole('button', { name: /关闭|Close/ }).click();
      await actOn(reward, 'eligibility', '符合奖励条件');

      // the case team's own approval is not this flow's subject
      const handler = tokenFor(ctx, 'handler1', ['handler']);
      const approval = await eventually(
        async () =>
          (await api<{ items: TaskItem[] }>(ctx, handler, 'GET', '/tasks?limit=100')).json.items.find(
            (t) => t.caseId === caseId && t.step === 'handler_approval',
          ),
        20_000,
        'the handler approval',
      );
      expect((await api(ctx, handler, 'POST', `/tasks/${approval.taskId}/act`, { action: 'approve' })).status).toBe(
        200,
      );

      for (const [user, step, label] of [
        ['chief', 'section_chief_approval', '科室负责人同意'],
        ['head', 'bureau_head_approval', '局领导同意'],
      ] as const) {
        const page = await newPage(ctx);
        await signIn(ctx, page, user, '/');
        // the task waits in the home page's inbox, and opens the case
        const inbox = page.getByRole('link', { name: new RegExp(`办理：[^，]+，案件 ${caseId}`) });
        await reloadUntil(page, inbox.first());
        await inbox.first().click();
        await page.waitForURL(`**/console/cases/${caseId}`);
        await actOn(page, step, label);
        await page.close();
      }

      await reward.reload();
      await actOn(reward, 'payment', '已发放', '国库集中支付凭证 2026-2001，5000.00元');
      await reward.close();

      const chief = tokenFor(ctx, 'chief-check', ['section_chief']);
      const tasks = await eventually(async () => {
        const out = await api<{ items: TaskItem[] }>(ctx, chief, 'GET', `/cases/${caseId}/tasks?limit=100`);
        const payment = out.json.items.find((t) => t.step === 'payment');
        return payment?.state === 'done' ? out.json.items : undefined;
      });
      expect(tasks.map((t) => t.step)).toEqual([
        'eligibility',
        'handler_approval',
        'section_chief_approval',
        'bureau_head_approval',
        'payment',
      ]);
      // the reporter sees who opened the identity and why
      const analyst = tokenFor(ctx, 'analyst-check', ['analyst']);
      const tip = await api<{ timeline: { type: string; reason?: string }[] }>(ctx, analyst, 'GET', `/tips/${tipId}`);
      expect(tip.json.timeline).toContainEqual(
        expect.objectContaining({ type: 'identity_access', reason: '核实举报人身份以发放奖励' }),
      );
    });

    it('lets the police liaison sign for a judicial transfer', async () => {
      const ctx = context();
      const people = {
        analyst: tokenFor(ctx, 'analyst-2', ['analyst']),
        chief: tokenFor(ctx, 'chief-2', ['section_chief']),
        head: tokenFor(ctx, 'head-2', ['bureau_head']),
        handler: tokenFor(ctx, 'handler1', ['handler']),
      };
      // a tip naming the pencil factory, found true, a case with its team and the inspection record
      const tip = await api<{ tipId: string }>(ctx, '', 'POST', '/tips', {
        category: 'illegal_discharge',
        description: '铅笔厂车间后墙有暗管通向溪沟，夜间排放（控制台测试）',
        location: { townshipId: 'pingdu', address: '屏都街道工业园区' },
        observedAt: new Date(Date.now() - 26 * 3_600_000).toISOString(),
        suspectedUnit: { kind: 'registered', enterpriseId: PENCIL },
        reporter: { kind: 'anonymous' },
      });
      expect(tip.status).toBe(201);
      for (const status of ['triaging', 'verifying', 'substantiated']) {
        const res = await api(ctx, people.analyst, 'POST', `/tips/${tip.json.tipId}/status`, { status });
        expect(res.status).toBe(200);
      }
      // the section chief opens it from the case list's 立案 form, as another page links to it (`?open=<kind>:<id>`)
      const chief = await newPage(ctx);
      await signIn(ctx, chief, 'chief', '/cases');
      await chief.goto(`${ctx.platform.endpoints.web}console/cases?open=tip:${tip.json.tipId}&unit=${PENCIL}`);
      const dialog = chief.getByRole('dialog', { name: '立案' });
      await dialog.getByLabel('案件名称').fill('某铅笔厂暗管排放有毒废水');
      await dialog.getByLabel('承办人（两名以上即开始调查，用逗号分隔）').fill('handler1, handler2');
      await dialog.getByRole('button', { name: '确认立案' }).click();
      await chief.waitForURL(/\/console\/cases\/[0-9A-Z]{26}$/);
      const transferCase = chief.url().split('/').at(-1) as string;
      await chief.close();
      const evidence = await api<{ evidence: { id: string }[] }>(
        ctx,
        people.handler,
        'POST',
        `/cases/${transferCase}/evidence`,
        {
          type: 'object',
          kind: 'inspection_record',
          key: `cases/${transferCase}/inspection.pdf`,
          sha256: 'c0ffee'.padEnd(64, '0'),
          note: '现场检查笔录：车间后墙暗管',
        },
      );
      expect(evidence.status).toBe(201);
      const evidenceId = evidence.json.evidence.at(-1)?.id;
      const decided = await api(ctx, people.chief, 'POST', `/cases/${transferCase}/decision`, {
        decision: {
          type: 'suspected_crime',
          proposedItems: [],
          confirmedItems: [
            { item: 'item5', facts: '暗管排放含铅废水', confirmedBy: 'chief-2', confirmedAt: new Date().toISOString() },
          ],
        },
        crimeFacts: {
          concealedDischarges: [{ method: 'concealed_pipe', substance: 'toxic', description: '暗管排放', evidenceId }],
        },
      });
      expect(decided.status).toBe(200);
      for (const [who, step, action] of [
        ['handler', 'report_drafting', 'submit_report'],
        ['head', 'head_decision', 'approve'],
        ['handler', 'handover', 'hand_over'],
      ] as const) {
        const token = people[who];
        const task = await eventually(
          async () =>
            (await api<{ items: TaskItem[] }>(ctx, token, 'GET', '/tasks?limit=100')).json.items.find(
              (t) => t.caseId === transferCase && t.step === step,
            ),
          20_000,
          step,
        );
        expect((await api(ctx, token, 'POST', `/tasks/${task.taskId}/act`, { action })).status).toBe(200);
      }

      const police = await newPage(ctx);
      await signIn(ctx, police, 'police', `/cases/${transferCase}`);
      await expect.poll(() => police.getByTestId('case-decision').textContent()).toContain('第一条第（五）项');
      await actOn(police, 'police_receipt', '签收回执');
      // the transfer package, one ZIP: the documents and the evidence list with the hashes
      const download = police.waitForEvent('download');
      await police.getByRole('button', { name: '下载移送材料' }).click();
      const file = await download;
      expect(file.suggestedFilename()).toBe(`移送材料-${transferCase}.zip`);
      const zip = unzipSync(new Uint8Array(readFileSync(String(await file.path()))));
      expect(Object.keys(zip)).toContain('03-证据清单.csv');
      expect(strFromU8(zip['03-证据清单.csv'] as Uint8Array)).toContain('c0ffee'.padEnd(64, '0'));
      expect(strFromU8(zip['02-案件基本情况.txt'] as Uint8Array)).toContain('第一条第（五）项');
      await police.close();
      const done = await eventually(async () => {
        const out = await api<{ items: TaskItem[] }>(ctx, people.chief, 'GET', `/cases/${transferCase}/tasks`);
        return out.json.items.find((t) => t.step === 'police_receipt' && t.state === 'done');
      });
      expect(done.step).toBe('police_receipt');
    });
  });
}
