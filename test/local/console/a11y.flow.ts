import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { DEMO_ACCOUNTS } from '#infra/local/demo-accounts.ts';
import { FUNGI } from '#shared/domain/registry/qingyuan-seed.ts';
import { MENU } from '#web/console/src/layout/menu.ts';
import type { ContextRef } from './context.ts';
import { signIn } from './context.ts';

/**
 * Accessibility of the whole console: every page of the menu (layout/menu.ts) and every other page the router has
 * without a parameter (read from the running console, so pages added later are covered), each as a demo account whose
 * roles see it, plus the registry's entry and form pages. axe-core (WCAG 2 A and AA) must find nothing serious or
 * critical; every form control has an accessible name; no control is out of the Tab order, and on a form page the
 * Tab key itself reaches every control.
 */
interface Visit {
  path: string;
  account: string;
}

/** pages with parameters the router cannot list: the registry's forms and an entry */
const EXTRA: Visit[] = [
  { path: '/registry/enterprises/new', account: 'admin' },
  { path: '/registry/outlets/new', account: 'admin' },
  { path: '/registry/devices/new', account: 'admin' },
  { path: `/registry/enterprises/${FUNGI}`, account: 'admin' },
  { path: `/registry/outlets/${FUNGI}-DW001`, account: 'admin' },
  // a device entry: the admin's certificate and decommission actions
  { path: '/registry/devices/33112600000000000000FW01', account: 'admin' },
];

/** a demo account that sees a menu item: the county-wide duty officer where it is theirs (the admin has the forms) */
function accountFor(roles: readonly string[]): string {
  const fits = (a: (typeof DEMO_ACCOUNTS)[number]) => roles.length === 0 || a.roles.some((r) => roles.includes(r));
  const duty = DEMO_ACCOUNTS.find((a) => a.username === 'duty');
  if (duty && fits(duty)) return duty.username;
  return (
    (DEMO_ACCOUNTS.find((a) => fits(a) && a.townships.includes('*')) ?? DEMO_ACCOUNTS.find(fits))?.username ?? 'admin'
  );
}

/** the console's own routes, from its router, without parameters (a route with one cannot be visited as it is) */
const staticRoutes = (page: Page) =>
  page.evaluate<string[]>(`(() => {
    const app = document.querySelector('#app').__vue_app__;
    return app.config.globalProperties.$router.getRoutes()
      .map((r) => r.path)
      .filter((p) => !p.includes(':') && p !== '/callback');
  })()`);

/** form controls without an accessible name (label, aria-label or aria-labelledby) */
const unlabelled = (page: Page) =>
  page.evaluate<string[]>(`(() => {
    const named = (el) => {
      if (el.getAttribute('aria-label')?.trim()) return true;
      const by = el.getAttribute('aria-labelledby');
      if (by && by.split(/\\s+/).some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return true;
      return Boolean(el.getAttribute('title')?.trim());
    };
    return [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea, [role=dialog] input, [role=dialog] textarea')]
      .filter((el) => !el.closest('[aria-hidden=true]') && !named(el))
      .map((el) => el.outerHTML.slice(0, 160));
  })()`);

const CONTROLS = `main a[href], main button:not([disabled]), main input:not([disabled]):not([type=hidden]), main textarea:not([disabled]), main select:not([disabled])`;

/** the page's visible controls in <main> that are out of the Tab order (tabindex -1) */
const outOfTabOrder = (page: Page) =>
  page.evaluate<string[]>(`[...document.querySelectorAll('${CONTROLS}')]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && !el.closest('[aria-hidden=true]') && getComputedStyle(el).visibility !== 'hidden'; })
    .filter((el) => el.tabIndex < 0)
    .map((el) => el.outerHTML.slice(0, 160))`);

/**
 * Tabs through the page; answers the controls in <main> that the Tab key never reached. A group of radio buttons is
 * one stop (the arrow keys move within it), so it counts as reached when one of them is.
 */
async function notReachedByTab(page: Page): Promise<string[]> {
  const total = await page.evaluate<number>(`(() => {
    const controls = [...document.querySelectorAll('${CONTROLS}')]
      .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && !el.closest('[aria-hidden=true]') && getComputedStyle(el).visibility !== 'hidden'; });
    controls.forEach((el, i) => el.setAttribute('data-a11y', el.type === 'radio' && el.name ? 'radio:' + el.name : String(i)));
    window.__reached = new Set();
    document.addEventListener('focusin', (e) => { const i = e.target.getAttribute && e.target.getAttribute('data-a11y'); if (i !== null) window.__reached.add(i); });
    return new Set(controls.map((el) => el.getAttribute('data-a11y'))).size;
  })()`);
  await page.locator('body').focus();
  const missing = () =>
    page.evaluate<string[]>(`[...document.querySelectorAll('[data-a11y]')]
      .filter((el) => !window.__reached.has(el.getAttribute('data-a11y')))
      .map((el) => el.outerHTML.slice(0, 160))`);
  for (let pressed = 0; pressed < total + 30; pressed += 10) {
    for (let i = 0; i < 10; i++) await page.keyboard.press('Tab');
    if ((await missing()).length === 0) return [];
  }
  return missing();
}

/** pages walked with the Tab key itself (the others are checked for controls out of the Tab order) */
const TAB_WALKED = ['/registry/enterprises/new'];

export function a11yFlows(context: ContextRef) {
  describe('accessibility of every console page', () => {
    it('finds no serious axe violations, no unlabelled control and no control the keyboard cannot reach', async () => {
      const ctx = context();
      const visits: Visit[] = MENU.map((m) => ({ path: m.path, account: accountFor(m.roles) }));
      const byAccount = new Map<string, Page>();
      const pageOf = async (account: string, first: string) => {
        let page = byAccount.get(account);
        if (!page) {
          // axe-core/playwright needs a page of a context made with newContext()
          page = await (await ctx.browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
          await signIn(ctx, page, account, first);
          byAccount.set(account, page);
        }
        return page;
      };
      // pages of the router that are not in the menu, as the account of the menu item they sit under
      const admin = await pageOf('admin', '/');
      for (const path of await staticRoutes(admin)) {
        if (visits.some((v) => v.path === path)) continue;
        const parent = [...MENU].sort((a, b) => b.path.length - a.path.length).find((m) => path.startsWith(m.path));
        visits.push({ path, account: accountFor(parent?.roles ?? []) });
      }
      visits.push(...EXTRA);

      const problems: string[] = [];
      const check = async (visit: Visit, whole: boolean) => {
        const page = await pageOf(visit.account, visit.path);
        await page.goto(`${ctx.platform.endpoints.web}console${visit.path}`);
        // settled: the page's component shown, its data fetched, its loading mask gone
        await page.locator('.el-main main').first().waitFor({ state: 'attached', timeout: 10_000 });
        await page.waitForLoadState('networkidle');
        await page
          .locator('.el-main .el-loading-mask')
          .first()
          .waitFor({ state: 'detached', timeout: 10_000 })
          .catch(() => undefined);
        const where = `${visit.path} (${visit.account})`;
        // the header and menu are the same on every page: checked whole once per account, then the page itself
        const axe = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']);
        const result = await (whole ? axe : axe.include('.el-main')).analyze();
        for (const v of result.violations.filter((x) => x.impact === 'serious' || x.impact === 'critical')) {
          problems.push(`${where}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        }
        for (const html of await unlabelled(page)) problems.push(`${where}: unlabelled control ${html}`);
        for (const html of await outOfTabOrder(page)) problems.push(`${where}: out of the Tab order ${html}`);
        if (TAB_WALKED.includes(visit.path)) {
          for (const html of await notReachedByTab(page)) problems.push(`${where}: not reached by Tab ${html}`);
        }
      };
      // each account's pages in turn, the accounts side by side
      const accounts = [...new Set(visits.map((v) => v.account))];
      await Promise.all(
        accounts.map(async (account) => {
          const mine = visits.filter((v) => v.account === account);
          for (const [n, visit] of mine.entries()) await check(visit, n === 0);
        }),
      );
      for (const page of byAccount.values()) await page.context().close();
      expect(visits.length).toBeGreaterThanOrEqual(MENU.length + EXTRA.length);
      expect(problems).toEqual([]);
    });
  });
}
