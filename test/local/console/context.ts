import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import type { Browser, Page } from 'playwright-core';
import { DEMO_PASSWORD } from '#infra/local/demo-accounts.ts';
import { type LocalJwtKeys, signToken } from '#infra/local/jwt.ts';
import type { Platform } from '#infra/local/platform.ts';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import type { Role } from '#shared/domain/roles.ts';
import { localClientConfig } from '../helpers.ts';

/**
 * What the console's browser flows share: one platform and one Chromium for the whole file
 * (test/local/console.browser.test.ts boots them), signing in as a demo account, tokens for setting things up through
 * the API, and raising alarms with single HJ 212 packets. Each flow file (`*.flow.ts`) registers its own `describe`.
 */
export interface ConsoleContext {
  platform: Platform;
  browser: Browser;
  keys: LocalJwtKeys;
}

export type ContextRef = () => ConsoleContext;

/** Opens `target` under /console, signs in through the local OIDC provider, and waits to be back on `target`. */
export async function signIn(ctx: ConsoleContext, page: Page, username: string, target = '/'): Promise<void> {
  await page.goto(`${ctx.platform.endpoints.web}console${target}`);
  await page.waitForURL(/\/interaction\//);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL((url) => url.pathname === `/console${target === '/' ? '/' : target}`);
}

/** The access token the console holds for this tab. */
export const accessToken = (page: Page) =>
  page.evaluate<string>("JSON.parse(sessionStorage.getItem('envwatch.session') ?? '{}').accessToken");

/** A token as `npm run token` makes it (county-wide unless townships are given), for setting things up. */
export function tokenFor(ctx: ConsoleContext, sub: string, roles: Role[], townships: string[] = ['*']): string {
  const { issuer, audience } = ctx.platform.endpoints.auth;
  return signToken(ctx.keys, { iss: issuer, aud: audience, sub, roles, townships }, 1800);
}

/** Calls the API on the web origin (`/api`, as the console does); an empty token calls a public route. */
export async function api<T = unknown>(
  ctx: ConsoleContext,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${ctx.platform.endpoints.api}/api${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

/** Publishes one HJ 212 packet for `mn` (as a device would, through IoT Core) with `cp` at `dataTime`. */
export async function publishPacket(
  ctx: ConsoleContext,
  mn: string,
  packet: { st: string; cn: string; dataTime: Date; cp: string },
): Promise<void> {
  const raw = encodePacket({
    qn: isoToBeijing(new Date(), true),
    st: packet.st,
    cn: packet.cn,
    pw: '123456',
    mn,
    flag: 4,
    cp: `DataTime=${isoToBeijing(packet.dataTime.toISOString())};${packet.cp}`,
  });
  const iot = new IoTDataPlaneClient(localClientConfig(ctx.platform.endpoints.iotData));
  await iot.send(new PublishCommand({ topic: `envwatch/devices/${mn}/hj212`, qos: 1, payload: Buffer.from(raw) }));
}

/** The start of the hour `h` hours ago: hourly data of the past, so hours of device time pass in seconds. */
export const hourAgo = (h: number) => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - h * 3_600_000);

/** Element Plus tables: the rows of the (first) table body on the page. */
export const tableRows = (page: Page) => page.locator('.el-table__body-wrapper tbody tr');
