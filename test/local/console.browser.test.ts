import { existsSync } from 'node:fs';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '#infra/local/demo-accounts.ts';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { BAMBOO, FUNGI } from '#shared/domain/registry/qingyuan-seed.ts';
import { eventually, localClientConfig, realAppAssembly, tempDir } from './helpers.ts';

/**
 * The officials' console in Debian's Chromium, on the running local platform: an official signs in through the
 * local OpenID Connect provider with a demo account's password (authorization code + PKCE), and what the API then
 * shows is kept to the official's townships. One platform for the whole file; alarms are raised with single packets.
 */
const CHROMIUM = '/usr/bin/chromium';
const FA01 = '33112600000000000000FA01'; // fungi company, 竹口镇, gas boiler stack
const BW01 = '33112600000000000000BW01'; // bamboo factory, 黄田镇, waste water

interface AlarmItem {
  alarmId: string;
  enterpriseId: string;
  townshipId: string;
}

describe('officials console in headless Chromium', () => {
  const tmp = tempDir('console');
  let platform: Platform;
  let browser: Browser;
  let county: string;
  const alarms: Record<string, AlarmItem> = {};

  const hourAgo = (h: number) => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - h * 3_600_000);

  async function publish(mn: string, st: string, cp: string) {
    const at = hourAgo(2);
    const packet = encodePacket({
      qn: isoToBeijing(new Date(), true),
      st,
      cn: '2061',
      pw: '123456',
      mn,
      flag: 4,
      cp: `DataTime=${isoToBeijing(at.toISOString())};${cp}`,
    });
    const iot = new IoTDataPlaneClient(localClientConfig(platform.endpoints.iotData));
    await iot.send(new PublishCommand({ topic: `envwatch/devices/${mn}/hj212`, qos: 1, payload: Buffer.from(packet) }));
  }

  const api = (path: string, token: string) =>
    fetch(`${platform.endpoints.api}/api${path}`, { headers: { authorization: `Bearer ${token}` } });

  /** the access token the console holds for this tab */
  const accessToken = (page: Page) =>
    page.evaluate<string>("JSON.parse(sessionStorage.getItem('envwatch.session') ?? '{}').accessToken");

  async function signIn(page: Page, username: string, target: string) {
    await page.goto(`${platform.endpoints.web}console${target}`);
    await page.waitForURL(/\/interaction\//);
    await page.getByLabel('用户名').fill(username);
    await page.getByLabel('密码').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL(new RegExp(`/console${target}$`));
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium) to run this test`);
    }
    const dataDir = `${tmp.dir}/data`;
    platform = await startPlatform({ cdkOut: realAppAssembly(), dataDir, ports: await freePorts() });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    county = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'duty-county', roles: ['duty_officer'], townships: ['*'] },
      900,
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // one hourly exceedance in 竹口镇 (SO2 at the fungi boiler) and one in 黄田镇 (COD at the bamboo factory)
    await publish(
      FA01,
      '31',
      'a21026-Avg=300.0,a21026-ZsAvg=320.0,a21026-Flag=N;a19001-Avg=9.5,a19001-Flag=N;a00000-Avg=3.1,a00000-Flag=N',
    );
    await publish(BW01, '32', 'w01018-Avg=250.0,w01018-Flag=N;w00000-Avg=5.2,w00000-Flag=N');
    for (const unit of [FUNGI, BAMBOO]) {
      alarms[unit] = await eventually(
        async () => {
          const res = await api(`/alarms?enterprise=${unit}`, county);
          return ((await res.json()) as { items: AlarmItem[] }).items[0];
        },
        20_000,
        `an alarm at ${unit}`,
      );
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    tmp.cleanup();
  });

  it('signs a township duty officer in with a password through the local OIDC provider (code + PKCE)', async () => {
    const page = await browser.newPage();
    const csp: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text())) csp.push(m.text());
    });
    await signIn(page, 'duty.zhukou', '/alarms');
    await expect.poll(() => page.getByText('竹口镇值班员 周建华').count()).toBe(1);
    expect(csp).toEqual([]);

    // the token the console holds is a real access token from the provider: the API accepts it
    const token = await accessToken(page);
    expect(typeof token).toBe('string');
    const claims = JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ iss: platform.endpoints.auth.oidc, townships: ['zhukou'], roles: ['duty_officer'] });
    await page.close();
  });

  it('shows a township official only that township’s alarms, and answers 404 for another township’s', async () => {
    const page = await browser.newPage();
    await signIn(page, 'duty.zhukou', '/alarms');
    const rows = page.locator('.el-table__body-wrapper tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => rows.first().textContent()).toContain('竹口镇');

    const token = String(await accessToken(page));
    const listed = (await (await api('/alarms', token)).json()) as { items: AlarmItem[] };
    expect(listed.items.map((a) => a.townshipId)).toEqual(['zhukou']);
    const own = alarms[FUNGI] as AlarmItem;
    const other = alarms[BAMBOO] as AlarmItem;
    expect((await api(`/alarms/${own.alarmId}`, token)).status).toBe(200);
    const hidden = await api(`/alarms/${other.alarmId}`, token);
    expect(hidden.status).toBe(404);
    // acting on it is the same 404: nothing changes
    const ack = await fetch(`${platform.endpoints.api}/api/alarms/${other.alarmId}/acknowledge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ note: '越权确认' }),
    });
    expect(ack.status).toBe(404);
    const still = (await (await api(`/alarms/${other.alarmId}`, county)).json()) as { state: string };
    expect(still.state).toBe('active');
    // a county-wide duty officer sees both
    const all = (await (await api('/alarms', county)).json()) as { items: AlarmItem[] };
    expect(all.items.map((a) => a.townshipId).sort()).toEqual(['huangtian', 'zhukou']);
    await page.close();
  });

  it('answers a console route on reload with the console (the web hosting’s fallback) and refuses a wrong password', async () => {
    const res = await fetch(`${platform.endpoints.web}console/alarms`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="app"></div>');
    const page = await browser.newPage();
    await page.goto(`${platform.endpoints.web}console/`);
    await page.waitForURL(/\/interaction\//);
    await page.getByLabel('用户名').fill('duty.zhukou');
    await page.getByLabel('密码').fill('wrong-password');
    await page.getByRole('button', { name: '登录' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('用户名或密码错误');
    await page.close();
  });
});
