import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { dynamoSourceReader, tipMessages } from '#shared/adapters/case-sources.ts';
import { DynamoTipRecords, tipKeys } from '#shared/adapters/tips-store.ts';

expect.extend(allCustomMatcher);

/** What the case functions read and write outside the cases table: sources, and messages to a tip's reporter. */
const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
beforeEach(() => ddb.reset());
const tips = new DynamoTipRecords(db, { tips: 'tips', audit: 'audit' });
const TIP_ID = '01KB2N0G5Z8K3M4P6Q7R8S9TA1';
const cancelled = (codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

describe('tipMessages', () => {
  const messages = tipMessages(tips);
  const message = { id: '01KB2N0G5Z8K3M4P6Q7R8INVIT', at: '2026-11-30T02:00:00.000Z', text: '您举报的线索经查属实' };

  it('posts the message under the tip, only if absent, with its audit entry, in one transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await messages.post(TIP_ID, message, { via: 'reward-workflow', kind: 'claim_invitation' });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.ConditionCheck).toMatchObject({ TableName: 'tips', Key: tipKeys.tip(TIP_ID) });
    expect(items[1]?.Put).toMatchObject({
      TableName: 'tips',
      Item: { pk: `tip#${TIP_ID}`, entry: { type: 'message', from: 'handler', id: message.id, at: message.at } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(items[2]?.Put).toMatchObject({
      TableName: 'audit',
      Item: { actor: 'system', action: 'tip.message', detail: { kind: 'claim_invitation' } },
    });
  });

  it('writes the same entry key on a retry, and takes an existing one as done', async () => {
    ddb
      .on(TransactWriteCommand)
      .resolvesOnce({})
      .rejects(cancelled(['None', 'ConditionalCheckFailed', 'None']));
    await messages.post(TIP_ID, message, {});
    await expect(messages.post(TIP_ID, message, {})).resolves.toBeUndefined();
    const keys = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems?.[1]?.Put?.Item?.sk);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('passes other failures on (a missing tip, a throttle), so the Lambda is retried', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed', 'None', 'None']));
    await expect(messages.post(TIP_ID, message, {})).rejects.toThrow();
    ddb.on(TransactWriteCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(messages.post(TIP_ID, message, {})).rejects.toThrow('throttled');
  });
});

describe('dynamoSourceReader', () => {
  const reader = dynamoSourceReader(db, { alarms: 'alarms', registry: 'registry', audit: 'audit' }, tips);

  it('reads tips, their timelines and patrols from the tips table, alarms and the registry from theirs, by key', async () => {
    ddb.on(GetCommand, { TableName: 'tips', Key: tipKeys.tip(TIP_ID) }).resolves({
      Item: { kind: 'tip', tip: { id: TIP_ID }, version: 2 },
    });
    ddb.on(GetCommand, { TableName: 'tips', Key: { pk: 'patrol#P1', sk: '#' } }).resolves({
      Item: { kind: 'patrol', patrol: { id: 'P1', findings: [] } },
    });
    ddb.on(QueryCommand, { TableName: 'tips' }).resolves({ Items: [{ entry: { type: 'identity_access', id: 'E1' } }] });
    ddb.on(GetCommand, { TableName: 'alarms' }).resolves({ Item: { kind: 'alarm', alarmId: 'A1', enterpriseId: 'X' } });
    ddb.on(GetCommand, { TableName: 'registry' }).resolves({
      Item: { pk: 'enterprises#X', sk: '#', id: 'X', version: 1, createdAt: 'a', updatedAt: 'b' },
    });

    expect(await reader.tip(TIP_ID)).toEqual({ id: TIP_ID });
    expect(await reader.tipTimeline(TIP_ID)).toEqual([{ type: 'identity_access', id: 'E1' }]);
    expect(await reader.patrol('P1')).toEqual({ id: 'P1', findings: [] });
    expect(await reader.alarm('A1')).toMatchObject({ alarmId: 'A1', enterpriseId: 'X' });
    expect(await reader.enterprise('X')).toMatchObject({ id: 'X' });
    // never the identities table
    for (const call of ddb.calls()) expect(JSON.stringify(call.args[0].input)).not.toContain('identit');
  });
});
