import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoPatrolStore } from '#shared/adapters/patrols-store.ts';
import { ConflictError } from '#shared/domain/errors.ts';
import { ulid } from '#shared/domain/ids.ts';
import { type Patrol, PatrolInput } from '#shared/domain/patrols/model.ts';
import { missedSections, RIVER_SECTIONS } from '#shared/domain/patrols/sections.ts';
import { PatrolService } from '#shared/domain/patrols/use-cases.ts';
import { hashSecret } from '#shared/domain/secrets.ts';
import { PatrolFindingTakenError } from '#shared/domain/tips/ports.ts';
import { type Official, TipService } from '#shared/domain/tips/use-cases.ts';
import { IdentityVault } from '#shared/domain/tips/vault.ts';
import { LocalKeys, MemoryEvidence, MemoryPatrolStore, MemoryTipStore } from '../helpers/memory-tips.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
beforeEach(() => ddb.reset());

describe('patrol sections', () => {
  it('lists the seven main streams of Qingyuan with an interval each', () => {
    expect(RIVER_SECTIONS.map((s) => s.name)).toEqual(['松源溪', '安溪', '竹口溪', '南阳溪', '左溪', '西溪', '八炉溪']);
    for (const s of RIVER_SECTIONS) expect(s.intervalDays).toBeGreaterThan(0);
  });

  it('lists sections never patrolled or patrolled longer ago than their interval', () => {
    const now = new Date('2026-03-20T00:00:00Z');
    const last = new Map<string, string | undefined>([
      ['songyuanxi', '2026-03-15T08:00:00.000Z'], // 4.7 days, interval 7: on schedule
      ['anxi', '2026-03-05T08:00:00.000Z'], // 14.7 days, interval 10: missed
    ]);
    const sections = RIVER_SECTIONS.filter((s) => ['songyuanxi', 'anxi', 'zuoxi'].includes(s.id));
    expect(missedSections(sections, last, now)).toEqual([
      {
        section: expect.objectContaining({ id: 'anxi' }),
        lastPatrolEndedAt: '2026-03-05T08:00:00.000Z',
        daysSince: 14,
      },
      { section: expect.objectContaining({ id: 'zuoxi' }) },
    ]);
  });
});

describe('PatrolInput', () => {
  const base = {
    route: [{ lat: 27.615, lng: 119.058 }],
    startedAt: '2026-03-19T08:00:00+08:00',
    endedAt: '2026-03-19T10:00:00+08:00',
  };
  it('takes exactly one of a section and a grid, and an end after the start', () => {
    expect(PatrolInput.safeParse({ ...base, sectionId: 'songyuanxi' }).success).toBe(true);
    expect(PatrolInput.safeParse({ ...base, gridId: 'songyuan-03' }).success).toBe(true);
    expect(PatrolInput.safeParse(base).success).toBe(false);
    expect(PatrolInput.safeParse({ ...base, sectionId: 'songyuanxi', gridId: 'g-1' }).success).toBe(false);
    expect(PatrolInput.safeParse({ ...base, sectionId: 'nile' }).success).toBe(false);
    expect(PatrolInput.safeParse({ ...base, sectionId: 'anxi', endedAt: '2026-03-19T07:00:00+08:00' }).success).toBe(
      false,
    );
  });
});

describe('DynamoPatrolStore', () => {
  const store = new DynamoPatrolStore(db, { tips: 'tips', audit: 'audit' });

  it('finds the latest patrol of a section by one gsi1 query, newest first, limit 1', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ patrol: { endedAt: '2026-03-19T02:00:00.000Z' } }] });
    expect(await store.lastEndedAt('anxi')).toBe('2026-03-19T02:00:00.000Z');
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'tips',
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': 'patrols#anxi' },
      ScanIndexForward: false,
      Limit: 1,
    });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('records a patrol, its audit entry and the references to its sealed photos in one transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const patrol = {
      id: 'P1',
      sectionId: 'songyuanxi',
      route: [{ lat: 27.612, lng: 119.05 }],
      startedAt: '2026-03-19T00:00:00.000Z',
      endedAt: '2026-03-19T01:30:00.000Z',
      findings: [],
      patrolledBy: 'grid-1',
      recordedAt: '2026-03-19T01:40:00.000Z',
    };
    await store.create(patrol, { actor: 'grid-1', action: 'patrol.record', entity: 'patrol/P1', at: 'x' }, ['U1']);
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => (i.Put ?? i.Update)?.TableName)).toEqual(['tips', 'audit', 'tips']);
    expect(items[2]?.Update).toMatchObject({
      Key: { pk: 'upload#U1', sk: 'upload' },
      UpdateExpression: 'SET expiresAt = :x, referencedAt = :t REMOVE gsi1pk, gsi1sk',
      ConditionExpression: 'usedBy = :o',
      ExpressionAttributeValues: { ':o': 'patrol#P1', ':t': '2026-03-19T01:40:00.000Z' },
    });
  });

  it('reads a patrol strongly consistently, so a conversion that lost the race sees the winning tip', async () => {
    ddb.on(GetCommand).resolves({ Item: { kind: 'patrol', patrol: { id: 'P1', findings: [{ tipId: 'T1' }] } } });
    expect((await store.get('P1'))?.findings[0]?.tipId).toBe('T1');
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { pk: 'patrol#P1', sk: '#' }, ConsistentRead: true });
  });
});

describe('PatrolService.findingToTip: one tip per finding', () => {
  const NOW = new Date('2026-03-19T04:00:00.000Z');
  const gridMember: Official = { sub: 'grid-1', roles: ['grid_member'] };
  const riverChief: Official = { sub: 'chief-1', roles: ['river_chief'] };
  const body = { category: 'water' as const, address: '松源溪供热站下游排口' };
  const PATROL_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2P1';

  function setup() {
    const evidence = new MemoryEvidence();
    const patrols = new MemoryPatrolStore(evidence);
    const tipStore = new MemoryTipStore({ evidence, patrols });
    const tips = new TipService({
      store: tipStore,
      vault: new IdentityVault(new LocalKeys(), () => NOW),
      evidence,
      now: () => NOW,
      newId: () => ulid(),
      hashReceipt: (code) => hashSecret(code, { N: 1024, r: 8, p: 1, keyLen: 32 }),
    });
    const patrol: Patrol = {
      id: PATROL_ID,
      sectionId: 'songyuanxi',
      route: [{ lat: 27.612, lng: 119.05 }],
      startedAt: '2026-03-19T00:00:00.000Z',
      endedAt: '2026-03-19T01:30:00.000Z',
      findings: [{ text: '供热站下游排口附近水面有油膜', point: { lat: 27.6185, lng: 119.0625 }, evidence: [] }],
      patrolledBy: 'grid-1',
      recordedAt: '2026-03-19T01:40:00.000Z',
    };
    patrols.patrols.set(patrol.id, patrol);
    const service = new PatrolService({ store: patrols, evidence, tips, newId: () => ulid(), now: () => NOW });
    return { patrols, tipStore, service };
  }

  it('writes exactly one tip when two officials convert the same finding at the same moment; both get its id', async () => {
    const { patrols, tipStore, service } = setup();
    const [one, two] = await Promise.all([
      service.findingToTip(PATROL_ID, 0, body, gridMember),
      service.findingToTip(PATROL_ID, 0, body, riverChief),
    ]);
    expect(tipStore.tips.size).toBe(1);
    expect(one?.tipId).toBe(two?.tipId);
    expect([one?.created, two?.created].sort()).toEqual([false, true]);
    const loser = one?.created ? two : one;
    expect(loser).toEqual({ tipId: one?.tipId, status: 'received', created: false });
    expect(patrols.patrols.get(PATROL_ID)?.findings[0]?.tipId).toBe(one?.tipId);
    expect(tipStore.tips.get(one?.tipId ?? '')?.tip).toMatchObject({
      channel: 'patrol',
      patrolFinding: { patrolId: PATROL_ID, index: 0 },
    });
    expect(tipStore.audit.filter((a) => a.action === 'patrol.finding_to_tip')).toHaveLength(1);
  });

  it('answers a retried conversion with the tip already made, without a receipt and without a second tip', async () => {
    const { tipStore, service } = setup();
    const made = await service.findingToTip(PATROL_ID, 0, body, gridMember);
    expect(made).toMatchObject({ created: true, receipt: expect.stringMatching(/^\d{4} \d{4} \d{4} \d{4}$/) });
    const again = await service.findingToTip(PATROL_ID, 0, body, gridMember);
    expect(again).toEqual({ tipId: made.tipId, status: 'received', created: false });
    expect(tipStore.tips.size).toBe(1);
  });

  it('says "try again" (409) when the finding was taken but the winning tip is not visible yet', async () => {
    const { tipStore, service } = setup();
    tipStore.create = async () => {
      throw new PatrolFindingTakenError(PATROL_ID, 0);
    };
    await expect(service.findingToTip(PATROL_ID, 0, body, gridMember)).rejects.toBeInstanceOf(ConflictError);
    expect(tipStore.tips.size).toBe(0);
  });

  it('converts two different findings of one patrol into two tips', async () => {
    const { patrols, tipStore, service } = setup();
    const patrol = patrols.patrols.get(PATROL_ID) as Patrol;
    patrol.findings.push({ text: '岸边堆放疑似污泥', evidence: [] });
    const [one, two] = await Promise.all([
      service.findingToTip(PATROL_ID, 0, body, gridMember),
      service.findingToTip(PATROL_ID, 1, { ...body, category: 'solid_waste' }, gridMember),
    ]);
    expect(one.tipId).not.toBe(two.tipId);
    expect([one.created, two.created]).toEqual([true, true]);
    expect(tipStore.tips.size).toBe(2);
  });
});

describe('PatrolService.sectionList', () => {
  it('lists the sections a report may name, as configured, and a copy the caller cannot change', () => {
    const evidence = new MemoryEvidence();
    const sections = [{ id: 'zhukouxi', name: '竹口溪', townshipId: 'zhukou', intervalDays: 10 }];
    const service = new PatrolService({
      store: new MemoryPatrolStore(evidence),
      evidence,
      tips: {} as TipService,
      newId: () => ulid(),
      sections,
    });
    const listed = service.sectionList();
    expect(listed).toEqual(sections);
    listed.pop();
    expect(service.sectionList()).toHaveLength(1);
    expect(
      new PatrolService({
        store: new MemoryPatrolStore(evidence),
        evidence,
        tips: {} as TipService,
        newId: () => ulid(),
      }).sectionList(),
    ).toEqual([...RIVER_SECTIONS]);
  });
});
