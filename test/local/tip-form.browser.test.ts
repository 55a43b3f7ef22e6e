import { existsSync } from 'node:fs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { localS3ClientConfig } from '#infra/local/services/s3.ts';
import { contains, jpegWithMetadata } from '../unit/helpers/images.ts';
import { realAppAssembly, tempDir } from './helpers.ts';

/**
 * The public tip form in Debian's headless Chromium (playwright-core drives it over CDP) against the embedded platform
 * booted from the real app, at a 360 px phone width: a real-name tip with a phone photo (EXIF + GPS) is submitted, the
 * receipt read from the page and followed; an analyst triages and writes without ever seeing the identity; the reward
 * post opens the identity with a reason and the follow page shows that access. The reporter then adds a note and a
 * photo on the follow page (补充材料), which the analyst sees with its own working copy. Stored working copies have no EXIF.
 * Needs /usr/bin/chromium (apt install chromium): without it the test fails, it does not skip.
 */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

interface EvidenceJson {
  kind: string;
  workingKey?: string;
  originalKey: string;
}

interface TipJson {
  id: string;
  description: string;
  evidence: EvidenceJson[];
}

interface TimelineJson {
  type: string;
  text?: string;
  evidence?: EvidenceJson[];
}

describe('public tip form in headless Chromium', () => {
  const tmp = tempDir('tip-form');
  const identity = { name: '李秀英', phone: '13698765432' };
  const description = '河边排污口夜里排放黑色废水，气味刺鼻';
  const analystTexts: string[] = [];
  const pageErrors: string[] = [];
  let platform: Platform;
  let context: BrowserContext;
  let page: Page;
  let analyst: string;
  let rewardPost: string;
  let receipt: string;
  let tip: TipJson;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium) to run this test`);
    }
    const dataDir = `${tmp.dir}/data`;
    platform = await startPlatform({
      cdkOut: realAppAssembly(),
      dataDir,
      ports: await freePorts(),
    });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    analyst = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'analyst-7', roles: ['analyst'], townships: ['*'] },
      600,
    );
    rewardPost = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'reward-7', name: '奖励岗', roles: ['reward_post'], townships: ['*'] },
      600,
    );
    context = await chromium.launchPersistentContext(`${tmp.dir}/chromium-profile`, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 360, height: 740 },
      locale: 'zh-CN',
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // script errors and CSP violations; a refused request (the 400 below) is not a page error
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await platform?.stop();
    tmp.cleanup();
  });

  const official = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${platform.endpoints.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (token === analyst) analystTexts.push(text);
    return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
  };

  /** The working copy of a photo, from the sealed evidence bucket: a JPEG with no EXIF, GPS or APP1 segment left. */
  const expectStrippedWorkingCopy = async (key: string | undefined) => {
    const bucket = platform.spec.buckets.find((b) => b.objectLock)?.bucketName;
    expect(bucket && key).toBeTruthy();
    const s3 = new S3Client(localS3ClientConfig(platform.endpoints.s3));
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const working = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    s3.destroy();
    expect(working.subarray(0, 2).equals(Buffer.from([0xff, 0xd8]))).toBe(true);
    expect(contains(working, 'Exif\0\0')).toBe(false);
    expect(contains(working, 'GPS')).toBe(false);
    expect(working.includes(Buffer.from([0xff, 0xe1]))).toBe(false);
  };

  const follow = async () => {
    await page.goto(`${platform.endpoints.api}/tip/follow.html`);
    await page.getByLabel('查询码').fill(receipt);
    await page.getByRole('button', { name: '查询' }).click();
    await page.locator('#view').waitFor({ state: 'visible' });
  };

  it('submits a real-name tip with a phone photo and shows the 16-digit receipt once', async () => {
    await page.goto(platform.endpoints.web);
    await page.getByRole('link', { name: '我要举报' }).click();
    await page.waitForURL('**/tip/');
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);

    await page.getByLabel('偷排漏排').check();
    await page.getByLabel('看到了什么').fill(description);
    await expect.poll(() => page.locator('#description-count').textContent()).toBe(`${description.length} / 2000 字`);
    await page.getByLabel('所在乡镇（街道）').selectOption({ label: '竹口镇' });
    await page.getByLabel('具体地点').fill('竹口镇新窑村溪边');
    expect(await page.getByLabel('发现时间').inputValue()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    await page.getByLabel('实名举报（可申请举报奖励）').check();
    await page.getByLabel('姓名').fill(identity.name);
    await page.getByLabel('联系电话').fill(identity.phone);
    await page.getByLabel('同意公开表彰（仅实名举报）').check();
    await page
      .getByLabel('照片或视频（可选）')
      .setInputFiles({ name: 'IMG_2044.JPG', mimeType: 'image/jpeg', buffer: jpegWithMetadata() });
    await page.locator('#previews img').waitFor();
    expect(await page.locator('#previews img').getAttribute('src')).toMatch(/^blob:/);

    await page.getByRole('button', { name: '提交举报' }).click();
    const code = page.locator('#receipt-code');
    await code.waitFor({ state: 'visible' });
    const groups = await code.locator('span').allTextContents();
    expect(groups).toHaveLength(4);
    for (const g of groups) expect(g).toMatch(/^\d{4}$/);
    receipt = groups.join('');
    expect(await page.locator('#receipt').textContent()).toContain('它是查询进度和领取奖励的唯一凭证');
    expect(await page.locator('#tip-form').isHidden()).toBe(true);
  });

  it('shows the status 已受理 on the follow page for that receipt', async () => {
    await follow();
    expect(await page.locator('#statusLabel').textContent()).toBe('已受理（received）');
    expect(await page.locator('#category').textContent()).toBe('偷排漏排');
    expect(await page.locator('#access-empty').isVisible()).toBe(true);
  });

  it("shows the server's field error next to its input when the time is in the future", async () => {
    await page.goto(`${platform.endpoints.api}/tip/`);
    await page.getByLabel('废气').check();
    await page.getByLabel('看到了什么').fill('<img src=x onerror=alert(1)> 烟囱冒黑烟');
    await page.getByLabel('所在乡镇（街道）').selectOption('songyuan');
    await page.getByLabel('具体地点').fill('x'.repeat(5));
    await page.getByLabel('发现时间').fill('2099-01-01T10:00');
    await page.getByRole('button', { name: '提交举报' }).click();
    const err = page.locator('#err-observedAt');
    await err.waitFor({ state: 'visible' });
    expect(await err.textContent()).toBe('发现时间不能晚于现在');
    expect(await page.getByLabel('发现时间').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('status').textContent()).toContain('请求参数无效');
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(await page.locator('#receipt').isHidden()).toBe(true);
  });

  it('lets an analyst triage and write to the reporter without seeing the identity', async () => {
    const queue = await official('GET', '/tips?status=received', analyst);
    expect(queue.status).toBe(200);
    const found = (queue.json.items as TipJson[]).find((t) => t.description === description);
    expect(found).toBeDefined();
    const one = await official('GET', `/tips/${found?.id}`, analyst);
    expect(one.status).toBe(200);
    tip = (one.json as { tip: TipJson }).tip;
    expect(tip.evidence).toHaveLength(1);
    expect(tip.evidence[0]?.kind).toBe('photo');
    const msg = await official('POST', `/tips/${tip.id}/messages`, analyst, { text: '请问排放一般在几点？' });
    expect(msg.status, msg.text).toBe(201);

    await follow();
    const messages = await page.locator('#messages li').allTextContents();
    expect(messages).toEqual([expect.stringContaining('请问排放一般在几点？')]);
    await page.getByLabel('回复办理人员').fill('大约晚上十点以后');
    await page.getByRole('button', { name: '发送回复' }).click();
    await expect.poll(() => page.locator('#messages li').count()).toBe(2);
  });

  it('shows the reporter the reward post opening the identity with a reason', async () => {
    const opened = await official('POST', `/tips/${tip.id}/identity/open`, rewardPost, { reason: '核实身份发放奖励' });
    expect(opened.status, opened.text).toBe(200);
    expect(opened.json).toMatchObject({ identity });
    await follow();
    const access = await page.locator('#access li').allTextContents();
    expect(access).toEqual([expect.stringMatching(/奖励岗.*事由：核实身份发放奖励/)]);
  });

  it("shows the server's refusal of a file that is not what it claims next to the file field, storing nothing", async () => {
    await follow();
    const note = page.getByLabel('补充说明');
    await note.fill('又看到排放了');
    await page
      .getByLabel('照片或视频（可选）')
      .setInputFiles({ name: 'fake.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is not a photo at all') });
    await page.getByRole('button', { name: '提交补充材料' }).click();
    const err = page.locator('#err-infoFiles');
    await err.waitFor({ state: 'visible' });
    expect(await err.textContent()).toBe('证据文件无法接收：文件内容不是 image/jpeg');
    expect(await page.getByLabel('照片或视频（可选）').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#add-status').textContent()).toContain('请求参数无效');
    expect(await note.inputValue()).toBe('又看到排放了');
    expect(await page.locator('#info li').count()).toBe(0);
  });

  it('lets the reporter add a note and a photo, shown as text only, which the analyst sees with its working copy', async () => {
    const note = '凌晨两点又排了一次，<img src=x onerror=alert(1)>水是黄色的';
    await follow();
    await page.getByLabel('补充说明').fill(note);
    await expect.poll(() => page.locator('#info-count').textContent()).toBe(`${note.length} / 2000 字`);
    await page
      .getByLabel('照片或视频（可选）')
      .setInputFiles({ name: 'IMG_2051.JPG', mimeType: 'image/jpeg', buffer: jpegWithMetadata() });
    await page.locator('#infoPreviews img').waitFor();
    await page.getByRole('button', { name: '提交补充材料' }).click();
    await expect.poll(() => page.locator('#add-status').textContent()).toBe('补充材料已提交（1 个文件）。');
    const added = await page.locator('#info li').allTextContents();
    expect(added).toEqual([expect.stringContaining(`1 个文件${note}`)]);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(await page.getByLabel('补充说明').inputValue()).toBe('');
    expect(await page.locator('#infoPreviews li').count()).toBe(0);
    expect(await page.locator('#err-infoFiles').isHidden()).toBe(true);

    const seen = await official('GET', `/tips/${tip.id}`, analyst);
    expect(seen.status).toBe(200);
    const infos = (seen.json.timeline as TimelineJson[]).filter((e) => e.type === 'info');
    expect(infos).toEqual([expect.objectContaining({ text: note })]);
    expect(infos[0]?.evidence).toEqual([expect.objectContaining({ kind: 'photo', contentType: 'image/jpeg' })]);
    const key = infos[0]?.evidence?.[0]?.workingKey;
    expect(key).not.toBe(tip.evidence[0]?.workingKey);
    await expectStrippedWorkingCopy(key);
  });

  it('stores a working copy of the photo without EXIF or GPS, and never shows the identity to the analyst', async () => {
    await expectStrippedWorkingCopy(tip.evidence[0]?.workingKey);

    const again = await official('GET', `/tips/${tip.id}`, analyst);
    expect(again.status).toBe(200);
    expect(analystTexts.length).toBeGreaterThan(3);
    for (const text of analystTexts) {
      expect(text).not.toContain(identity.name);
      expect(text).not.toContain(identity.phone);
    }
    expect(pageErrors).toEqual([]);
  });

  /**
   * An anonymous reporter claims the reward (申领举报奖励) on the follow page once the tip is found true: the panel is
   * hidden before that; a bad ID number is refused next to its field without a request; a valid claim sends only the
   * identity (not the confirmation) and leaves the panel in its claimed state; the reward post opens exactly what was
   * typed, and the reporter sees that opening listed while the panel stays claimed.
   */
  describe('reward claim by an anonymous reporter on the follow page', () => {
    const claimant = { name: '王建国', phone: '13512345678', idNumber: '33112619850315002X' };
    const reason = '核实匿名举报人身份，发放举报奖励';
    const claimBodies: unknown[] = [];
    const CLAIMED = /^已于 .+ 提交奖励申领，奖励岗核实后将与您联系。$/;
    let anonReceipt: string;
    let anonTipId: string;

    const followWith = async (code: string) => {
      await page.goto(`${platform.endpoints.api}/tip/follow.html`);
      await page.getByLabel('查询码').fill(code);
      await page.getByRole('button', { name: '查询' }).click();
      await page.locator('#view').waitFor({ state: 'visible' });
    };

    beforeAll(() => {
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/tips/follow/claim') {
          claimBodies.push(JSON.parse(r.postData() ?? 'null'));
        }
      });
    });

    it('hides the claim panel for an anonymous tip that is not yet found true', async () => {
      const res = await fetch(`${platform.endpoints.api}/tips`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          category: 'hazardous_waste_dumping',
          description: '山坳里有人用货车倾倒几十桶废机油，桶上没有标签',
          location: { townshipId: 'zhukou', address: '竹口镇黄坑村后山林道尽头' },
          observedAt: new Date(Date.now() - 3_600_000).toISOString(),
          reporter: { kind: 'anonymous' },
        }),
      });
      const text = await res.text();
      expect(res.status, text).toBe(201);
      const submitted = JSON.parse(text) as { tipId: string; receipt: string };
      anonTipId = submitted.tipId;
      anonReceipt = submitted.receipt.replace(/\s/g, '');

      await followWith(anonReceipt);
      expect(await page.locator('#statusLabel').textContent()).toBe('已受理（received）');
      expect(await page.locator('#claim').isHidden()).toBe(true);
      expect(await page.getByRole('button', { name: '提交奖励申领' }).count()).toBe(0);
    });

    it('lets the reporter claim once the tip is substantiated, refusing a bad ID number next to its field', async () => {
      for (const status of ['triaging', 'verifying', 'substantiated']) {
        const res = await official('POST', `/tips/${anonTipId}/status`, analyst, { status });
        expect(res.status, `${status}: ${res.text}`).toBe(200);
      }

      await followWith(anonReceipt);
      const panel = page.locator('#claim');
      expect(await panel.isVisible()).toBe(true);
      expect(await panel.getByRole('heading').textContent()).toBe('申领举报奖励');
      const explained = await panel.textContent();
      expect(explained).toContain('浙江省');
      expect(explained).toContain('举报奖励岗');
      expect(explained).toContain('身份信息查看记录');
      expect(explained).toContain('选择不申领');
      expect(await page.locator('#claim-done').isHidden()).toBe(true);

      await page.getByLabel('姓名').fill(claimant.name);
      await page.getByLabel('手机号码').fill(claimant.phone);
      await page.getByLabel('身份证号').fill('3311261985031500');
      await page.getByLabel('本人确认为该线索的举报人，信息真实').check();
      await page.getByRole('button', { name: '提交奖励申领' }).click();
      const err = page.locator('#err-claimIdNumber');
      await err.waitFor({ state: 'visible' });
      expect(await err.textContent()).toBe('身份证号应为 18 位，最后一位是数字或 X');
      expect(await page.getByLabel('身份证号').getAttribute('aria-invalid')).toBe('true');
      expect(await page.evaluate<string>('document.activeElement?.id')).toBe('claimIdNumber');
      expect(await page.locator('#err-claimName').isHidden()).toBe(true);
      expect(await page.locator('#err-claimPhone').isHidden()).toBe(true);
      expect(claimBodies).toEqual([]);

      await page.getByLabel('身份证号').fill(claimant.idNumber);
      await page.getByRole('button', { name: '提交奖励申领' }).click();
      const done = page.locator('#claim-done');
      await done.waitFor({ state: 'visible' });
      expect(await done.textContent()).toMatch(CLAIMED);
      expect(await done.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(claimBodies).toEqual([{ identity: claimant }]);
      expect(await page.locator('#claim-form').isHidden()).toBe(true);
      expect(await page.locator('#err-claimIdNumber').isHidden()).toBe(true);
      for (const id of ['claimName', 'claimPhone', 'claimIdNumber']) {
        expect(await page.locator(`#${id}`).inputValue()).toBe('');
      }
      expect(await page.locator('#claimConfirm').isChecked()).toBe(false);
    });

    it('lets the reward post open exactly the identity typed, which the reporter then sees listed', async () => {
      const opened = await official('POST', `/tips/${anonTipId}/identity/open`, rewardPost, { reason });
      expect(opened.status, opened.text).toBe(200);
      expect((opened.json as { identity: unknown }).identity).toEqual(claimant);

      const seen = await official('GET', `/tips/${anonTipId}`, analyst);
      expect(seen.status).toBe(200);
      for (const v of Object.values(claimant)) expect(seen.text).not.toContain(v);

      await followWith(anonReceipt);
      const access = await page.locator('#access li').allTextContents();
      expect(access).toEqual([expect.stringMatching(new RegExp(`奖励岗.*事由：${reason}`))]);
      expect(await page.locator('#access-empty').isHidden()).toBe(true);
      expect(await page.locator('#claim').isVisible()).toBe(true);
      expect(await page.locator('#claim-done').textContent()).toMatch(CLAIMED);
      expect(await page.locator('#claim-open').isHidden()).toBe(true);
      expect(await page.getByRole('button', { name: '提交奖励申领' }).count()).toBe(0);
      expect(claimBodies).toHaveLength(1);
      expect(pageErrors).toEqual([]);
    });

    it("shows the server's refusal when the reward was claimed meanwhile from another device, keeping the form", async () => {
      const res = await fetch(`${platform.endpoints.api}/tips`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          category: 'water',
          description: '养殖场的粪水用水泵直接抽进小溪，溪水发绿发臭',
          location: { townshipId: 'songyuan', address: '松源街道大济村溪边养殖场' },
          observedAt: new Date(Date.now() - 7_200_000).toISOString(),
          reporter: { kind: 'anonymous' },
        }),
      });
      const text = await res.text();
      expect(res.status, text).toBe(201);
      const submitted = JSON.parse(text) as { tipId: string; receipt: string };
      for (const status of ['triaging', 'verifying', 'substantiated']) {
        const moved = await official('POST', `/tips/${submitted.tipId}/status`, analyst, { status });
        expect(moved.status, `${status}: ${moved.text}`).toBe(200);
      }
      await followWith(submitted.receipt.replace(/\s/g, ''));
      expect(await page.locator('#claim-form').isVisible()).toBe(true);

      const elsewhere = await fetch(`${platform.endpoints.api}/tips/follow/claim`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-receipt': submitted.receipt },
        body: JSON.stringify({ identity: { name: '赵六', phone: '0578-1234567', idNumber: '331126197001010011' } }),
      });
      expect(elsewhere.status, await elsewhere.text()).toBe(200);

      await page.getByLabel('姓名').fill(claimant.name);
      await page.getByLabel('手机号码').fill(claimant.phone);
      await page.getByLabel('身份证号').fill(claimant.idNumber);
      await page.getByLabel('本人确认为该线索的举报人，信息真实').check();
      await page.getByRole('button', { name: '提交奖励申领' }).click();
      await expect
        .poll(() => page.locator('#claim-status').textContent())
        .toContain('已提交奖励申领，如需更正请联系举报奖励岗');
      expect(await page.locator('#claim-status').getAttribute('class')).toContain('bad');
      expect(await page.locator('#claim-form').isVisible()).toBe(true);
      expect(await page.getByLabel('身份证号').inputValue()).toBe(claimant.idNumber);
      expect(claimBodies).toHaveLength(2);
      expect(pageErrors).toEqual([]);
    });
  });
});
