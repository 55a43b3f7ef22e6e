import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe } from 'vitest';
import { loadOrCreateKeys } from '#infra/local/jwt.ts';
import { startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { a11yFlows } from './console/a11y.flow.ts';
import { alarmFlows } from './console/alarms.flow.ts';
import type { ConsoleContext } from './console/context.ts';
import { registryFlows } from './console/registry.flow.ts';
import { scopeFlows } from './console/scope.flow.ts';
import { socialFlows } from './console/social.flow.ts';
import { realAppAssembly, tempDir } from './helpers.ts';

/**
 * The officials' console in Debian's Chromium, on the running local platform: one platform and one browser for every
 * role's flow (test/local/console/*.flow.ts), so the whole console costs one boot.
 */
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('officials console in headless Chromium', () => {
  const tmp = tempDir('console');
  let ctx: ConsoleContext | undefined;
  const context = (): ConsoleContext => {
    if (!ctx) throw new Error('the platform did not start');
    return ctx;
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium) to run this test`);
    }
    const dataDir = `${tmp.dir}/data`;
    const platform = await startPlatform({ cdkOut: realAppAssembly(), dataDir, ports: await freePorts() });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    ctx = { platform, browser, keys: await loadOrCreateKeys(dataDir) };
  }, 180_000);

  afterAll(async () => {
    await ctx?.browser.close();
    await ctx?.platform.stop();
    tmp.cleanup();
  });

  scopeFlows(context);
  alarmFlows(context);
  registryFlows(context);
  socialFlows(context);
  a11yFlows(context);
});
