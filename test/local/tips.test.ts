import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, signToken } from '#infra/local/jwt.ts';
import { type Platform, startPlatform } from '#infra/local/platform.ts';
import { freePorts } from '#infra/local/ports.ts';
import { eventually, localClientConfig, realAppAssembly, tempDir } from './helpers.ts';

/**
 * Citizen tips on the embedded platform, from the real synthesized app: a real-name tip is submitted and followed
 * with its receipt, an analyst triages it without ever seeing the identity, the reward post opens the identity with
 * a reason (local KMS facade) and the reporter sees that access. No identity or receipt lands in a table or a log.
 */
describe('tips API on the local platform', () => {
  const tmp = tempDir('tips');
  const cdkOut = realAppAssembly();
  const dataDir = `${tmp.dir}/data`;
  const logs: string[] = [];
  let platform: Platform;
  let analyst: string;
  let rewardPost: string;
  let tipId: string;
  let receipt: string;

  const identity = { name: '王小明', phone: '13912345678', idNumber: '33112619900101123X' };

  beforeAll(async () => {
    platform = await startPlatform({ cdkOut, dataDir, ports: await freePorts(), log: (l) => logs.push(l) });
    const keys = await loadOrCreateKeys(dataDir);
    const { issuer, audience } = platform.endpoints.auth;
    analyst = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'analyst-1', roles: ['analyst'], townships: ['*'] },
      600,
    );
    rewardPost = signToken(
      keys,
      { iss: issuer, aud: audience, sub: 'reward-1', name: '奖励岗', roles: ['reward_post'], townships: ['*'] },
      600,
    );
  });

  afterAll(async () => {
    await platform?.stop();
    tmp.cleanup();
  });

  const call = async (
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; receipt?: string } = {},
  ) => {
    const res = await fetch(`${platform.endpoints.api}${path}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(opts.receipt ? { 'x-receipt': opts.receipt } : {}),
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };

  it('accepts a real-name tip and returns a 16-digit receipt once', async () => {
    const res = await call('POST', '/tips', {
      body: {
        category: 'illegal_discharge',
        description: '夜里十点后厂区东侧暗管排放白色废水',
        location: { townshipId: 'songyuan', address: '松源街道工业园区东侧', point: { lat: 27.61, lng: 119.06 } },
        observedAt: '2025-03-01T22:10:00+08:00',
        reporter: { kind: 'real_name', identity },
        commendationConsent: true,
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.receipt).toMatch(/^\d{4} \d{4} \d{4} \d{4}$/);
    tipId = String(res.json.tipId);
    receipt = String(res.json.receipt);
  });

  it('shows the reporter the status with the receipt and answers 404 to a wrong one', async () => {
    const view = await call('GET', '/tips/follow', { receipt });
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({ tipId, status: 'received', statusLabel: '已受理', messages: [] });
    const code = receipt.replaceAll(' ', '');
    const wrong = await call('GET', '/tips/follow', {
      receipt: `${code.slice(0, 15)}${(Number(code.at(-1)) + 1) % 10}`,
    });
    const none = await call('GET', '/tips/follow');
    expect(wrong.status).toBe(404);
    expect(none.status).toBe(404);
    expect(wrong.json.detail).toBe(none.json.detail);
  });

  it('lets the analyst triage and write to the reporter without seeing the identity', async () => {
    const queue = await call('GET', '/tips?status=received', { token: analyst });
    expect(queue.status).toBe(200);
    expect((queue.json.items as { id: string }[]).map((t) => t.id)).toContain(tipId);
    const tip = await call('GET', `/tips/${tipId}`, { token: analyst });
    expect(tip.status).toBe(200);
    expect(tip.json).toMatchObject({ version: 1, tip: { reporterKind: 'real_name', status: 'received' } });
    for (const secret of Object.values(identity)) expect(tip.text).not.toContain(secret);
    expect(
      (await call('POST', `/tips/${tipId}/status`, { token: analyst, body: { status: 'case_opened' } })).status,
    ).toBe(400);
    expect((await call('POST', `/tips/${tipId}/status`, { token: analyst, body: { status: 'triaging' } })).status).toBe(
      200,
    );
    const msg = await call('POST', `/tips/${tipId}/messages`, {
      token: analyst,
      body: { text: '请问排放大约持续多久？' },
    });
    expect(msg.status).toBe(201);
    expect(
      (await call('POST', `/tips/${tipId}/identity/open`, { token: analyst, body: { reason: '想看看' } })).status,
    ).toBe(403);
  });

  it('lets the reporter read the message and answer it', async () => {
    const reply = await call('POST', '/tips/follow/replies', { receipt, body: { text: '大约一个小时' } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({
      status: 'triaging',
      messages: [
        { from: 'handler', text: '请问排放大约持续多久？' },
        { from: 'reporter', text: '大约一个小时' },
      ],
    });
  });

  it('lets the reward post open the identity with a reason, and the reporter sees that access', async () => {
    const opened = await call('POST', `/tips/${tipId}/identity/open`, {
      token: rewardPost,
      body: { reason: '核实身份以发放举报奖励' },
    });
    expect(opened.status, opened.text).toBe(200);
    expect(opened.json).toMatchObject({ tipId, identity });
    const view = await call('GET', '/tips/follow', { receipt });
    expect(view.json.identityAccess).toEqual([
      { at: expect.any(String), by: '奖励岗', reason: '核实身份以发放举报奖励' },
    ]);
  });

  const claimant = { name: '匿名乙', phone: '13611112222', idNumber: '33112619751231004X' };
  it("seals an anonymous reporter's reward claim like a real-name identity, for the reward post only", async () => {
    const tip = await call('POST', '/tips', {
      body: {
        category: 'air',
        description: '夜间车间顶部排气筒冒黄烟，气味刺鼻',
        location: { townshipId: 'songyuan', address: '松源街道工业园区北侧' },
        observedAt: '2025-03-02T21:00:00+08:00',
        reporter: { kind: 'anonymous' },
      },
    });
    expect(tip.status, tip.text).toBe(201);
    const id = String(tip.json.tipId);
    for (const status of ['triaging', 'verifying', 'substantiated']) {
      expect((await call('POST', `/tips/${id}/status`, { token: analyst, body: { status } })).status).toBe(200);
    }
    const anonymousReceipt = String(tip.json.receipt);
    const bad = await call('POST', '/tips/follow/claim', {
      receipt: anonymousReceipt,
      body: { identity: { ...claimant, phone: '12345' } },
    });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.text).not.toContain(claimant.idNumber);
    const claimed = await call('POST', '/tips/follow/claim', {
      receipt: anonymousReceipt,
      body: { identity: claimant },
    });
    expect(claimed.status, claimed.text).toBe(200);
    const opened = await call('POST', `/tips/${id}/identity/open`, {
      token: rewardPost,
      body: { reason: '核实申领人' },
    });
    expect(opened.json).toMatchObject({ tipId: id, identity: claimant });
  });

  it('keeps the identity and the receipt out of every table and every log line', async () => {
    const db = new DynamoDBClient(localClientConfig(platform.endpoints.dynamodb));
    const code = receipt.replaceAll(' ', '');
    const secrets = [...Object.values(identity), ...Object.values(claimant), code, code.slice(7)];
    const tables = (await db.send(new ListTablesCommand({}))).TableNames ?? [];
    expect(tables.length).toBeGreaterThan(3);
    for (const table of tables) {
      const dump = JSON.stringify((await db.send(new ScanCommand({ TableName: table }))).Items ?? []);
      for (const s of secrets) expect(dump, table).not.toContain(s);
    }
    db.destroy();
    // the functions' own log files (the wrong receipt above was refused and logged there) and the platform log
    const functionLogs = await eventually(async () => {
      const files = readdirSync(join(dataDir, 'logs'), { recursive: true, withFileTypes: true }).filter((f) =>
        f.isFile(),
      );
      const text = files.map((f) => readFileSync(join(f.parentPath, f.name), 'utf8')).join('\n');
      return text.includes('request refused') ? text : undefined;
    });
    for (const s of secrets) {
      expect(functionLogs.includes(s), s).toBe(false);
      expect(logs.filter((l) => l.includes(s))).toEqual([]);
    }
  });
});
