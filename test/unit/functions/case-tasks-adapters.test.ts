import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { claimInviter } from '#functions/case-tasks/adapters.ts';
import { CLAIM_INVITATION } from '#functions/case-tasks/use-case.ts';
import { DynamoTipStore, tipKeys } from '#shared/adapters/tips-store.ts';
import type { Tip } from '#shared/domain/tips/model.ts';

/** The claim invitation through the tip store: only to reporters who may claim, and once per step entry. */
const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
beforeEach(() => ddb.reset());
const invite = claimInviter(new DynamoTipStore(db, { tips: 'tips', identities: 'none', audit: 'audit' }));

const tip = (id: string, over: Partial<Tip>): Tip => ({
  id,
  channel: 'web',
  category: 'water',
  description: '溪水发黑',
  location: { townshipId: 'songyuan', address: '松源溪' },
  observedAt: '2026-11-01T01:00:00.000Z',
  reporterKind: 'anonymous',
  insider: false,
  commendationConsent: false,
  evidence: [],
  status: 'case_opened',
  finding: 'substantiated',
  receivedAt: '2026-11-01T02:00:00.000Z',
  updatedAt: '2026-11-02T02:00:00.000Z',
  ...over,
});
const TIPS = {
  anonymous: tip('01KB2N0G5Z8K3M4P6Q7R8S9TA1', {}),
  named: tip('01KB2N0G5Z8K3M4P6Q7R8S9TA2', { reporterKind: 'real_name' }),
  claimed: tip('01KB2N0G5Z8K3M4P6Q7R8S9TA3', { rewardClaimedAt: '2026-11-20T00:00:00.000Z' }),
};
const once = { at: '2026-11-30T02:00:00.000Z', seed: '01KB2N0G5Z8K3M4P6Q7R8ENTRY' };

describe('claimInviter', () => {
  beforeEach(() => {
    for (const t of Object.values(TIPS)) {
      ddb.on(GetCommand, { Key: tipKeys.tip(t.id) }).resolves({ Item: { kind: 'tip', tip: t, version: 3 } });
    }
  });

  it('posts the invitation to an anonymous reporter who has not claimed, and to no one else', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await invite(
      Object.values(TIPS).map((t) => t.id),
      CLAIM_INVITATION,
      once,
    );
    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(1);
    const entry = calls[0]?.args[0].input.TransactItems?.[1]?.Put;
    expect(entry?.Item).toMatchObject({
      pk: `tip#${TIPS.anonymous.id}`,
      entry: { type: 'message', from: 'handler', at: once.at, text: CLAIM_INVITATION },
    });
    expect(entry?.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('writes the same entry key on a retry, and takes an existing one as done', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await invite([TIPS.anonymous.id], CLAIM_INVITATION, once);
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );
    await expect(invite([TIPS.anonymous.id], CLAIM_INVITATION, once)).resolves.toBeUndefined();
    const keys = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems?.[1]?.Put?.Item?.sk);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('invites the first valid reporter of a merged group: an earlier anonymous duplicate, not the primary', async () => {
    const primary = tip('01KB2N0G5Z8K3M4P6Q7R8S9TB1', {
      reporterKind: 'real_name',
      reportedAt: '2026-11-02T00:00:00.000Z',
      mergedTips: ['01KB2N0G5Z8K3M4P6Q7R8S9TB2'],
    });
    const earlier = tip('01KB2N0G5Z8K3M4P6Q7R8S9TB2', {
      status: 'triaging',
      finding: undefined,
      reportedAt: '2026-11-01T00:00:00.000Z',
      mergedInto: primary.id,
    });
    for (const t of [primary, earlier]) {
      ddb.on(GetCommand, { Key: tipKeys.tip(t.id) }).resolves({ Item: { kind: 'tip', tip: t, version: 2 } });
    }
    ddb.on(TransactWriteCommand).resolves({});
    await invite([primary.id], CLAIM_INVITATION, once);
    const puts = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems?.[1]?.Put?.Item?.pk);
    expect(puts).toEqual([`tip#${earlier.id}`]);
  });

  it('passes other failures on, so the Lambda is retried', async () => {
    ddb.on(TransactWriteCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(invite([TIPS.anonymous.id], CLAIM_INVITATION, once)).rejects.toThrow('throttled');
  });
});
