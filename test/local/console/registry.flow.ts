import { describe, expect, it } from 'vitest';
import { FUNGI } from '#shared/domain/registry/qingyuan-seed.ts';
import { usccCheckChar } from '#shared/domain/registry/uscc.ts';
import { jpegWithMetadata } from '../../unit/helpers/images.ts';
import { api, type ContextRef, signIn, tokenFor } from './context.ts';

/**
 * 名录, 巡查 and 一张图: the admin registers a unit, its outlet and a permit limit through the forms (the API's
 * validation error shown on its field first); a grid member files a patrol report on a phone (camera photo, the
 * phone's position); the duty officer turns its finding into a tip; the county map shows Qingyuan with its units.
 */
const body17 = '91331126MA2CR7T40';
const UNIT = `${body17}${usccCheckChar(body17) ?? '0'}`;
const MQTT_DEVICE = '33112600000000000000FW01'; // seeded without a certificate
const UPGRADED = '33112600000000000000AB01'; // the waste-water plant's DAQ, upgraded in place to HJ 212-2025 here
const INSTALLER_KEY = 'w8Jd3QkZ5nTb7Xr2';
const FINDING = '竹口溪大桥下游左岸排口有黄色泡沫，气味刺鼻';

interface Tip {
  tip: { channel: string; evidence: unknown[]; patrolFinding?: { patrolId: string } };
}

export function registryFlows(context: ContextRef) {
  describe('registry, patrols and the county map', () => {
    it('lets the admin register a unit, an outlet and its permit limit, showing a field error first', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'admin', '/registry/enterprises/new');
      const choose = async (label: string, option: string) => {
        await page
          .locator('.el-form-item', { has: page.getByLabel(label, { exact: true }) })
          .locator('.el-select__wrapper')
          .click();
        await page.getByRole('option', { name: option, exact: true }).click();
      };
      await page.getByLabel('统一社会信用代码').fill(UNIT);
      await page.getByLabel('单位名称').fill('庆元县测试竹制品有限公司');
      await choose('所在乡镇', '竹口镇');
      await choose('行业', '竹木制品');
      await page.getByLabel('地址', { exact: true }).fill('竹口镇工业园区 8 号');
      await page.getByLabel('纬度（WGS-84）').fill('30.1');
      await page.getByLabel('经度（WGS-84）').fill('118.91');
      await page.getByLabel('行业主管部门').fill('庆元县经济商务科技局');
      await page.getByLabel('环保负责人').fill('李明（测试）');
      await page.getByLabel('负责人电话').fill('13800000199');
      await page.getByRole('button', { name: '保存' }).click();
      // the API's refusal, on the field it names
      const latItem = page.locator('.el-form-item', { has: page.getByLabel('纬度（WGS-84）') });
      await expect.poll(() => latItem.locator('.el-form-item__error').textContent()).toContain('坐标不在庆元县范围内');
      await page.getByLabel('纬度（WGS-84）').fill('27.705');
      await page.getByRole('button', { name: '保存' }).click();
      await page.waitForURL((u) => u.pathname === `/console/registry/enterprises/${UNIT}`);
      await expect.poll(() => page.locator('h1').textContent()).toBe('庆元县测试竹制品有限公司');

      await page.goto(`${ctx.platform.endpoints.web}console/registry/outlets/new`);
      await choose('所属单位', '庆元县测试竹制品有限公司');
      await page.getByLabel('排放口代码').fill('DW001');
      await page.getByLabel('名称', { exact: true }).fill('废水总排口');
      await page.getByLabel('纬度（WGS-84）').fill('27.7052');
      await page.getByLabel('经度（WGS-84）').fill('118.9105');
      await page.getByRole('button', { name: '添加限值' }).click();
      await page.getByLabel('污染物代码').fill('w01018');
      await page.getByLabel('上限').fill('100');
      await page.getByLabel('单位', { exact: true }).fill('mg/L');
      await page.getByLabel('标准').fill('GB 8978-1996');
      await page.getByLabel('级别').fill('表4 一级');
      await page.getByRole('button', { name: '保存' }).click();
      await page.waitForURL((u) => u.pathname === `/console/registry/outlets/${UNIT}-DW001`);
      const limits = page.getByRole('table', { name: '许可限值' }).or(page.locator('.el-table', { hasText: 'w01018' }));
      await expect.poll(() => limits.first().textContent()).toContain('w01018');

      const stored = await api<{ item: { limits: { pollutant: string; max: number }[] } }>(
        ctx,
        tokenFor(ctx, 'check', ['admin']),
        'GET',
        `/registry/outlets/${UNIT}-DW001`,
      );
      expect(stored.json.item.limits).toEqual([expect.objectContaining({ pollutant: 'w01018', max: 100 })]);
      await page.close();
    });

    it('lets the admin rotate an MQTT device’s certificate: the key shown once and kept nowhere in the browser', async () => {
      const ctx = context();
      const admin = tokenFor(ctx, 'admin-setup', ['admin']);
      // the seeded MQTT device gets its first certificate through the API; the console replaces it
      expect((await api(ctx, admin, 'POST', `/registry/devices/${MQTT_DEVICE}/certificate`, {})).status).toBe(201);
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'admin', `/registry/devices/${MQTT_DEVICE}`);
      await page.getByRole('button', { name: '更换证书' }).click();
      const dialog = page.getByRole('dialog', { name: '更换证书' });
      await expect.poll(() => dialog.getByLabel('证书签名请求 CSR（PEM，可选）').isVisible()).toBe(true);
      await dialog.getByRole('button', { name: '更换', exact: true }).click();
      const issued = page.getByTestId('issued-certificate');
      await expect.poll(() => issued.textContent(), { timeout: 10_000 }).toContain('只显示这一次，平台不保存');
      const key = await issued.getByLabel('设备私钥（仅显示一次）').inputValue();
      expect(key).toContain('PRIVATE KEY');
      const [file] = await Promise.all([
        page.waitForEvent('download'),
        issued.getByRole('button', { name: '下载证书（PEM）' }).click(),
      ]);
      expect(file.suggestedFilename()).toMatch(new RegExp(`^${MQTT_DEVICE}-.+\\.cert\\.pem$`));
      const stored = await page.evaluate('JSON.stringify([{ ...localStorage }, { ...sessionStorage }])');
      expect(String(stored)).not.toContain(key.split('\n')[1]);
      await issued.getByRole('button', { name: '我已保存私钥，关闭' }).click();
      expect(await issued.count()).toBe(0);
      const certificates = page
        .getByRole('table', { name: '证书记录' })
        .or(page.locator('.el-table', { hasText: '已更换' }));
      await expect.poll(() => certificates.first().textContent()).toContain('已更换');

      const device = await api<{ item: { iot: { certificates: { status: string }[] } } }>(
        ctx,
        admin,
        'GET',
        `/registry/devices/${MQTT_DEVICE}`,
      );
      expect(device.json.item.iot.certificates.map((c) => c.status).sort()).toEqual(['active', 'inactive']);
      await page.close();
    });

    it('lets the admin enter an upgraded device’s SM4 key (a patterned one refused first) and rotate it, never showing a key', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'admin', `/registry/devices/${UPGRADED}`);
      const keys = page.getByTestId('device-keys');
      const field = keys.getByLabel('SM4 密钥', { exact: true });
      await field.fill('1234567890123456');
      await expect.poll(() => keys.locator('.el-form-item__error').textContent()).toContain('连续字符');
      expect(await keys.getByRole('button', { name: '录入密钥' }).isDisabled()).toBe(true);
      await field.fill(INSTALLER_KEY);
      await keys.getByRole('button', { name: '录入密钥' }).click();
      const versions = keys
        .getByRole('table', { name: '密钥版本' })
        .or(keys.locator('.el-table', { hasText: '登记录入' }));
      await expect.poll(() => versions.first().textContent()).toContain('当前使用');
      await keys.getByRole('button', { name: '立即轮换密钥' }).click();
      await page.getByRole('button', { name: '下发新密钥' }).click();
      await expect.poll(() => keys.getByTestId('rotation-pending').textContent()).toContain('待设备 9012 确认');
      expect(await page.content()).not.toContain(INSTALLER_KEY);
      const device = await api<{ item: { sm4: { versions: { status: string; source: string; pushQn?: string }[] } } }>(
        ctx,
        tokenFor(ctx, 'check', ['admin']),
        'GET',
        `/registry/devices/${UPGRADED}`,
      );
      expect(device.json.item.sm4.versions.map((v) => [v.status, v.source])).toEqual([
        ['current', 'registration'],
        ['pending', 'admin'],
      ]);
      const push = await api<{ cn: string }>(
        ctx,
        tokenFor(ctx, 'check', ['admin']),
        'GET',
        `/devices/${UPGRADED}/commands/${device.json.item.sm4.versions[1]?.pushQn}`,
      );
      expect(push.json.cn).toBe('1014');
      await page.close();
    });

    it('lets a grid member file a patrol on a phone with a camera photo and the phone’s position', async () => {
      const ctx = context();
      const phone = await ctx.browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
        geolocation: { latitude: 27.7081, longitude: 118.9012 },
        permissions: ['geolocation'],
      });
      const page = await phone.newPage();
      await signIn(ctx, page, 'grid.zhukou', '/patrols/new');
      await expect
        .poll(() => page.getByTestId('route-count').textContent(), { timeout: 10_000 })
        .toBe('已记录 1 个位置');
      // only the sections of the grid member's township: 竹口溪, chosen already
      const sectionItem = page.locator('.el-form-item', { has: page.locator('#p-section') });
      await expect.poll(() => sectionItem.textContent(), { timeout: 10_000 }).toContain('竹口溪');
      await page.getByRole('button', { name: '添加发现的问题' }).click();
      await page.getByLabel('问题描述').fill(FINDING);
      const camera = page.locator('#p-photo-0');
      expect(await camera.getAttribute('capture')).toBe('environment');
      expect(await camera.getAttribute('accept')).toBe('image/*');
      await camera.setInputFiles({ name: 'IMG_3001.JPG', mimeType: 'image/jpeg', buffer: jpegWithMetadata() });
      await page.getByRole('button', { name: '标记发现位置' }).click();
      await expect
        .poll(() => page.getByTestId('route-count').textContent(), { timeout: 10_000 })
        .toBe('已记录 2 个位置');
      // the phone's width: no horizontal scrolling
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.getByRole('button', { name: '提交巡查记录' }).click();
      await page.waitForURL((u) => u.pathname === '/console/patrols');
      const card = page.getByTestId('patrol').filter({ hasText: FINDING });
      await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(1);
      expect(await card.textContent()).toContain('照片 1 张');
      expect(await card.textContent()).toContain('27.70810, 118.90120');
      await phone.close();
    });

    it('lets the duty officer turn the finding into a tip', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'duty', '/patrols');
      await page.goto(`${ctx.platform.endpoints.web}console/patrols?section=zhukouxi`);
      const card = page.getByTestId('patrol').filter({ hasText: FINDING });
      await card.getByRole('button', { name: '转为线索' }).click();
      await page.getByLabel('地点').fill('竹口溪竹口大桥下游 200 米左岸');
      await page.getByRole('dialog').getByRole('button', { name: '转为线索' }).click();
      const tag = card.locator('.el-tag', { hasText: '已转为线索' });
      await expect.poll(() => tag.count(), { timeout: 10_000 }).toBe(1);
      const tipId = String(await tag.textContent())
        .replace('已转为线索', '')
        .trim();
      const tip = await api<Tip>(ctx, tokenFor(ctx, 'check', ['analyst']), 'GET', `/tips/${tipId}`);
      expect(tip.status).toBe(200);
      expect(tip.json.tip.channel).toBe('patrol');
      expect(tip.json.tip.evidence).toHaveLength(1);
      await page.close();
    });

    it('draws 庆元县 with its units, coloured by their worst open alarm', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'duty', '/map');
      await expect.poll(() => page.locator('[data-testid=county-map] canvas').count(), { timeout: 10_000 }).toBe(1);
      expect(await page.locator('.map-note').textContent()).toContain('乡镇位置为示意位置');
      await expect.poll(() => page.locator('.el-table', { hasText: '庆元县测试竹制品有限公司' }).count()).toBe(1);
      const token = tokenFor(ctx, 'check', ['duty_officer']);
      const open = (
        await Promise.all(
          ['active', 'acknowledged'].map(
            async (state) =>
              (
                await api<{ items: { level: number }[] }>(
                  ctx,
                  token,
                  'GET',
                  `/alarms?enterprise=${FUNGI}&state=${state}`,
                )
              ).json.items,
          ),
        )
      ).flat();
      const row = page.locator('.el-table__row', { hasText: '庆元县示例香菇食品有限公司' });
      const expected =
        open.length > 0
          ? `未解除告警 ${open.length} 条，最高${['一', '二', '三', '四'][Math.min(...open.map((a) => a.level)) - 1]}级`
          : '无未解除告警';
      await expect.poll(() => row.first().textContent()).toContain(expected);
      await page.close();
    });
  });
}
