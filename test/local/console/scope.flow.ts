import { describe, expect, it } from 'vitest';
import { BAMBOO, FUNGI } from '#shared/domain/registry/qingyuan-seed.ts';
import { eventually } from '../helpers.ts';
import { accessToken, api, type ContextRef, hourAgo, publishPacket, signIn, tableRows, tokenFor } from './context.ts';

/**
 * Sign-in and township scope: an official signs in with a demo account's password through the local OpenID Connect
 * provider (authorization code + PKCE), and what the API then shows is kept to the official's townships.
 */
const FA01 = '33112600000000000000FA01'; // fungi company, 竹口镇, gas boiler stack
const BW01 = '33112600000000000000BW01'; // bamboo factory, 黄田镇, waste water

interface AlarmItem {
  alarmId: string;
  townshipId: string;
  state: string;
}

export function scopeFlows(context: ContextRef) {
  describe('sign-in and township scope', () => {
    const alarms: Record<string, AlarmItem> = {};

    it('raises one alarm in 竹口镇 and one in 黄田镇 (single packets)', async () => {
      const ctx = context();
      const county = tokenFor(ctx, 'duty-county', ['duty_officer']);
      await publishPacket(ctx, FA01, {
        st: '31',
        cn: '2061',
        dataTime: hourAgo(2),
        cp: 'a21026-Avg=300.0,a21026-ZsAvg=320.0,a21026-Flag=N;a19001-Avg=9.5,a19001-Flag=N;a00000-Avg=3.1,a00000-Flag=N',
      });
      await publishPacket(ctx, BW01, {
        st: '32',
        cn: '2061',
        dataTime: hourAgo(2),
        cp: 'w01018-Avg=250.0,w01018-Flag=N;w00000-Avg=5.2,w00000-Flag=N',
      });
      for (const unit of [FUNGI, BAMBOO]) {
        alarms[unit] = await eventually(
          async () =>
            (await api<{ items: AlarmItem[] }>(ctx, county, 'GET', `/alarms?enterprise=${unit}`)).json.items[0],
          20_000,
          `an alarm at ${unit}`,
        );
      }
    });

    it('signs a township duty officer in with a password through the local OIDC provider (code + PKCE)', async () => {
      const ctx = context();
      const page = await ctx.browser.newPage();
      const csp: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/.test(m.text())) csp.push(m.text());
      });
      await signIn(ctx, page, 'duty.zhukou', '/alarms');
      await expect.poll(() => page.getByText('竹口镇值班员 周建华').count()).toBe(1);
      expect(csp).toEqual([]);
      // the token the console holds is a real access token from the provider: the API accepts it
      const token = await accessToken(page);
      const claims = JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString('utf8'));
      expect(claims).toMatchObject({
        iss: ctx.platform.endpoints.auth.oidc,
        townships: ['zhukou'],
        roles: ['duty_officer'],
      });
      await page.close();
    });

    it('shows a township official only that township’s alarms, and answers 404 for another township’s', async () => {
      const ctx = context();
      const county = tokenFor(ctx, 'duty-county', ['duty_officer']);
      const page = await ctx.browser.newPage();
      await signIn(ctx, page, 'duty.zhukou', '/alarms');
      const rows = tableRows(page);
      await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
      await expect.poll(() => rows.first().textContent()).toContain('竹口镇');

      const token = String(await accessToken(page));
      const listed = await api<{ items: AlarmItem[] }>(ctx, token, 'GET', '/alarms');
      expect(listed.json.items.map((a) => a.townshipId)).toEqual(['zhukou']);
      const own = alarms[FUNGI] as AlarmItem;
      const other = alarms[BAMBOO] as AlarmItem;
      expect((await api(ctx, token, 'GET', `/alarms/${own.alarmId}`)).status).toBe(200);
      expect((await api(ctx, token, 'GET', `/alarms/${other.alarmId}`)).status).toBe(404);
      // acting on it is the same 404, and nothing changes
      expect((await api(ctx, token, 'POST', `/alarms/${other.alarmId}/acknowledge`, { note: '越权确认' })).status).toBe(
        404,
      );
      expect((await api<AlarmItem>(ctx, county, 'GET', `/alarms/${other.alarmId}`)).json.state).toBe('active');
      // a county-wide duty officer sees both
      const all = await api<{ items: AlarmItem[] }>(ctx, county, 'GET', '/alarms');
      expect(all.json.items.map((a) => a.townshipId).sort()).toEqual(['huangtian', 'zhukou']);
      await page.close();
    });

    it('answers a console route on reload with the console and refuses a wrong password', async () => {
      const ctx = context();
      const res = await fetch(`${ctx.platform.endpoints.web}console/alarms`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<div id="app"></div>');
      const page = await ctx.browser.newPage();
      await page.goto(`${ctx.platform.endpoints.web}console/`);
      await page.waitForURL(/\/interaction\//);
      await page.getByLabel('用户名').fill('duty.zhukou');
      await page.getByLabel('密码').fill('wrong-password');
      await page.getByRole('button', { name: '登录' }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('用户名或密码错误');
      await page.close();
    });
  });
}
