import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoTipStore, tipIndexKeys } from '#shared/adapters/tips-store.ts';
import { DynamoTriageSources, openAlarmsQuery } from '#shared/adapters/triage-sources.ts';
import type { Tip } from '#shared/domain/tips/model.ts';

expect.extend(allCustomMatcher);

const creds = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const db = DynamoDBDocumentClient.from(new DynamoDBClient(creds));
const ddb = mockClient(db);
const sources = new DynamoTriageSources(db, { registry: 'registry', tips: 'tips', alarms: 'alarms' });
const USCC = '91331126MA2HQBC04Y';

const tip: Tip = {
  id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C3',
  channel: 'web',
  category: 'water',
  description: '排放口有黑水',
  location: { townshipId: 'songyuan', address: '松源溪边' },
  observedAt: '2026-03-10T08:00:00+08:00',
  reporterKind: 'anonymous',
  insider: false,
  commendationConsent: false,
  evidence: [],
  status: 'received',
  receivedAt: '2026-03-10T01:00:00.000Z',
  updatedAt: '2026-03-10T01:00:00.000Z',
};

beforeEach(() => ddb.reset());

describe('DynamoTriageSources', () => {
  it('lists a township’s enterprises by a gsi2 query, following pages', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ id: USCC, name: '供热站', location: { lat: 27.615, lng: 119.058 } }],
        LastEvaluatedKey: { pk: 'x' },
      })
      .resolvesOnce({ Items: [{ id: 'broken' }] });
    const units = await sources.enterprisesInTownship('songyuan');
    expect(units).toEqual([{ id: USCC, name: '供热站', location: { lat: 27.615, lng: 119.058 } }]);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'registry',
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :t AND begins_with(gsi2sk, :k)',
      ExpressionAttributeValues: { ':t': 'townships#songyuan', ':k': 'enterprises#' },
    });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  it('reads a named enterprise by key', async () => {
    ddb.on(GetCommand).resolves({ Item: { id: USCC, name: '供热站', location: { lat: 27.6, lng: 119 } } });
    expect(await sources.enterprise(USCC)).toMatchObject({ id: USCC });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'registry',
      Key: { pk: `enterprises#${USCC}`, sk: '#' },
    });
  });

  it('queries open alarms at a unit by the documented gsi2 convention', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [{ alarmId: 'AL1', raisedAt: '2026-03-10T00:00:00Z', summary: 'COD 超标' }],
    });
    expect(await sources.openAlarms(USCC)).toEqual([
      { alarmId: 'AL1', raisedAt: '2026-03-10T00:00:00Z', summary: 'COD 超标' },
    ]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, openAlarmsQuery('alarms', USCC));
    expect(openAlarmsQuery('alarms', USCC)).toMatchObject({
      IndexName: 'gsi2',
      ExpressionAttributeValues: { ':u': `unit#${USCC}`, ':open': 'open#' },
    });
  });

  it('finds duplicate candidates by gsi3 day range and by gsi2 unit since a time', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ tip }] });
    expect(await sources.tipsByPlace('water', 'songyuan', '2026-03-07', '2026-03-13')).toEqual([tip]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'tips',
      IndexName: 'gsi3',
      KeyConditionExpression: 'gsi3pk = :p AND gsi3sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':p': 'dup#water#songyuan', ':from': '2026-03-07#', ':to': '2026-03-13#~' },
    });
    await sources.tipsByUnit(USCC, '2026-03-03T01:00:00.000Z');
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'tips',
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :u AND gsi2sk >= :since',
      ExpressionAttributeValues: { ':u': `unit#${USCC}`, ':since': '2026-03-03T01:00:00.000Z' },
    });
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });
});

describe('DynamoTipStore triage keys', () => {
  const store = new DynamoTipStore(db, { tips: 'tips', identities: 'identities', audit: 'audit' });

  it('indexes a tip by its nearest unit and takes a merged tip out of the queue index', () => {
    const linked: Tip = {
      ...tip,
      links: {
        computedAt: tip.receivedAt,
        unit: { enterpriseId: USCC, basis: 'nearest', distanceM: 640, reason: 'nearest, 640 m' },
        alarms: [],
        duplicates: [],
      },
    };
    expect(tipIndexKeys(linked)).toMatchObject({ gsi1pk: 'status#received', gsi2pk: `unit#${USCC}` });
    const merged = tipIndexKeys({ ...linked, mergedInto: '01JNZ3Q8X7K2M4V6W8Y0A1B2C0' });
    expect(merged.gsi1pk).toBeUndefined();
    expect(merged.gsi3pk).toBe('dup#water#songyuan');
  });

  it('lists overdue candidates by a gsi1 query bounded by the receipt time', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ tip }] });
    expect(await store.queueBefore('received', '2026-03-11T16:00:00.000Z', 100)).toEqual([tip]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :s AND gsi1sk < :b',
      ExpressionAttributeValues: { ':s': 'status#received', ':b': '2026-03-11T16:00:00.000Z' },
      Limit: 100,
    });
  });

  it('merges in one transaction: both tips at their versions, both notes, the audit entry', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const note = (id: string) => ({
      type: 'merge' as const,
      id,
      at: '2026-03-11T00:00:00.000Z',
      actor: 'a',
      direction: 'absorbed' as const,
      otherTipId: 'x',
      reason: '重复',
    });
    const dup = { ...tip, id: '01JNZ3Q8X7K2M4V6W8Y0A1B2C9', mergedInto: tip.id };
    await store.merge({
      primary: { tip, version: 2 },
      duplicate: { tip: dup, version: 1 },
      entries: { primary: note('E1'), duplicate: note('E2') },
      audit: { actor: 'a', action: 'tip.merge', entity: `tip/${dup.id}`, at: '2026-03-11T00:00:00.000Z' },
    });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(5);
    expect(items[0]?.Put?.ExpressionAttributeValues).toEqual({ ':v': 2 });
    expect(items[1]?.Put?.Item).toMatchObject({ version: 2, tip: { mergedInto: tip.id } });
    expect(items[1]?.Put?.Item?.gsi1pk).toBeUndefined();
    expect(items[4]?.Put?.TableName).toBe('audit');
  });
});
