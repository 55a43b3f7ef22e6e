import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { caseKeys, DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { rewardRoundEntry } from '#shared/domain/cases/changes.ts';
import { rewardLines } from '#shared/domain/cases/reward.ts';
import { NotFoundError } from '#shared/domain/errors.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
const NOW = new Date('2026-06-02T02:00:00.000Z');
const store = new DynamoCaseStore(db, { cases: 'cases', audit: 'audit' }, () => NOW);
const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';

const conviction = rewardLines({ conviction: { reference: '（2026）浙1126刑初45号' } });
const round2 = { round: 2, lines: conviction };
const claim = () => store.claimRewardRound(CASE_ID, round2, rewardRoundEntry(round2), { by: 'u-police-01' });
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('the reward ledger of a case', () => {
  beforeEach(() => {
    ddb.reset();
    ddb.on(TransactWriteCommand).resolves({});
  });

  it('claims a round: the round item and one claim per component, each only if absent, with event and audit', async () => {
    const claimed = await claim();

    expect(claimed).toBe(true);
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.ConditionCheck?.Key).toEqual(caseKeys.case(CASE_ID));
    expect(items[1]?.Put?.Item).toMatchObject({
      sk: 'reward#round#0002',
      record: { round: 2, lines: [expect.objectContaining({ component: 'conviction', amountFen: 1_000_000 })] },
    });
    expect(items[2]?.Put?.Item).toMatchObject({ sk: 'reward#claim#conviction', round: 2 });
    expect(items.slice(1, 3).every((i) => i.Put?.ConditionExpression === 'attribute_not_exists(pk)')).toBe(true);
    expect(items[3]?.Put?.Item?.entry).toMatchObject({ type: 'reward_step', note: '第2轮举报奖励：判决有罪奖励' });
    expect(items[4]?.Put?.Item).toMatchObject({
      action: 'case.reward.round',
      detail: { round: 2, totalFen: 1_000_000 },
    });
  });

  it('claims nothing (false) when the round or a component is claimed already, and 404s an unknown case', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(['None', 'None', 'ConditionalCheckFailed']));
    await expect(claim()).resolves.toBe(false);

    ddb.reset();
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed', 'None', 'None']));
    await expect(claim()).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reads the ledger from the case partition (consistent), rounds in order, granted components', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { sk: 'reward#claim#conviction', kind: 'reward_claim', round: 2 },
        {
          sk: 'reward#granted#penalty',
          kind: 'reward_granted',
          record: { component: 'penalty', amountFen: 600_000, round: 1, grantedAt: '2026-05-20T00:00:00.000Z' },
        },
        {
          sk: 'reward#round#0003',
          kind: 'reward_round',
          record: { round: 3, lines: [], startedAt: '2026-06-01T00:00:00.000Z' },
        },
        {
          sk: 'reward#round#0002',
          kind: 'reward_round',
          record: { round: 2, lines: conviction, startedAt: '2026-05-21T00:00:00.000Z' },
        },
      ],
    });

    const ledger = await store.rewardLedger(CASE_ID);

    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
      ExpressionAttributeValues: { ':pk': `case#${CASE_ID}`, ':r': 'reward#' },
      ConsistentRead: true,
    });
    expect(ledger.rounds.map((r) => r.round)).toEqual([2, 3]);
    expect(ledger.granted).toEqual([expect.objectContaining({ component: 'penalty', amountFen: 600_000 })]);
  });
});
