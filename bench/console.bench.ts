import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { type ConsoleRig, signInAs, startConsoleRig } from '../scripts/console-browser.ts';
import { atMost, ratio } from './lib.ts';

/**
 * The officials' console on the local platform in headless Chromium (`npm run bench -- console`):
 * - first screen: the JavaScript and CSS the browser fetches for the home page after sign-in (what it really loads,
 *   recorded from the network, so on-demand Element Plus and lazy pages are counted as loaded), gzip level 9;
 *   target ≤ 300 KB;
 * - navigation to the home page's data shown (its loading mask gone), in the page's own clock from navigation start,
 *   over 20 loads after sign-in: p50 and p95; target p95 ≤ 1.5 s. Side by side, the same loads' DOMContentLoaded, so
 *   the ratio says how much of the time is the API's data rather than the page itself.
 */
const LIMIT_GZIP_BYTES = 300 * 1024;
const LIMIT_P95_MS = 1500;
const LOADS = 20;
/** a county-wide duty officer: the home page shows the alarms by level */
const ACCOUNT = 'duty';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

/** The console's JS and CSS fetched while `load` runs: name → bytes as served (uncompressed) and gzip. */
async function assetsDuring(page: Page, load: () => Promise<void>) {
  const files = new Map<string, { bytes: number; gzipBytes: number }>();
  const pending: Promise<void>[] = [];
  const onResponse = (res: import('playwright-core').Response) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/console/') || !/\.(js|css)$/.test(url.pathname)) return;
    pending.push(
      res.body().then((body) => {
        files.set(url.pathname.replace('/console/', ''), {
          bytes: body.length,
          gzipBytes: gzipSync(body, { level: 9 }).length,
        });
      }),
    );
  };
  page.on('response', onResponse);
  await load();
  await Promise.all(pending);
  page.off('response', onResponse);
  return [...files].map(([name, f]) => ({ name, ...f })).sort((a, b) => b.gzipBytes - a.gzipBytes);
}

/** Waits for the home page's data (main shown, no loading mask); answers ms since navigation start and DCL. */
async function dataShown(page: Page): Promise<{ dataMs: number; domContentLoadedMs: number }> {
  // the home page renders its loading mask with <main> in one patch, so <main> without a mask means the data is shown
  await page.locator('.el-main main').first().waitFor({ state: 'attached', timeout: 15_000 });
  await page.locator('.el-main .el-loading-mask').first().waitFor({ state: 'detached', timeout: 15_000 });
  return page.evaluate<{ dataMs: number; domContentLoadedMs: number }>(`(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return { dataMs: performance.now(), domContentLoadedMs: nav ? nav.domContentLoadedEventEnd : NaN };
  })()`);
}

export async function run(): Promise<Record<string, unknown>> {
  let rig: ConsoleRig | undefined;
  try {
    rig = await startConsoleRig();
    const context = await rig.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const active = rig;
    // first screen: everything fetched from the console page's first load through sign-in to the home data
    const firstScreen = await assetsDuring(page, async () => {
      await signInAs(active, page, ACCOUNT, '/');
      await dataShown(page);
    });
    const loads: { dataMs: number; domContentLoadedMs: number }[] = [];
    for (let i = 0; i < LOADS; i++) {
      await page.goto(`${active.console}/`, { waitUntil: 'commit' });
      loads.push(await dataShown(page));
    }
    await context.close();
    const data = loads.map((l) => l.dataMs).sort((a, b) => a - b);
    const dcl = loads.map((l) => l.domContentLoadedMs).sort((a, b) => a - b);
    const gzipTotal = firstScreen.reduce((n, f) => n + f.gzipBytes, 0);
    const p95 = Math.round(percentile(data, 95));
    return {
      firstScreen: {
        files: firstScreen,
        jsGzipBytes: firstScreen.filter((f) => f.name.endsWith('.js')).reduce((n, f) => n + f.gzipBytes, 0),
        cssGzipBytes: firstScreen.filter((f) => f.name.endsWith('.css')).reduce((n, f) => n + f.gzipBytes, 0),
        totalGzipBytes: gzipTotal,
        totalBytes: firstScreen.reduce((n, f) => n + f.bytes, 0),
      },
      homeDataShown: {
        account: ACCOUNT,
        loads: LOADS,
        p50Ms: Math.round(percentile(data, 50)),
        p95Ms: p95,
        maxMs: Math.round(data.at(-1) ?? Number.NaN),
        domContentLoadedP50Ms: Math.round(percentile(dcl, 50)),
        dataToDomContentLoadedRatioP50: ratio(percentile(data, 50), percentile(dcl, 50)),
      },
      targets: [
        atMost('console first screen JS + CSS, gzip', gzipTotal, LIMIT_GZIP_BYTES, 'bytes'),
        atMost('navigation to home data shown, p95 of 20 loads', p95, LIMIT_P95_MS, 'ms'),
      ],
    };
  } finally {
    await rig?.stop();
  }
}
