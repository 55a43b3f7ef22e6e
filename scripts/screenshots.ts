/**
 * `npm run screenshots`: boots the local platform, signs in to the console as the demo account that uses each main page
 * (every entry of the console's menu, web/console/src/layout/menu.ts, so pages added there are included), and writes
 * a PNG of each to docs/console/ (referenced from the README and docs/console-registry.md). Not run by the tests.
 * Chinese needs a CJK font in Chromium: `apt-get install fonts-noto-cjk` (scripts/setup-machine.sh does).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_ACCOUNTS } from '#infra/local/demo-accounts.ts';
import { MENU } from '#web/console/src/layout/menu.ts';
import { signInAs, startConsoleRig } from './console-browser.ts';

const OUT = join(import.meta.dirname, '..', 'docs', 'console');

/** the file name of a menu path: `/` → home, `/registry` → registry */
const fileOf = (path: string) => (path === '/' ? 'home' : path.replace(/^\//, '').replace(/\//g, '-'));

/** who shows a page best: the county-wide duty officer where the page is theirs, else a county-wide account with its role */
function accountFor(roles: readonly string[]): string {
  const fits = (a: (typeof DEMO_ACCOUNTS)[number]) => roles.length === 0 || a.roles.some((r) => roles.includes(r));
  const duty = DEMO_ACCOUNTS.find((a) => a.username === 'duty');
  if (duty && fits(duty)) return duty.username;
  return (
    (DEMO_ACCOUNTS.find((a) => fits(a) && a.townships.includes('*')) ?? DEMO_ACCOUNTS.find(fits))?.username ?? 'admin'
  );
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const rig = await startConsoleRig((line) => process.stderr.write(`${line}\n`));
  try {
    for (const item of MENU) {
      const account = accountFor(item.roles);
      const context = await rig.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
      const page = await context.newPage();
      await signInAs(rig, page, account, item.path);
      await page.waitForLoadState('networkidle');
      await page
        .locator('.el-loading-mask')
        .first()
        .waitFor({ state: 'detached', timeout: 10_000 })
        .catch(() => undefined);
      await page.waitForTimeout(500); // charts animate in
      const file = join(OUT, `${fileOf(item.path)}.png`);
      await page.screenshot({ path: file, fullPage: false });
      process.stdout.write(`${item.label} (${account}) → ${file}\n`);
      await context.close();
    }
  } finally {
    await rig.stop();
  }
}

await main();
