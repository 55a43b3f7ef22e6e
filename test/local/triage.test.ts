import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { tipIndexKeys, tipKeys } from '#shared/adapters/tips-store.ts';
import { ENV } from '#shared/config/env-names.ts';
import { BOILER } from '#shared/domain/registry/qingyuan-seed.ts';
import type { TimelineEntry, Tip } from '#shared/domain/tips/model.ts';
import { localClientConfig, realAppAssembly, tempDir } from './helpers.ts';

/**
 * Triage on the embedded platform, from the real synthesized app: a new tip is linked to the nearest registered unit,
 * to an open alarm there (an item written by the documented alarms key convention) and to a likely duplicate; an
 * analyst merges the duplicate; overdue tips are listed by index queries.
 */
describe('tip triage on the local platform', () => {
  const tmp = tempDir('triage');
  const cdkOut = realAppAssembly();
  const dataDir = `${tmp.dir}/data`;
  let platform: Platform;
  let analyst: string;
  let handler: string;
  let gridMember: string;
  let doc: DynamoDBDocumentClient;
  let tables: { tips: string; alarms: string };
  let firstId: string;
  let secondId: string;

  const day = 86_400_000;
  const now = Date.now();
  /** an observation time `daysAgo` days back, in Beijing time */
  const observed = (daysAgo: number) =>
    `${new Date(now - daysAgo * day + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
  // about 600 m north-east of the seeded heating station (庆元县示例集中供热站, 27.615 N 119.058 E)
  const point = { lat: 27.6185, lng: 119.0625 };
  const tipBody = (daysAgo: number) => ({
    category: 'air',
    description: '供热站附近夜间冒黑烟，气味刺鼻',
    location: { townshipId: 'songyuan', address: '松源街道供热站东北侧', point },
    observedAt: observed(daysAgo),
    reporter: { kind: 'anonymous' },
  });

  beforeAll(async () => {
    platform = await startPlatform({ cdkOut, dataDir, ports: await freePorts() });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    analyst = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'analyst-1', name: '研判员', roles: ['analyst'], townships: ['*'] },
      600,
    );
    handler = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'handler-1', roles: ['handler'], townships: ['*'] },
      600,
    );
    gridMember = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'grid-1', roles: ['grid_member'], townships: ['*'] },
      600,
    );
    const env = platform.spec.functions.map((f) => f.environment).find((e) => e[ENV.alarmsTable] && e[ENV.tipsTable]);
    tables = { tips: String(env?.[ENV.tipsTable]), alarms: String(env?.[ENV.alarmsTable]) };
    doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb)));
  });

  afterAll(async () => {
    doc?.destroy();
    await platform?.stop();
    tmp.cleanup();
  });

  type TipBody = { tip: Tip; timeline: TimelineEntry[]; version: number };
  type Listing = { items: (Tip & { overdue: { triage: boolean; conclusion: boolean } })[] };
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown } = {},
  ) => {
    const res = await fetch(`${platform.endpoints.api}${path}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: (text ? JSON.parse(text) : undefined) as T };
  };

  it('links a new tip to the nearest registered unit within 2 km', async () => {
    const res = await call<{ tipId: string }>('POST', '/tips', { body: tipBody(2) });
    expect(res.status, res.text).toBe(201);
    firstId = res.json.tipId;
    const tip = await call<TipBody>('GET', `/tips/${firstId}`, { token: analyst });
    expect(tip.json.tip.links).toMatchObject({
      unit: { enterpriseId: BOILER, basis: 'nearest', name: '庆元县示例集中供热站' },
      alarms: [],
      duplicates: [],
    });
    expect(tip.json.tip.links?.unit?.reason).toMatch(/^nearest, \d{3} m$/);
  });

  it('lists the first tip as a likely duplicate of a second one a day later, and the open alarm at the unit', async () => {
    await doc.send(
      new PutCommand({
        TableName: tables.alarms,
        Item: {
          pk: 'alarm#AL-TEST-1',
          sk: '#',
          gsi2pk: `unit#${BOILER}`,
          gsi2sk: `open#${new Date(now - day).toISOString()}#AL-TEST-1`,
          alarmId: 'AL-TEST-1',
          raisedAt: new Date(now - day).toISOString(),
          summary: '烟尘小时均值超标',
        },
      }),
    );
    // entered by staff from a phone call: same pipeline
    const res = await call<{ tipId: string }>('POST', '/tips/intake', {
      token: analyst,
      body: { ...tipBody(1), channel: 'phone' },
    });
    expect(res.status, res.text).toBe(201);
    secondId = res.json.tipId;
    const tip = await call<TipBody>('GET', `/tips/${secondId}`, { token: handler });
    const links = tip.json.tip.links;
    expect(links?.alarms).toEqual([expect.objectContaining({ alarmId: 'AL-TEST-1', summary: '烟尘小时均值超标' })]);
    expect(links?.duplicates).toEqual([
      expect.objectContaining({
        tipId: firstId,
        reasons: [
          'same category (废气) in songyuan, observed 1 day apart, 0 m apart',
          `same unit ${BOILER}, received within a day`,
        ],
      }),
    ]);
  });

  it('lets only an analyst merge, keeps the earliest reporter first and takes the merged tip out of the queue', async () => {
    const body = { into: firstId, reason: '同一时段同一排放源的重复举报' };
    expect((await call('POST', `/tips/${secondId}/merge`, { token: handler, body })).status).toBe(403);
    const merged = await call<{ primary: TipBody; merged: TipBody }>('POST', `/tips/${secondId}/merge`, {
      token: analyst,
      body,
    });
    expect(merged.status, merged.text).toBe(200);
    expect(merged.json.merged.tip.mergedInto).toBe(firstId);
    const primary = await call<TipBody>('GET', `/tips/${firstId}`, { token: analyst });
    expect(primary.json.tip).toMatchObject({ mergedTips: [secondId], firstReporterTipId: firstId });
    expect(primary.json.timeline).toEqual([
      expect.objectContaining({ type: 'merge', direction: 'absorbed', otherTipId: secondId, actor: '研判员' }),
    ]);
    const other = await call<TipBody>('GET', `/tips/${secondId}`, { token: analyst });
    expect(other.json.timeline).toEqual([
      expect.objectContaining({ type: 'merge', direction: 'merged_into', otherTipId: firstId }),
    ]);
    const queue = await call<Listing>('GET', '/tips?status=received', { token: analyst });
    const ids = queue.json.items.map((t) => t.id);
    expect(ids).toContain(firstId);
    expect(ids).not.toContain(secondId);
    expect((await call('POST', `/tips/${secondId}/merge`, { token: analyst, body })).status).toBe(409);
  });

  it('flags overdue tips in the queue and lists them for analysts', async () => {
    // a tip received 70 days ago and never triaged, written with the store's own keys
    const receivedAt = new Date(now - 70 * day).toISOString();
    const old: Tip = {
      id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C3',
      channel: 'letter',
      category: 'noise',
      description: '夜间施工噪声',
      location: { townshipId: 'songyuan', address: '松源街道' },
      observedAt: receivedAt,
      reporterKind: 'anonymous',
      insider: false,
      commendationConsent: false,
      evidence: [],
      status: 'received',
      receivedAt,
      updatedAt: receivedAt,
    };
    await doc.send(
      new PutCommand({
        TableName: tables.tips,
        Item: { ...tipKeys.tip(old.id), ...tipIndexKeys(old), kind: 'tip', tip: old, version: 1 },
      }),
    );
    const queue = await call<Listing>('GET', '/tips?status=received', { token: handler });
    const flags = Object.fromEntries(queue.json.items.map((t) => [t.id, t.overdue]));
    expect(flags[old.id]).toEqual({ triage: true, conclusion: true });
    expect(flags[firstId]).toEqual({ triage: false, conclusion: false });
    const overdue = await call<Listing>('GET', '/tips/overdue', { token: analyst });
    expect(overdue.status, overdue.text).toBe(200);
    expect(overdue.json.items.map((t) => t.id)).toEqual([old.id]);
    expect((await call('GET', '/tips/overdue', { token: handler })).status).toBe(403);
  });

  it('records a patrol, lists sections not patrolled on schedule, and turns a finding into a tip', async () => {
    const body = {
      sectionId: 'songyuanxi',
      route: [
        { lat: 27.612, lng: 119.05 },
        { lat: 27.6185, lng: 119.0625 },
      ],
      startedAt: new Date(now - 3 * 3_600_000).toISOString(),
      endedAt: new Date(now - 3_600_000).toISOString(),
      findings: [{ text: '供热站下游排口附近水面有油膜', point }],
    };
    expect((await call('POST', '/patrols', { token: handler, body })).status).toBe(403);
    const recorded = await call<{ id: string }>('POST', '/patrols', { token: gridMember, body });
    expect(recorded.status, recorded.text).toBe(201);
    const list = await call<{ items: { id: string }[] }>('GET', '/patrols?section=songyuanxi', { token: analyst });
    expect(list.json.items.map((p) => p.id)).toEqual([recorded.json.id]);
    const missed = await call<{ items: { section: { id: string } }[] }>('GET', '/patrols/missed', {
      token: analyst,
    });
    const ids = missed.json.items.map((m) => m.section.id);
    expect(ids).not.toContain('songyuanxi');
    expect(ids).toContain('anxi');

    const path = `/patrols/${recorded.json.id}/findings/0/tip`;
    const tipBody = { category: 'water', address: '松源溪供热站下游排口' };
    const made = await call<{ tipId: string }>('POST', path, { token: gridMember, body: tipBody });
    expect(made.status, made.text).toBe(201);
    const tip = await call<TipBody>('GET', `/tips/${made.json.tipId}`, { token: analyst });
    expect(tip.json.tip).toMatchObject({
      channel: 'patrol',
      category: 'water',
      description: '供热站下游排口附近水面有油膜',
      location: { townshipId: 'songyuan' },
      enteredBy: 'grid-1',
      links: { unit: { enterpriseId: BOILER, basis: 'nearest' } },
    });
    // one tip per finding: converting it again answers 200 with the same tip (no receipt) instead of a second tip
    const again = await call<{ tipId: string; created: boolean; receipt?: string }>('POST', path, {
      token: gridMember,
      body: tipBody,
    });
    expect(again.status, again.text).toBe(200);
    expect(again.json).toEqual({ tipId: made.json.tipId, status: 'received', created: false });
    const patrols = await call<{ items: { findings: { tipId?: string }[] }[] }>('GET', '/patrols?section=songyuanxi', {
      token: analyst,
    });
    expect(patrols.json.items[0]?.findings[0]?.tipId).toBe(made.json.tipId);
    expect(
      (await call('POST', `/patrols/${recorded.json.id}/findings/5/tip`, { token: gridMember, body: tipBody })).status,
    ).toBe(404);
  });
});

describe('spam waves on the local platform', () => {
  const tmp = tempDir('spam');
  const dataDir = `${tmp.dir}/data`;
  let platform: Platform;
  let analyst: string;

  beforeAll(async () => {
    platform = await startPlatform({ cdkOut: realAppAssembly(), dataDir, ports: await freePorts() });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    analyst = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'analyst-2', roles: ['analyst'], townships: ['*'] },
      600,
    );
  });

  afterAll(async () => {
    await platform?.stop();
    tmp.cleanup();
  });

  const post = async (description: string) => {
    const res = await fetch(`${platform.endpoints.api}/tips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        category: 'water',
        description,
        location: { townshipId: 'zuoxi', address: '左溪镇溪边' },
        observedAt: `${new Date(Date.now() + 8 * 3_600_000 - 60_000).toISOString().slice(0, 19)}+08:00`,
        reporter: { kind: 'anonymous' },
      }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { tipId: string; receipt: string; status: string };
  };
  const queue = async (status: string) => {
    const res = await fetch(`${platform.endpoints.api}/tips?status=${status}&limit=50`, {
      headers: { authorization: `Bearer ${analyst}` },
    });
    return ((await res.json()) as { items: { id: string }[] }).items.map((t) => t.id);
  };

  it('holds the third near-identical public tip within the hour for review, without telling the reporter', async () => {
    const a = await post('左溪镇某厂半夜偷排黄色废水，河水发臭！');
    const b = await post('左溪镇某厂半夜偷排黄色废水，河水发臭!!');
    const c = await post('左溪镇某厂半夜偷排黄色废水 河水发臭');
    const honest = await post('左溪上游养猪场粪水直排入河，已持续一周');
    expect(c.status).toBe('received');
    expect(await queue('held')).toEqual([c.tipId]);
    expect(await queue('received')).toEqual(expect.arrayContaining([a.tipId, b.tipId, honest.tipId]));
    const follow = await fetch(`${platform.endpoints.api}/tips/follow`, { headers: { 'x-receipt': c.receipt } });
    expect(((await follow.json()) as { status: string }).status).toBe('received');
  });
});
