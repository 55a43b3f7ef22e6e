import { createHash } from 'node:crypto';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { beijingDate } from '#shared/domain/calendar/cn-holidays.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { ENTERPRISES, OUTLETS, PENCIL } from '#shared/domain/registry/qingyuan-seed.ts';
import { usccCheckChar } from '#shared/domain/registry/uscc.ts';
import { answerCommand } from '../../../scripts/simulate/answers.ts';
import { seededDevices } from '../../../scripts/simulate/devices.ts';
import { TcpLink } from '../../../scripts/simulate/tcp-link.ts';
import { contains, GPS, jpegWithMetadata, MODEL, SECRETS } from '../../unit/helpers/images.ts';
import { eventually } from '../helpers.ts';
import { accessToken, api, type ContextRef, hourAgo, publishPacket, signIn, tableRows, tokenFor } from './context.ts';

/**
 * 告警中心 and 企业端 in the browser: the duty officer opens an alarm a packet raised, sees the readings on the chart and
 * the notification log, acknowledges it (after a stale attempt is refused with a Chinese message) and exports the list
 * to XLSX (a hostile unit name comes out as text); the enterprise answers its alarm with a photo it uploads, the duty
 * officer finds the answer in the list's 待审核 filter, opens the photo's link (the metadata-stripped copy) and accepts
 * the answer; the enterprise sees nothing of another unit.
 */
const PW01 = '33112600000000000000PW01'; // pencil factory, 屏都街道, waste water to the sewer (COD limit 500 mg/L)
const PA01 = '33112600000000000000PA01'; // pencil factory, its coating line's air DAQ on TCP
const HOSTILE_MN = '33112600000000000000XH01';
const HOSTILE_NAME = '=HYPERLINK("http://evil.example","点这里")示例厂';
const first17 = '91331126MA2BXH0E1';
const HOSTILE_UNIT = first17 + (usccCheckChar(first17) ?? '0');

interface AlarmItem {
  alarmId: string;
  enterpriseId: string;
  state: string;
  version: number;
}
interface Event {
  type: string;
}

const cod = (value: number) => `w01018-Avg=${value.toFixed(1)},w01018-Flag=N;w00000-Avg=4.2,w00000-Flag=N`;

export function alarmFlows(context: ContextRef) {
  describe('告警中心 and the enterprise’s answer', () => {
    let pencilAlarm: AlarmItem;
    let hostileAlarm: AlarmItem;

    it('raises an alarm at the pencil factory and one at a unit with a hostile name (single packets)', async () => {
      const ctx = context();
      const admin = tokenFor(ctx, 'admin-setup', ['admin']);
      const county = tokenFor(ctx, 'duty-setup', ['duty_officer']);
      // a unit whose name is a spreadsheet formula: the export must keep it text
      const base = ENTERPRISES.find((e) => e.id === PENCIL);
      const outlet = OUTLETS.find((o) => o.id === `${PENCIL}-DW001`);
      expect(
        (await api(ctx, admin, 'POST', '/registry/enterprises', { ...base, id: HOSTILE_UNIT, name: HOSTILE_NAME }))
          .status,
      ).toBe(201);
      expect(
        (
          await api(ctx, admin, 'POST', '/registry/outlets', {
            ...outlet,
            id: `${HOSTILE_UNIT}-DW001`,
            enterpriseId: HOSTILE_UNIT,
            // in a drinking-water source protection zone: its exceedance is 一级, which sounds on the console
            inDrinkingWaterProtectionZone: true,
          })
        ).status,
      ).toBe(201);
      expect(
        (
          await api(ctx, admin, 'POST', '/registry/devices', {
            mn: HOSTILE_MN,
            enterpriseId: HOSTILE_UNIT,
            outletId: `${HOSTILE_UNIT}-DW001`,
            st: '32',
            protocol: 'hj212-2017',
            pollutants: ['w00000', 'w01018'],
            intervals: { realtimeSeconds: 60, minuteMinutes: 10, hourly: true },
            password: '123456',
          })
        ).status,
      ).toBe(201);

      // hourly COD at the pencil factory: normal, normal, (an hour missing), then 1200 mg/L against 500
      for (const [h, value] of [
        [6, 220],
        [5, 260],
        [3, 310],
        [2, 1200],
      ] as const) {
        await publishPacket(ctx, PW01, { st: '32', cn: '2061', dataTime: hourAgo(h), cp: cod(value) });
      }
      await publishPacket(ctx, HOSTILE_MN, { st: '32', cn: '2061', dataTime: hourAgo(2), cp: cod(900) });
      const unitAlarm = (unit: string) =>
        eventually(
          async () =>
            (await api<{ items: AlarmItem[] }>(ctx, county, 'GET', `/alarms?enterprise=${unit}`)).json.items[0],
          20_000,
          `an alarm at ${unit}`,
        );
      pencilAlarm = await unitAlarm(PENCIL);
      hostileAlarm = await unitAlarm(HOSTILE_UNIT);
      // the notification went out with the opening: its log is what the detail shows
      await eventually(
        async () =>
          (
            await api<{ items: Event[] }>(ctx, county, 'GET', `/alarms/${pencilAlarm.alarmId}/timeline`)
          ).json.items.some((e) => e.type === 'notified') || undefined,
        20_000,
        'the notification of the pencil alarm',
      );
    });

    it('lets the duty officer open the alarm, see chart and SMS log, and acknowledge it (a stale page is told)', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'duty', '/alarms');
      const row = tableRows(page).filter({ hasText: '示例铅笔制造' });
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
      await row.getByRole('link').click();
      await page.waitForURL(`**/console/alarms/${pencilAlarm.alarmId}`);

      await expect.poll(() => page.getByTestId('alarm-state').textContent()).toContain('未处理');
      // the chart: the four readings, the permit limit, the missing hour shaded
      const chart = page.getByTestId('series-chart');
      await expect
        .poll(() => chart.getAttribute('aria-label'), { timeout: 10_000 })
        .toMatch(/共 4 个数据，许可限值 500mg\/L，超过限值 1 个，数据缺失 \d+ 段/);
      expect(await chart.locator('canvas').count()).toBe(1);
      // the notification log: who got the SMS (numbers masked) and its text
      const log = page.getByTestId('notifications');
      await expect.poll(() => log.textContent()).toContain('生态环境分局');
      expect(await log.textContent()).toMatch(/138\*\*\*\*\d{4}/);
      expect(await log.textContent()).toContain('【庆元环保】');

      // someone else changes the alarm behind the page: acknowledging from the stale page is refused, in Chinese
      const other = tokenFor(ctx, 'duty-other', ['duty_officer']);
      const snoozed = await api(ctx, other, 'POST', `/alarms/${pencilAlarm.alarmId}/snooze`, {
        until: new Date(Date.now() + 3_600_000).toISOString(),
        note: '厂方检修中，一小时后复查',
      });
      expect(snoozed.status).toBe(200);
      const actions = page.getByRole('group', { name: '告警处置' });
      await actions.getByRole('button', { name: '确认', exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
      const notice = page.getByRole('dialog', { name: '告警已更新' });
      await expect.poll(() => notice.textContent()).toContain('已被他人处理或更新');
      await notice.getByRole('button', { name: '知道了' }).click();
      // the page now shows the current alarm: acknowledging works
      await expect.poll(() => page.getByText('暂缓提醒至').count()).toBe(1);
      await actions.getByRole('button', { name: '确认', exact: true }).click();
      await page.getByRole('dialog', { name: '确认告警' }).getByRole('button', { name: '确定' }).click();
      await expect.poll(() => page.getByTestId('alarm-state').textContent()).toContain('已确认');
      await expect.poll(() => page.getByText('处置时间线').locator('..').textContent()).toContain('确认');
      await page.close();
    });

    it('sounds a 一级 alarm once allowed, until it is opened', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'duty', '/alarms');
      const banner = page.getByTestId('urgent-banner');
      await expect.poll(() => banner.textContent(), { timeout: 10_000 }).toContain('示例厂');
      expect(await banner.getAttribute('data-ringing')).toBe('false');
      await page.getByRole('button', { name: '开启声音提醒' }).click();
      await expect.poll(() => banner.getAttribute('data-ringing')).toBe('true');
      await banner.getByRole('link').first().click();
      await page.waitForURL(`**/console/alarms/${hostileAlarm.alarmId}`);
      await expect.poll(() => page.getByTestId('alarm-state').textContent()).toContain('未处理');
      await page.goBack();
      await expect.poll(() => page.getByRole('button', { name: '关闭声音提醒' }).count()).toBe(1);
      await expect.poll(() => banner.count()).toBe(0);
      await page.close();
    });

    it('exports the list to XLSX that opens with exceljs, the hostile unit name kept as text', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'duty', '/alarms');
      await expect.poll(() => tableRows(page).filter({ hasText: '示例厂' }).count(), { timeout: 10_000 }).toBe(1);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: '导出 Excel' }).click(),
      ]);
      expect(download.suggestedFilename()).toMatch(/^告警列表-\d{4}-\d{2}-\d{2}\.xlsx$/);
      const book = new ExcelJS.Workbook();
      await book.xlsx.readFile(await download.path());
      const sheet = book.getWorksheet('告警列表');
      const names: unknown[] = [];
      sheet?.eachRow((r, n) => {
        if (n > 2) names.push(r.getCell(5).value);
        r.eachCell((c) => {
          expect(c.type).not.toBe(ExcelJS.ValueType.Formula);
        });
      });
      expect(names).toContain(`'${HOSTILE_NAME}`);
      expect(sheet?.getRow(1).getCell(1).value).toContain('状态 未处理');
      await page.close();
    });

    it('lets the enterprise answer its alarm with a photo, and the duty officer open the photo and accept', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'enterprise.pencil', '/alarms');
      // its own unit's alarm only
      await expect.poll(() => tableRows(page).count(), { timeout: 10_000 }).toBe(1);
      await tableRows(page).first().getByRole('link').click();
      await page.waitForURL(`**/console/alarms/${pencilAlarm.alarmId}`);
      await page.getByRole('button', { name: '填写情况说明' }).click();
      await page.getByLabel('情况说明', { exact: true }).fill('污水处理设施加药泵故障，已于当日更换并恢复运行。');
      const rectifyBy = beijingDate(new Date(Date.now() + 14 * 86_400_000));
      await page.getByLabel('承诺整改完成日期').fill(rectifyBy);
      await page.getByLabel('承诺整改完成日期').press('Enter');
      const photo = jpegWithMetadata();
      await page.locator('#a-files').setInputFiles({ name: '加药泵更换.jpg', mimeType: 'image/jpeg', buffer: photo });
      await page.getByRole('button', { name: '提交情况说明' }).click();
      await expect.poll(() => page.getByTestId('answer-status').textContent()).toContain('待审核');
      // sealed: the answer names the file with the SHA-256 of the original the browser sent
      const sha256 = createHash('sha256').update(photo).digest('hex');
      expect(await page.getByTestId('answer-files').textContent()).toContain(sha256.slice(0, 16));
      // the enterprise sees nothing of the bureau's side
      expect(await page.getByText('通知记录').count()).toBe(0);
      expect(await page.getByRole('group', { name: '告警处置' }).count()).toBe(0);

      const duty = await ctx.browser.newPage();
      // the review queue: the list's 待审核 filter shows the alarm whatever its state
      await signIn(ctx, duty, 'duty', '/alarms');
      await duty.getByText('仅看待审核情况说明').click();
      await duty.getByRole('button', { name: '查询' }).click();
      await duty.waitForURL(/response=submitted/);
      // the only answer waiting is the one just sent (the list was of active alarms by default: this one is too)
      await expect.poll(() => duty.getByTestId('awaiting-tag').count(), { timeout: 10_000 }).toBe(1);
      await tableRows(duty).first().getByRole('link').click();
      await duty.waitForURL(`**/console/alarms/${pencilAlarm.alarmId}`);
      const answer = duty.getByTestId('answer');
      await expect.poll(() => answer.textContent(), { timeout: 10_000 }).toContain('加药泵故障');
      expect(await answer.textContent()).toContain(rectifyBy);
      // the photo's link serves the working copy: the same picture without the metadata
      const link = answer.getByTestId('answer-file-link');
      await expect.poll(() => link.count(), { timeout: 10_000 }).toBe(1);
      const href = (await link.getAttribute('href')) ?? '';
      expect(href).toContain(`/evidence/response/${pencilAlarm.alarmId}/`);
      expect(href).toContain('/working.jpg');
      const served = Buffer.from(await (await fetch(href)).arrayBuffer());
      expect(served.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      for (const secret of [...SECRETS, GPS, MODEL]) expect(contains(served, secret), secret).toBe(false);
      await answer.getByRole('button', { name: '认可' }).click();
      await expect.poll(() => duty.getByTestId('answer-status').textContent()).toContain('已认可');
      await duty.close();

      // the enterprise sees the bureau's verdict
      await page.reload();
      await expect.poll(() => page.getByTestId('answer-status').textContent(), { timeout: 10_000 }).toContain('已认可');
      await page.close();
    });

    it('shows the enterprise its devices: latest values with flags, the series with its limit, the archive verified', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'enterprise.pencil', '/devices');
      await page.goto(`${ctx.platform.endpoints.web}console/devices?unit=${PENCIL}&mn=${PW01}`);
      await expect
        .poll(() => page.getByRole('region', { name: /^最新数据/ }).textContent(), { timeout: 10_000 })
        .toContain('化学需氧量');
      expect(await page.getByRole('region', { name: /^最新数据/ }).textContent()).toContain('正常（N）');
      const chart = page.getByTestId('series-chart');
      await expect.poll(() => chart.getAttribute('aria-label'), { timeout: 10_000 }).toContain('小时数据');
      // Element Plus opens a select from its wrapper (the placeholder covers the input)
      await page.locator('.el-select', { has: page.getByRole('combobox', { name: '监测因子' }) }).click();
      await page.getByRole('option', { name: '化学需氧量' }).click();
      await expect
        .poll(() => chart.getAttribute('aria-label'), { timeout: 10_000 })
        .toMatch(/化学需氧量 · 小时数据：.* 共 4 个数据，许可限值 500mg\/L，超过限值 1 个/);
      const today = beijingDate(new Date());
      await page.getByPlaceholder('开始日期').fill(today);
      await page.getByPlaceholder('结束日期').fill(today);
      await page.getByPlaceholder('结束日期').press('Enter');
      await page.getByRole('button', { name: '校验', exact: true }).click();
      await expect
        .poll(() => page.getByTestId('verify-result').textContent(), { timeout: 10_000 })
        .toMatch(/存证完整：\d+ 条记录/);
      // an enterprise may not command its devices: no panel (the API refuses too)
      expect(await page.getByRole('region', { name: '远程指令' }).count()).toBe(0);
      await page.close();
    });

    it('lets the duty officer retain a sample (3022) at a TCP device and see the device execute it', async () => {
      const ctx = context();
      // the pencil factory's air DAQ as the simulator runs it: logged in on the gateway by its data, answering commands
      const device = seededDevices().find((d) => d.mn === PA01);
      if (!device) throw new Error(`${PA01} is not a seeded device`);
      const gateway = new URL(String(ctx.platform.endpoints.hj212));
      const link = new TcpLink({
        host: gateway.hostname,
        port: Number(gateway.port),
        onRequest: (p) => answerCommand(device, p),
      });
      link.start();
      try {
        const qn = isoToBeijing(new Date(), true);
        const cp = `DataTime=${isoToBeijing(new Date().toISOString())};a24088-Rtd=3.1,a24088-Flag=N`;
        const login = encodePacket({ qn, st: '31', cn: '2011', pw: device.password, mn: PA01, flag: 5, cp });
        expect((await link.send(login, qn, true)).result).toBe('acked');

        const page = await ctx.browser.newPage();
        await signIn(ctx, page, 'duty', '/devices');
        await page.goto(`${ctx.platform.endpoints.web}console/devices?unit=${PENCIL}&mn=${PA01}`);
        const panel = page.getByRole('region', { name: '远程指令' });
        await expect.poll(() => panel.textContent(), { timeout: 10_000 }).toContain('尚未向该设备下发指令');
        await panel.getByRole('button', { name: '留样' }).click();
        const confirm = page.getByRole('dialog', { name: '确认下发指令' });
        expect(await confirm.textContent()).toContain('即时留样（3022）');
        await confirm.getByRole('button', { name: '下发' }).click();
        const status = panel.getByTestId('command-status').first();
        // the list is read again every 3 s while the command waits for the device's 9011 / 9012
        await expect.poll(() => status.textContent(), { timeout: 15_000 }).toContain('执行成功');
        expect(await panel.locator('tbody tr').first().textContent()).toContain('留样 · ');
        await page.close();
      } finally {
        await link.close();
      }
    });

    it('shows the enterprise nothing of another unit: not in its list, 404 for the alarm, no timeline', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'enterprise.pencil', '/');
      const token = String(await accessToken(page));
      const mine = await api<{ items: AlarmItem[] }>(ctx, token, 'GET', '/alarms');
      expect(mine.json.items.map((a) => a.enterpriseId)).toEqual([PENCIL]);
      // asking for another unit's alarms by filter still lists its own only
      const asked = await api<{ items: AlarmItem[] }>(ctx, token, 'GET', `/alarms?enterprise=${HOSTILE_UNIT}`);
      expect(asked.json.items.every((a) => a.enterpriseId === PENCIL)).toBe(true);
      expect((await api(ctx, token, 'GET', `/alarms/${hostileAlarm.alarmId}`)).status).toBe(404);
      expect((await api(ctx, token, 'GET', `/alarms/${hostileAlarm.alarmId}/response`)).status).toBe(404);
      expect(
        (
          await api(ctx, token, 'PUT', `/alarms/${hostileAlarm.alarmId}/response`, {
            explanation: '越权',
            rectifyBy: beijingDate(new Date()),
          })
        ).status,
      ).toBe(404);
      expect((await api(ctx, token, 'GET', `/alarms/${pencilAlarm.alarmId}/timeline`)).status).toBe(403);
      expect((await api(ctx, token, 'GET', '/tips')).status).toBe(403);
      await page.goto(`${ctx.platform.endpoints.web}console/alarms/${hostileAlarm.alarmId}`);
      await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('未找到该告警');
      await page.close();
      // leave the county without this file's 一级 alarm for the flows after it
      const county = tokenFor(ctx, 'duty-setup', ['duty_officer']);
      const cleared = await api(ctx, county, 'POST', `/alarms/${hostileAlarm.alarmId}/clear`, {
        note: '测试结束，人工解除',
      });
      expect(cleared.status).toBe(200);
    });
  });
}
