import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoPatrolStore } from '../../../shared/adapters/patrols-store.ts';
import { PatrolInput } from '../../../shared/domain/patrols/model.ts';
import { missedSections, RIVER_SECTIONS } from '../../../shared/domain/patrols/sections.ts';

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

  it('marks a finding as a tip once, with its audit entry in the same transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await store.markFindingTip('P1', 2, 'T1', {
      actor: 'g',
      action: 'patrol.finding_to_tip',
      entity: 'patrol/P1',
      at: 'x',
    });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Update?.ConditionExpression).toBe(
      'attribute_exists(patrol.findings[2]) AND attribute_not_exists(patrol.findings[2].tipId)',
    );
    expect(items[1]?.Put?.TableName).toBe('audit');
  });
});
