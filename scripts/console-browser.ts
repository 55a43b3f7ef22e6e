import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { DEMO_PASSWORD } from '#infra/local/demo-accounts.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { synthEnvWatch } from '#infra/local/synth.ts';

/**
 * The local platform and Debian's Chromium for the console's scripts (`npm run screenshots`, `npm run bench --
 * console`): a synth and a fresh data dir in a temp folder, free ports, and signing in as a demo account through the
 * local OIDC provider, as an official would. Never used by the tests (they boot their own, test/local/console).
 */
export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ConsoleRig {
  platform: Platform;
  browser: Browser;
  /** the console's address, ending in /console */
  console: string;
  stop(): Promise<void>;
}

export async function startConsoleRig(log: (line: string) => void = () => {}): Promise<ConsoleRig> {
  const dir = mkdtempSync(join(tmpdir(), 'envwatch-console-'));
  const cdkOut = join(dir, 'cdk.out');
  log('synthesizing…');
  synthEnvWatch(cdkOut);
  log('starting the local platform…');
  const platform = await startPlatform({ cdkOut, dataDir: join(dir, 'data'), ports: await freePorts() });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  return {
    platform,
    browser,
    console: `${platform.endpoints.web}console`,
    async stop() {
      await browser.close();
      await platform.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens `target` (a console path), signs in as `username` and waits to be back there. */
export async function signInAs(rig: ConsoleRig, page: Page, username: string, target = '/'): Promise<void> {
  await page.goto(`${rig.console}${target}`);
  await page.waitForURL(/\/interaction\//);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL((url) => url.pathname === `/console${target}`);
}
