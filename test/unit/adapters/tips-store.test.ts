import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoTipStore } from '#shared/adapters/tips-store.ts';
import { PreconditionFailedError } from '#shared/domain/errors.ts';
import type { Tip } from '#shared/domain/tips/model.ts';
import {
  type AuditEntry,
  PatrolFindingTakenError,
  ReceiptCollisionError,
  RewardClaimedError,
  TipExistsError,
} from '#shared/domain/tips/ports.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
beforeEach(() => ddb.reset());

const store = new DynamoTipStore(db, { tips: 'tips', identities: 'identities', audit: 'audit' });
const TIP_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2T1';
const PATROL_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2P1';
const tip: Tip = {
  id: TIP_ID,
  channel: 'patrol',
  category: 'water',
  description: '供热站下游排口附近水面有油膜',
  location: { townshipId: 'songyuan', address: '松源溪供热站下游排口' },
  observedAt: '2026-03-19T01:30:00.000Z',
  reporterKind: 'anonymous',
  insider: false,
  commendationConsent: false,
  evidence: [],
  status: 'received',
  enteredBy: 'grid-1',
  receivedAt: '2026-03-19T04:00:00.000Z',
  reportedAt: '2026-03-19T04:00:00.000Z',
  patrolFinding: { patrolId: PATROL_ID, index: 2 },
  updatedAt: '2026-03-19T04:00:00.000Z',
};
const audit = (action: string, entity: string): AuditEntry => ({ actor: 'grid-1', action, entity, at: tip.receivedAt });
const receipt = { selector: '1234567', hash: 'scrypt$…' };
const finding = { patrolId: PATROL_ID, index: 2, audit: audit('patrol.finding_to_tip', `patrol/${PATROL_ID}`) };

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('DynamoTipStore.create', () => {
  it('claims the patrol finding in the tip transaction, on the condition that it is unclaimed', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await store.create({ tip, receipt, audit: audit('tip.submit', `tip/${TIP_ID}`), finding });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(5);
    expect(items[3]?.Update).toEqual({
      TableName: 'tips',
      Key: { pk: `patrol#${PATROL_ID}`, sk: '#' },
      UpdateExpression: 'SET patrol.findings[2].tipId = :t',
      ConditionExpression: 'attribute_exists(patrol.findings[2]) AND attribute_not_exists(patrol.findings[2].tipId)',
      ExpressionAttributeValues: { ':t': TIP_ID },
    });
    expect(items[4]?.Put).toMatchObject({
      TableName: 'audit',
      Item: { pk: `patrol/${PATROL_ID}`, action: 'patrol.finding_to_tip' },
    });
  });

  it('reports a finding taken by another conversion, whether it committed or is committing', async () => {
    for (const code of ['ConditionalCheckFailed', 'TransactionConflict']) {
      ddb.reset();
      ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'None', code, 'None'));
      const err = await store
        .create({ tip, receipt, audit: audit('tip.submit', `tip/${TIP_ID}`), finding })
        .catch((e) => e);
      expect(err).toBeInstanceOf(PatrolFindingTakenError);
      expect(err).toMatchObject({ patrolId: PATROL_ID, index: 2 });
    }
  });

  it('tells an existing tip id and a taken receipt selector apart, and passes other failures through', async () => {
    const input = { tip, receipt, audit: audit('tip.submit', `tip/${TIP_ID}`) };
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None'));
    await expect(store.create(input)).rejects.toBeInstanceOf(TipExistsError);
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed', 'None'));
    await expect(store.create(input)).rejects.toBeInstanceOf(ReceiptCollisionError);
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ThrottlingError'));
    await expect(store.create(input)).rejects.toBeInstanceOf(TransactionCanceledException);
  });

  it("references the tip's sealed uploads in the same transaction: marks cleared, TTL back, still ours", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const web = { ...tip, channel: 'web' as const, patrolFinding: undefined };
    await store.create({ tip: web, receipt, audit: audit('tip.submit', `tip/${TIP_ID}`), uploadIds: ['U1', 'U2'] });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.slice(3).map((i) => i.Update)).toEqual(
      ['U1', 'U2'].map((u) => ({
        TableName: 'tips',
        Key: { pk: `upload#${u}`, sk: 'upload' },
        UpdateExpression: 'SET expiresAt = :x, referencedAt = :t REMOVE gsi1pk, gsi1sk',
        ConditionExpression: 'usedBy = :o',
        ExpressionAttributeValues: {
          ':x': Date.parse(tip.receivedAt) / 1000 + 2 * 24 * 3600,
          ':t': tip.receivedAt,
          ':o': `tip#${TIP_ID}`,
        },
      })),
    );
  });

  it('references evidence added to the timeline in the entry transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const entry = { type: 'info' as const, id: 'E1', at: '2026-03-20T01:00:00.000Z', text: '补充', evidence: [] };
    await store.addEntry(TIP_ID, entry, audit('tip.info_added', `tip/${TIP_ID}`), ['U3']);
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(4);
    expect(items[3]?.Update).toMatchObject({
      Key: { pk: 'upload#U3', sk: 'upload' },
      ExpressionAttributeValues: { ':o': `tip#${TIP_ID}`, ':t': entry.at },
    });
  });
});

describe('DynamoTipStore.recordRewardClaim', () => {
  const at = '2026-04-02T03:00:00.000Z';
  const claimed: Tip = { ...tip, channel: 'web', status: 'case_opened', finding: 'substantiated', rewardClaimedAt: at };
  const sealed = {
    tipId: TIP_ID,
    algorithm: 'AES-256-GCM' as const,
    encryptedDataKey: 'a2V5',
    iv: 'aXY=',
    tag: 'dGFn',
    ciphertext: 'Y2lwaGVy',
    sealedAt: at,
  };
  const input = {
    tip: claimed,
    expectedVersion: 4,
    identity: sealed,
    entry: { type: 'reward_claim' as const, id: 'E1', at },
    audit: { actor: 'reporter', action: 'tip.reward_claimed', entity: `tip/${TIP_ID}`, at },
  };

  it('writes the tip at its version, the identity only if none exists, the entry and the audit in one transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await store.recordRewardClaim(input);
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.TableName)).toEqual(['tips', 'identities', 'tips', 'audit']);
    expect(items[0]?.Put).toMatchObject({
      Item: { pk: `tip#${TIP_ID}`, version: 5, tip: { rewardClaimedAt: at } },
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': 4 },
    });
    expect(items[1]?.Put).toMatchObject({
      Item: { pk: `identity#${TIP_ID}`, sealed, openCount: 0 },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(items[2]?.Put?.Item).toMatchObject({ sk: `entry#${at}#E1`, entry: { type: 'reward_claim' } });
  });

  it('tells an identity already there from a tip changed meanwhile', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('None', 'ConditionalCheckFailed', 'None', 'None'))
      .rejectsOnce(cancelled('ConditionalCheckFailed', 'None', 'None', 'None'));
    await expect(store.recordRewardClaim(input)).rejects.toBeInstanceOf(RewardClaimedError);
    await expect(store.recordRewardClaim(input)).rejects.toBeInstanceOf(PreconditionFailedError);
  });
});

describe('DynamoTipStore.queue', () => {
  const key = (n: number) => ({ pk: `tip#${n}`, sk: '#', gsi1pk: 'status#received', gsi1sk: `t#${n}` });

  it('narrows by time on the index key and by township and category in a filter, reading on until the page is full', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ tip }], LastEvaluatedKey: key(1) })
      .resolvesOnce({ Items: [{ tip: { ...tip, id: 'T2' } }], LastEvaluatedKey: key(2) });
    const page = await store.queue('received', {
      limit: 2,
      filter: {
        townshipId: 'songyuan',
        category: 'water',
        from: '2026-03-19T00:00:00+08:00',
        to: '2026-03-20T00:00:00+08:00',
      },
    });
    expect(page.items.map((t) => t.id)).toEqual([TIP_ID, 'T2']);
    expect(page.cursor).toBeDefined();
    const calls = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :s AND gsi1sk BETWEEN :from AND :to',
      FilterExpression: '#tip.#location.#township = :township AND #tip.#category = :category',
      ExpressionAttributeValues: {
        ':s': 'status#received',
        ':from': '2026-03-18T16:00:00.000Z',
        ':to': '2026-03-19T15:59:59.999Z#~',
        ':township': 'songyuan',
        ':category': 'water',
      },
      Limit: 2,
    });
    // the second round asks only for what is still missing, from where the first stopped
    expect(calls[1]).toMatchObject({ Limit: 1, ExclusiveStartKey: key(1) });
  });

  it('reads one round without a filter', async () => {
    ddb.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: key(1) });
    const page = await store.queue('received', { limit: 5 });
    expect(page).toEqual({ items: [], cursor: expect.any(String) });
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(1);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).not.toHaveProperty('FilterExpression');
  });
});
