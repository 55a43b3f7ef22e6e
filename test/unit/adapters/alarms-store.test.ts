import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alarmIndexKeys, chunkGroups, DynamoAlarmStore } from '#shared/adapters/alarms-store.ts';
import { encodeCursor } from '#shared/adapters/dynamodb.ts';
import { type Alarm, openAlarm } from '#shared/domain/alarms/lifecycle.ts';
import type { Transition } from '#shared/domain/alarms/model.ts';
import { defaultRuleSet } from '#shared/domain/alarms/rules.ts';
import { AlarmService } from '#shared/domain/alarms/use-cases.ts';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import { WWTP } from '#shared/domain/registry/qingyuan-seed.ts';
import { codSignal, WWTP_MN, wwtpAlarmSource } from '../domain/alarms/lifecycle-fixtures.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  { marshallOptions: { removeUndefinedValues: true } },
);
const ddb = mockClient(db);

const NOW = new Date('2025-03-01T09:00:12.345Z');
const LATER = new Date('2025-03-01T11:20:00.000Z');
const MN = WWTP_MN;
const source = wwtpAlarmSource;
const signal = codSignal;
const A1 = '01JNK3W7Q8D2V5XG9T4HRB6ZME';
const A2 = '01JNK3W7Q8D2V5XG9T4HRB6ZMF';
let seq = 0;
const newId = () => `SEQ${String(++seq).padStart(4, '0')}`;
const store = new DynamoAlarmStore(db, { alarms: 'alarms', audit: 'audit' }, { newId });
/** the officials' use-case over this store: its actions reach DynamoDB as the commands asserted below */
const alarms = new AlarmService({ store, now: () => LATER });

/** An alarm as opened at NOW (version 1), with overrides. */
const alarmAt = (over: Partial<Alarm> = {}): Alarm => ({
  ...openAlarm({ alarmId: A1, signal: signal(), source, now: NOW, ruleVersion: 2 }).alarm,
  ...over,
});
const stored = (a: Alarm) => ({ ...a, pk: `alarm#${a.alarmId}`, sk: 'alarm', kind: 'alarm', ...alarmIndexKeys(a) });

const engineState = { v: 1, open: { 'exceedance#w01018': { alarmId: A1, level: 2, openedAt: signal().at } } };

function cancelled(reasons: { Code: string; Item?: Record<string, unknown> }[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled [${reasons.map((r) => r.Code).join(', ')}]`,
    $metadata: {},
    CancellationReasons: reasons.map((r) => ({
      Code: r.Code,
      ...(r.Item ? { Item: marshall(r.Item, { removeUndefinedValues: true }) } : {}),
    })),
  });
}

const transactItems = (call = 0) => ddb.commandCalls(TransactWriteCommand)[call]?.args[0].input.TransactItems ?? [];

describe('DynamoAlarmStore', () => {
  beforeEach(() => {
    ddb.reset();
    seq = 0;
  });

  afterEach(() => {
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });

  describe('commitEvaluation without transitions', () => {
    it('writes only the state item, conditioned on the version it read, asking for the old item on failure', async () => {
      ddb.on(PutCommand).resolves({});

      const out = await store.commitEvaluation(MN, 7, engineState, [], source, NOW, 2);

      expect(out).toEqual({ ok: true, ver: 8, alarms: [] });
      expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
      expect(ddb).toHaveReceivedCommandWith(PutCommand, {
        TableName: 'alarms',
        Item: {
          pk: `eval#${MN}`,
          sk: 'state',
          kind: 'eval',
          mn: MN,
          ver: 8,
          state: JSON.stringify(engineState),
          updatedAt: NOW.toISOString(),
        },
        ConditionExpression: 'ver = :ver',
        ExpressionAttributeValues: { ':ver': 7 },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
      expect(ddb).not.toHaveReceivedCommand(GetCommand);
    });

    it('creates the first state only if none exists (expected version 0)', async () => {
      ddb.on(PutCommand).resolves({});

      await store.commitEvaluation(MN, 0, engineState, [], source, NOW, 2);

      const input = ddb.commandCalls(PutCommand)[0]?.args[0].input;
      expect(input?.ConditionExpression).toBe('attribute_not_exists(pk)');
      expect(input?.ExpressionAttributeValues).toBeUndefined();
      expect(input?.Item?.ver).toBe(1);
    });

    it('returns the current state from the failed condition without another read', async () => {
      const current = { ...engineState, series: { 'w01018#avg': { w: 1 } } };
      ddb.on(PutCommand).rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: marshall({ pk: `eval#${MN}`, sk: 'state', ver: 9, state: JSON.stringify(current) }),
        }),
      );

      const out = await store.commitEvaluation(MN, 7, engineState, [], source, NOW, 2);

      expect(out).toEqual({ ok: false, current: { ver: 9, state: current, forget: [] } });
      expect(ddb).not.toHaveReceivedCommand(GetCommand);
    });

    it('merges pending manual clears into the returned state`s forget ids', async () => {
      const forget = [{ key: 'exceedance#w01018', alarmId: A1, at: LATER.toISOString(), by: 'u-chief-01' }];
      ddb.on(PutCommand).rejects(
        new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          Item: marshall({ pk: `eval#${MN}`, sk: 'state', ver: 8, state: JSON.stringify(engineState), forget }),
        }),
      );

      const out = await store.commitEvaluation(MN, 7, engineState, [], source, NOW, 2);

      expect(out).toEqual({ ok: false, current: { ver: 8, state: { ...engineState, forget: [A1] }, forget } });
    });

    it('returns no current state when the item is gone', async () => {
      ddb
        .on(PutCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

      expect(await store.commitEvaluation(MN, 3, engineState, [], source, NOW, 2)).toEqual({ ok: false });
    });

    it('rethrows other failures (throttling) for the Lambda to retry', async () => {
      ddb.on(PutCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

      await expect(store.commitEvaluation(MN, 3, engineState, [], source, NOW, 2)).rejects.toThrow('slow down');
    });
  });

  describe('commitEvaluation with transitions', () => {
    const open: Transition = { kind: 'open', alarmId: A1, signal: signal() };

    it('opens an alarm in one transaction: state, alarm, slot and timeline, each only if absent', async () => {
      ddb.on(TransactWriteCommand).resolves({});

      const out = await store.commitEvaluation(MN, 7, engineState, [open], source, NOW, 2);

      expect(out.ok).toBe(true);
      if (!out.ok) return;
      expect(out.ver).toBe(8);
      expect(out.alarms).toEqual([alarmAt()]);
      expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
      const items = transactItems();
      expect(items).toHaveLength(4);
      expect(items[0]?.Put).toMatchObject({
        TableName: 'alarms',
        Item: { pk: `eval#${MN}`, sk: 'state', ver: 8 },
        ConditionExpression: 'ver = :ver',
        ExpressionAttributeValues: { ':ver': 7 },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      const raisedAt = NOW.toISOString();
      expect(items[1]?.Put).toEqual({
        TableName: 'alarms',
        Item: {
          ...alarmAt(),
          pk: `alarm#${A1}`,
          sk: 'alarm',
          kind: 'alarm',
          gsi1pk: 'state#active',
          gsi1sk: `${raisedAt}#${A1}`,
          gsi2pk: `unit#${WWTP}`,
          gsi2sk: `open#${raisedAt}#${A1}`,
          gsi3pk: 'due',
          gsi3sk: `${raisedAt}#${A1}`,
          stateVersion: 1,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(items[1]?.Put?.Item).toMatchObject({
        alarmId: A1,
        raisedAt,
        summary: expect.stringContaining('二级超标'),
      });
      expect(items[3]?.Put).toEqual({
        TableName: 'alarms',
        Item: {
          pk: `slot#${MN}#exceedance#w01018`,
          sk: 'slot',
          kind: 'slot',
          mn: MN,
          key: 'exceedance#w01018',
          alarmId: A1,
          openedAt: signal().at,
          raisedAt,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      expect(items[2]?.Put).toEqual({
        TableName: 'alarms',
        Item: {
          pk: `alarm#${A1}`,
          sk: `ev#${raisedAt}#SEQ0001`,
          kind: 'event',
          alarmId: A1,
          event: { type: 'open', at: raisedAt, by: 'system', level: 2, dataTime: signal().at, note: signal().reasonZh },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('clears an alarm: reads it, closes its gsi2 key, frees the slot and makes the clear notice due', async () => {
      const acked = alarmAt({ state: 'acknowledged', acknowledgedBy: 'u-duty-01', version: 3, notifyDue: undefined });
      ddb.on(BatchGetCommand).resolves({ Responses: { alarms: [stored(acked)] } });
      ddb.on(TransactWriteCommand).resolves({});
      const clear: Transition = { kind: 'clear', alarmId: A1, signal: signal({ level: undefined, value: 31 }) };

      const out = await store.commitEvaluation(MN, 7, { v: 1, open: {} }, [clear], source, LATER, 2);

      expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
        RequestItems: { alarms: { Keys: [{ pk: `alarm#${A1}`, sk: 'alarm' }], ConsistentRead: true } },
      });
      const items = transactItems();
      expect(items.map((i) => Object.keys(i)[0])).toEqual(['Put', 'Put', 'Put', 'Delete']);
      expect(items[1]?.Put).toMatchObject({
        Item: {
          state: 'cleared',
          clearedBy: 'system',
          clearMode: 'auto',
          version: 4,
          gsi1pk: 'state#cleared',
          gsi2sk: `closed#${NOW.toISOString()}#${A1}`,
          gsi3pk: 'due',
          gsi3sk: `${LATER.toISOString()}#${A1}`,
        },
        ConditionExpression: '#version = :v AND #state <> :cleared',
        ExpressionAttributeNames: { '#version': 'version', '#state': 'state' },
        ExpressionAttributeValues: { ':v': 3, ':cleared': 'cleared' },
      });
      expect(items[3]?.Delete).toEqual({
        TableName: 'alarms',
        Key: { pk: `slot#${MN}#exceedance#w01018`, sk: 'slot' },
        ConditionExpression: 'alarmId = :id',
        ExpressionAttributeValues: { ':id': A1 },
      });
      expect(items[2]?.Put?.Item?.event).toMatchObject({ type: 'clear', mode: 'auto', by: 'system' });
      expect(out).toMatchObject({ ok: true, alarms: [{ alarmId: A1, state: 'cleared' }] });
    });

    it('changes a level without touching the slot', async () => {
      ddb.on(BatchGetCommand).resolves({ Responses: { alarms: [stored(alarmAt())] } });
      ddb.on(TransactWriteCommand).resolves({});
      const level: Transition = { kind: 'level', alarmId: A1, from: 2, signal: signal({ level: 1, multiple: 6.4 }) };

      const out = await store.commitEvaluation(MN, 7, engineState, [level], source, LATER, 2);

      const items = transactItems();
      expect(items.map((i) => Object.keys(i)[0])).toEqual(['Put', 'Put', 'Put']);
      expect(items[1]?.Put?.Item).toMatchObject({ level: 1, version: 2, gsi2sk: `open#${NOW.toISOString()}#${A1}` });
      expect(items[2]?.Put?.Item?.event).toMatchObject({ type: 'level', from: 2, to: 1 });
      expect(out).toMatchObject({ ok: true, alarms: [{ level: 1 }] });
    });

    it('folds an open and a level change of the same alarm in one batch into one alarm write', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      const level: Transition = { kind: 'level', alarmId: A1, from: 2, signal: signal({ level: 1, multiple: 6.4 }) };

      const out = await store.commitEvaluation(MN, 7, engineState, [open, level], source, NOW, 2);

      expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
      const items = transactItems();
      expect(items.map((i) => (i.Put?.Item?.kind as string | undefined) ?? Object.keys(i)[0])).toEqual([
        'eval',
        'alarm',
        'event',
        'event',
        'slot',
      ]);
      expect(items[1]?.Put).toMatchObject({
        Item: { level: 1, version: 2 },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect([items[2]?.Put?.Item?.event?.type, items[3]?.Put?.Item?.event?.type]).toEqual(['open', 'level']);
      expect(out).toMatchObject({ ok: true, alarms: [{ alarmId: A1, level: 1 }] });
    });

    it('writes no slot for an alarm opened and cleared in the same batch', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      const clear: Transition = { kind: 'clear', alarmId: A1, signal: signal({ level: undefined, value: 30 }) };

      await store.commitEvaluation(MN, 7, { v: 1, open: {} }, [open, clear], source, NOW, 2);

      const items = transactItems();
      expect(items.some((i) => i.Put?.Item?.kind === 'slot' || i.Delete)).toBe(false);
      expect(items[1]?.Put?.Item).toMatchObject({ state: 'cleared', gsi2sk: `closed#${NOW.toISOString()}#${A1}` });
    });

    it('hands the slot from a cleared alarm to the next one of the same key with one conditional put', async () => {
      ddb.on(BatchGetCommand).resolves({ Responses: { alarms: [stored(alarmAt())] } });
      ddb.on(TransactWriteCommand).resolves({});
      const clear: Transition = { kind: 'clear', alarmId: A1, signal: signal({ level: undefined, value: 30 }) };
      const reopen: Transition = { kind: 'open', alarmId: A2, signal: signal({ at: '2025-03-01T11:00:00.000Z' }) };

      await store.commitEvaluation(MN, 7, engineState, [clear, reopen], source, LATER, 2);

      const items = transactItems();
      const slotWrites = items.filter((i) => i.Put?.Item?.kind === 'slot' || i.Delete);
      expect(slotWrites).toEqual([
        {
          Put: expect.objectContaining({
            Item: expect.objectContaining({ pk: `slot#${MN}#exceedance#w01018`, alarmId: A2 }),
            ConditionExpression: 'alarmId = :id',
            ExpressionAttributeValues: { ':id': A1 },
          }),
        },
      ]);
      expect(items.filter((i) => i.Put?.Item?.kind === 'alarm').map((i) => i.Put?.Item?.state)).toEqual([
        'cleared',
        'active',
      ]);
    });

    it('returns the current state from the cancellation reasons when the state condition failed', async () => {
      ddb.on(TransactWriteCommand).rejects(
        cancelled([
          {
            Code: 'ConditionalCheckFailed',
            Item: { pk: `eval#${MN}`, sk: 'state', ver: 9, state: '{"v":1,"open":{}}' },
          },
          { Code: 'None' },
          { Code: 'None' },
          { Code: 'None' },
        ]),
      );

      const out = await store.commitEvaluation(MN, 7, engineState, [open], source, NOW, 2);

      expect(out).toEqual({ ok: false, current: { ver: 9, state: { v: 1, open: {} }, forget: [] } });
      expect(ddb).not.toHaveReceivedCommand(GetCommand);
    });

    it('reports a slot another evaluator took (slot race) and reads the current state for the retry', async () => {
      ddb.on(TransactWriteCommand).rejects(
        cancelled([
          { Code: 'None' },
          { Code: 'None' },
          { Code: 'None' },
          {
            Code: 'ConditionalCheckFailed',
            Item: { pk: `slot#${MN}#exceedance#w01018`, sk: 'slot', alarmId: A2, openedAt: '2025-03-01T08:00:00.000Z' },
          },
        ]),
      );
      ddb.on(GetCommand).resolves({ Item: { pk: `eval#${MN}`, sk: 'state', ver: 7, state: '{"v":1,"open":{}}' } });

      const out = await store.commitEvaluation(MN, 7, engineState, [open], source, NOW, 2);

      expect(out).toEqual({
        ok: false,
        current: { ver: 7, state: { v: 1, open: {} }, forget: [] },
        conflicts: [
          { kind: 'slot_taken', key: 'exceedance#w01018', alarmId: A2, openedAt: '2025-03-01T08:00:00.000Z' },
        ],
      });
      expect(ddb).toHaveReceivedCommandWith(GetCommand, {
        TableName: 'alarms',
        Key: { pk: `eval#${MN}`, sk: 'state' },
        ConsistentRead: true,
      });
    });

    it('treats a transaction conflict as a retry from the current state', async () => {
      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled([{ Code: 'TransactionConflict' }, { Code: 'None' }, { Code: 'None' }, { Code: 'None' }]));
      ddb.on(GetCommand).resolves({ Item: { pk: `eval#${MN}`, sk: 'state', ver: 7, state: '{}' } });

      expect(await store.commitEvaluation(MN, 7, engineState, [open], source, NOW, 2)).toEqual({
        ok: false,
        current: { ver: 7, state: {}, forget: [] },
      });
    });

    it('writes nothing and reports alarm_closed when the alarm to re-level was cleared meanwhile', async () => {
      ddb.on(BatchGetCommand).resolves({ Responses: { alarms: [stored(alarmAt({ state: 'cleared' }))] } });
      ddb.on(GetCommand).resolves({ Item: { pk: `eval#${MN}`, sk: 'state', ver: 7, state: '{}' } });
      const level: Transition = { kind: 'level', alarmId: A1, from: 2, signal: signal({ level: 1 }) };

      const out = await store.commitEvaluation(MN, 7, engineState, [level], source, LATER, 2);

      expect(out).toEqual({
        ok: false,
        current: { ver: 7, state: {}, forget: [] },
        conflicts: [{ kind: 'alarm_closed', alarmId: A1 }],
      });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('splits more than 100 items into ordered transactions guarded by the state version, the state put last', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      const opens: Transition[] = Array.from({ length: 40 }, (_, i) => ({
        kind: 'open',
        alarmId: `01JNK3W7Q8D2V5XG9T4HRB${String(i).padStart(4, '0')}`,
        signal: signal({
          key: `device_fault#p${i}`,
          type: 'device_fault',
          pollutant: `w9${String(i).padStart(4, '0')}`,
        }),
      }));

      const out = await store.commitEvaluation(MN, 7, engineState, opens, source, NOW, 2);

      expect(out.ok).toBe(true);
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
      const [first, second] = [transactItems(0), transactItems(1)];
      expect(first.length).toBeLessThanOrEqual(100);
      expect(first[0]?.ConditionCheck).toEqual({
        TableName: 'alarms',
        Key: { pk: `eval#${MN}`, sk: 'state' },
        ConditionExpression: 'ver = :ver',
        ExpressionAttributeValues: { ':ver': 7 },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      expect(second[0]?.Put?.Item).toMatchObject({ pk: `eval#${MN}`, ver: 8 });
      expect(first.length + second.length).toBe(2 + 40 * 3);
    });
  });

  describe('chunkGroups', () => {
    it('never splits a group and keeps one place for the state', () => {
      const groups = Array.from({ length: 34 }, (_, i) => [i, i, i]);
      const chunks = chunkGroups(groups);
      expect(chunks.map((c) => c.length)).toEqual([99, 3]);
      expect(chunkGroups([])).toEqual([[]]);
    });
  });

  describe('loadEvalState', () => {
    it('reads the state consistently and returns undefined when none is stored', async () => {
      ddb.on(GetCommand).resolves({});
      expect(await store.loadEvalState(MN)).toBeUndefined();
      expect(ddb).toHaveReceivedCommandWith(GetCommand, {
        Key: { pk: `eval#${MN}`, sk: 'state' },
        ConsistentRead: true,
      });
    });
  });

  describe('list', () => {
    beforeEach(() => {
      ddb.on(QueryCommand).resolves({ Items: [stored(alarmAt())] });
    });

    it('lists active alarms newest first from gsi1 by default', async () => {
      const page = await alarms.list({}, { limit: 20 });

      expect(page.items).toEqual([alarmAt()]);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        TableName: 'alarms',
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': 'state#active' },
        ScanIndexForward: false,
        Limit: 20,
      });
    });

    it('puts a time range in the gsi1 key (inclusive, normalized) and the rest in a filter', async () => {
      await alarms.list(
        {
          state: 'cleared',
          level: 1,
          type: 'exceedance',
          township: 'mengzhou',
          from: '2025-03-01T08:00:00Z',
          to: '2025-03-01T16:00:00+08:00',
        },
        { limit: 50 },
      );

      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi',
        FilterExpression: '#level = :level AND #type = :type AND townshipId = :township',
        ExpressionAttributeNames: { '#level': 'level', '#type': 'type' },
        ExpressionAttributeValues: {
          ':pk': 'state#cleared',
          ':lo': '2025-03-01T08:00:00.000Z',
          ':hi': '2025-03-01T08:00:00.000Z#~',
          ':level': 1,
          ':type': 'exceedance',
          ':township': 'mengzhou',
        },
      });
    });

    it('uses gsi2 for an enterprise, its open half for an open state, keeping the state as a filter', async () => {
      await alarms.list({ enterprise: WWTP, state: 'acknowledged' }, { limit: 10 });

      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :prefix)',
        FilterExpression: '#state = :state',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pk': `unit#${WWTP}`, ':prefix': 'open#', ':state': 'acknowledged' },
      });
    });

    it('filters retrospective records (补传超标) in or out by the attribute they carry', async () => {
      await alarms.list({ retrospective: true }, { limit: 10 });
      await alarms.list({ enterprise: WWTP, retrospective: false }, { limit: 10 });

      const [inOnly, outOnly] = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
      expect(inOnly).toMatchObject({ IndexName: 'gsi1', FilterExpression: 'attribute_exists(retrospective)' });
      expect(outOnly).toMatchObject({ IndexName: 'gsi2', FilterExpression: 'attribute_not_exists(retrospective)' });
    });

    it('uses the closed half of gsi2 with a time range for an enterprise`s cleared alarms', async () => {
      await alarms.list({ enterprise: WWTP, state: 'cleared', from: '2025-02-01T00:00:00.000Z' }, { limit: 10 });

      const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(input?.KeyConditionExpression).toBe('gsi2pk = :pk AND gsi2sk BETWEEN :lo AND :hi');
      expect(input?.ExpressionAttributeValues).toEqual({
        ':pk': `unit#${WWTP}`,
        ':lo': 'closed#2025-02-01T00:00:00.000Z',
        ':hi': 'closed#~',
      });
      expect(input?.FilterExpression).toBeUndefined();
    });

    it('filters an enterprise`s alarms of any state by raisedAt', async () => {
      await alarms.list({ enterprise: WWTP, to: '2025-03-02T00:00:00.000Z' }, { limit: 10 });

      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :pk',
        FilterExpression: 'raisedAt <= :to',
        ExpressionAttributeValues: { ':pk': `unit#${WWTP}`, ':to': '2025-03-02T00:00:00.000Z' },
      });
    });

    it('passes the cursor on and returns the next one', async () => {
      const last = { pk: `alarm#${A1}`, sk: 'alarm', gsi1pk: 'state#active', gsi1sk: `x#${A1}` };
      ddb.on(QueryCommand).resolves({ Items: [], LastEvaluatedKey: last });

      const page = await alarms.list({}, { limit: 1, cursor: encodeCursor(last) });

      expect(page.cursor).toBe(encodeCursor(last));
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExclusiveStartKey: last });
    });

    it('refuses a cursor from another listing (400 on query.cursor) without querying', async () => {
      const other = encodeCursor({ pk: `alarm#${A1}`, sk: 'alarm', gsi2pk: `unit#${WWTP}`, gsi2sk: 'x' });

      await expect(alarms.list({}, { limit: 1, cursor: other })).rejects.toThrow(ValidationError);
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });

    it('refuses from after to (400)', async () => {
      await expect(
        alarms.list({ from: '2025-03-02T00:00:00Z', to: '2025-03-01T00:00:00Z' }, { limit: 10 }),
      ).rejects.toThrow(ValidationError);
    });
  });

  describe('timeline', () => {
    it('queries the alarm`s events oldest first', async () => {
      const event = { type: 'ack', at: LATER.toISOString(), by: 'u-duty-01' };
      ddb.on(QueryCommand).resolves({ Items: [{ pk: `alarm#${A1}`, sk: `ev#${event.at}#X`, kind: 'event', event }] });

      const page = await store.timeline(A1, { limit: 100 });

      expect(page).toEqual({ items: [event] });
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
        ExpressionAttributeValues: { ':pk': `alarm#${A1}`, ':ev': 'ev#' },
        Limit: 100,
      });
    });
  });

  describe('officials` actions', () => {
    it('acknowledges in one transaction: the alarm at the version read, its event and the audit entry', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(alarmAt()) });
      ddb.on(TransactWriteCommand).resolves({});

      const alarm = await alarms.acknowledge(A1, 'u-duty-01', '已电话通知厂方', 1);

      expect(alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'u-duty-01', version: 2 });
      expect(ddb).toHaveReceivedCommandWith(GetCommand, {
        Key: { pk: `alarm#${A1}`, sk: 'alarm' },
        ConsistentRead: true,
      });
      const items = transactItems();
      expect(items).toHaveLength(3);
      expect(items[0]?.Put).toMatchObject({
        Item: { state: 'acknowledged', gsi1pk: 'state#acknowledged', gsi2sk: `open#${NOW.toISOString()}#${A1}` },
        ConditionExpression: '#version = :v AND #state <> :cleared',
        ExpressionAttributeValues: { ':v': 1, ':cleared': 'cleared' },
      });
      expect(items[1]?.Put?.Item).toMatchObject({
        pk: `alarm#${A1}`,
        sk: `ev#${LATER.toISOString()}#SEQ0001`,
        event: { type: 'ack', by: 'u-duty-01', note: '已电话通知厂方' },
      });
      expect(items[2]?.Put).toMatchObject({
        TableName: 'audit',
        Item: {
          pk: `alarm/${A1}`,
          actor: 'u-duty-01',
          action: 'alarm.acknowledge',
          entity: `alarm/${A1}`,
          at: LATER.toISOString(),
          detail: { version: 2, note: '已电话通知厂方' },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('writes nothing when the same person acknowledges again', async () => {
      const acked = alarmAt({
        state: 'acknowledged',
        acknowledgedBy: 'u-duty-01',
        acknowledgedAt: NOW.toISOString(),
        version: 2,
      });
      ddb.on(GetCommand).resolves({ Item: stored(acked) });

      expect(await alarms.acknowledge(A1, 'u-duty-01', undefined)).toEqual(acked);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('refuses a stale expected version (412) before writing', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(alarmAt({ version: 3 })) });

      await expect(alarms.acknowledge(A1, 'u-duty-01', undefined, 2)).rejects.toThrow(PreconditionFailedError);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 412 when other writers keep winning between the read and the write', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(alarmAt()) });
      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }]));

      await expect(alarms.acknowledge(A1, 'u-duty-01', undefined)).rejects.toThrow(PreconditionFailedError);
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 3);
    });

    it('keeps an If-Match taken before a reminder valid: notifications bump the version, not the state version', async () => {
      // the official read version 2; the sweep has since sent two reminders (version 4, state still at 2)
      ddb.on(GetCommand).resolves({ Item: { ...stored(alarmAt({ version: 4 })), stateVersion: 2 } });
      ddb.on(TransactWriteCommand).resolves({});

      const acked = await alarms.acknowledge(A1, 'u-duty-01', undefined, 2);
      expect(acked).toMatchObject({ state: 'acknowledged', version: 5 });
      const put = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[0]?.Put;
      expect(put).toMatchObject({ Item: { version: 5, stateVersion: 5 }, ExpressionAttributeValues: { ':v': 4 } });
      expect(acked).not.toHaveProperty('stateVersion');
    });

    it('still refuses an If-Match older than the last real change, or newer than the alarm', async () => {
      ddb.on(GetCommand).resolves({ Item: { ...stored(alarmAt({ version: 4 })), stateVersion: 3 } });

      await expect(alarms.acknowledge(A1, 'u-duty-01', undefined, 2)).rejects.toThrow(PreconditionFailedError);
      await expect(alarms.acknowledge(A1, 'u-duty-01', undefined, 5)).rejects.toThrow(PreconditionFailedError);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('reads again and acts when the sweep recorded a reminder between the read and the write', async () => {
      ddb
        .on(GetCommand)
        .resolvesOnce({ Item: { ...stored(alarmAt({ version: 2 })), stateVersion: 2 } })
        .resolves({ Item: { ...stored(alarmAt({ version: 3 })), stateVersion: 2 } });
      ddb
        .on(TransactWriteCommand)
        .rejectsOnce(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }]))
        .resolves({});

      expect(await alarms.acknowledge(A1, 'u-duty-01', undefined, 2)).toMatchObject({ version: 4 });
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    });

    it('answers 404 for an unknown alarm and 409 for a cleared one', async () => {
      ddb
        .on(GetCommand)
        .resolvesOnce({})
        .resolves({ Item: stored(alarmAt({ state: 'cleared' })) });

      await expect(alarms.acknowledge(A1, 'u-duty-01', undefined)).rejects.toThrow(NotFoundError);
      await expect(alarms.acknowledge(A1, 'u-duty-01', undefined)).rejects.toThrow(ConflictError);
    });

    it('snoozes with the until time in the audit detail', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(alarmAt()) });
      ddb.on(TransactWriteCommand).resolves({});
      const until = '2025-03-01T15:20:00.000Z';

      const alarm = await alarms.snooze(A1, 'u-duty-01', '厂方检修，复测后再报', until);

      expect(alarm).toMatchObject({ snoozedUntil: until, snoozedBy: 'u-duty-01', state: 'active' });
      expect(transactItems()[2]?.Put?.Item).toMatchObject({
        action: 'alarm.snooze',
        detail: { version: 2, note: '厂方检修，复测后再报', until },
      });
    });

    it('clears manually: frees the slot, bumps the evaluator version with a forget entry, and audits', async () => {
      ddb.on(GetCommand).resolves({ Item: stored(alarmAt({ notifyDue: undefined })) });
      ddb.on(TransactWriteCommand).resolves({});

      const alarm = await alarms.clear(A1, 'u-chief-01', '现场核查：进水冲击已消除', 1);

      expect(alarm).toMatchObject({ state: 'cleared', clearMode: 'manual', clearedBy: 'u-chief-01', version: 2 });
      const items = transactItems();
      expect(items.map((i) => Object.keys(i)[0])).toEqual(['Put', 'Delete', 'Update', 'Put', 'Put']);
      expect(items[0]?.Put?.Item).toMatchObject({
        gsi1pk: 'state#cleared',
        gsi2sk: `closed#${NOW.toISOString()}#${A1}`,
        gsi3pk: 'due',
        gsi3sk: `${LATER.toISOString()}#${A1}`,
      });
      expect(items[1]?.Delete).toEqual({
        TableName: 'alarms',
        Key: { pk: `slot#${MN}#exceedance#w01018`, sk: 'slot' },
        ConditionExpression: 'alarmId = :id',
        ExpressionAttributeValues: { ':id': A1 },
      });
      expect(items[2]?.Update).toEqual({
        TableName: 'alarms',
        Key: { pk: `eval#${MN}`, sk: 'state' },
        UpdateExpression:
          'SET ver = if_not_exists(ver, :zero) + :one, forget = list_append(if_not_exists(forget, :empty), :ref)',
        ExpressionAttributeValues: {
          ':zero': 0,
          ':one': 1,
          ':empty': [],
          ':ref': [{ key: 'exceedance#w01018', alarmId: A1, at: LATER.toISOString(), by: 'u-chief-01' }],
        },
      });
      expect(items[3]?.Put?.Item?.event).toEqual({
        type: 'clear',
        at: LATER.toISOString(),
        by: 'u-chief-01',
        mode: 'manual',
        note: '现场核查：进水冲击已消除',
      });
      expect(items[4]?.Put).toMatchObject({ TableName: 'audit', Item: { action: 'alarm.clear' } });
    });

    it('clears a retrospective record (补传超标) without a slot to free and without a notice, telling the evaluator', async () => {
      const window = {
        from: NOW.toISOString(),
        to: NOW.toISOString(),
        kind: 'hour',
        count: 1,
        peak: 180,
        resent: true,
      };
      ddb.on(GetCommand).resolves({
        Item: stored(alarmAt({ notifyDue: undefined, key: 'retro#exceedance#w01018', retrospective: window })),
      });
      ddb.on(TransactWriteCommand).resolves({});

      const alarm = await alarms.clear(A1, 'u-duty-01', '已核实，移交执法', 1);

      expect(alarm).toMatchObject({ state: 'cleared', retrospective: window });
      expect(alarm.notifyDue).toBeUndefined();
      const items = transactItems();
      expect(items.map((i) => Object.keys(i)[0])).toEqual(['Put', 'Update', 'Put', 'Put']);
      expect(items[0]?.Put?.Item?.gsi3pk).toBeUndefined();
      expect(items[1]?.Update?.Key).toEqual({ pk: `eval#${MN}`, sk: 'state' });
    });

    it('comments on an alarm in any state: existence check, event and audit entry', async () => {
      ddb.on(TransactWriteCommand).resolves({});

      const event = await alarms.comment(A1, 'u-analyst-02', '与12345热线线索关联');

      expect(event).toEqual({
        type: 'comment',
        at: LATER.toISOString(),
        by: 'u-analyst-02',
        note: '与12345热线线索关联',
      });
      const items = transactItems();
      expect(items[0]?.ConditionCheck).toEqual({
        TableName: 'alarms',
        Key: { pk: `alarm#${A1}`, sk: 'alarm' },
        ConditionExpression: 'attribute_exists(pk)',
      });
      expect(items[2]?.Put?.Item).toMatchObject({ action: 'alarm.comment', actor: 'u-analyst-02' });
      expect(ddb).not.toHaveReceivedCommand(GetCommand);
    });

    it('answers 404 when commenting on an unknown alarm', async () => {
      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }]));

      await expect(alarms.comment(A1, 'u-analyst-02', '备注')).rejects.toThrow(NotFoundError);
    });
  });

  describe('notification sweep', () => {
    it('queries the sparse due index up to now, earliest first', async () => {
      ddb.on(QueryCommand).resolves({ Items: [stored(alarmAt())] });

      expect(await store.due(LATER, 25)).toEqual([alarmAt()]);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: 'gsi3',
        KeyConditionExpression: 'gsi3pk = :due AND gsi3sk <= :now',
        ExpressionAttributeValues: { ':due': 'due', ':now': `${LATER.toISOString()}#~` },
        Limit: 25,
      });
    });

    it('records the notify state and the next due time with the notified events, at the expected version', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      const notified = {
        type: 'notified' as const,
        at: LATER.toISOString(),
        by: 'system',
        audience: 'bureau' as const,
        kind: 'open',
      };
      const next = '2025-03-01T11:50:00.000Z';

      expect(await store.recordNotified(A1, 1, { audiences: {} }, next, [notified])).toBe(2);

      const items = transactItems();
      expect(items[0]?.Update).toEqual({
        TableName: 'alarms',
        Key: { pk: `alarm#${A1}`, sk: 'alarm' },
        UpdateExpression:
          'SET #notify = :notify, #version = :next, notifyDue = :due, gsi3pk = :gsi3pk, gsi3sk = :gsi3sk',
        ConditionExpression: '#version = :v',
        ExpressionAttributeNames: { '#notify': 'notify', '#version': 'version' },
        ExpressionAttributeValues: {
          ':notify': { audiences: {} },
          ':next': 2,
          ':v': 1,
          ':due': next,
          ':gsi3pk': 'due',
          ':gsi3sk': `${next}#${A1}`,
        },
      });
      expect(items[1]?.Put?.Item).toMatchObject({ kind: 'event', event: notified });
    });

    it('removes the due keys when nothing more is due (single update without events)', async () => {
      ddb.on(UpdateCommand).resolves({});

      await store.recordNotified(A1, 4, { audiences: {} }, undefined, []);

      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
        UpdateExpression: 'SET #notify = :notify, #version = :next REMOVE notifyDue, gsi3pk, gsi3sk',
        ExpressionAttributeValues: { ':notify': { audiences: {} }, ':next': 5, ':v': 4 },
      });
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 412 when the alarm changed since the sweep read it', async () => {
      ddb
        .on(UpdateCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

      await expect(store.recordNotified(A1, 4, {}, undefined, [])).rejects.toThrow(PreconditionFailedError);
    });
  });

  describe('the enterprise’s answer', () => {
    const withUploads = new DynamoAlarmStore(db, { alarms: 'alarms', audit: 'audit', uploads: 'tips' }, { newId });
    const response = {
      alarmId: A1,
      enterpriseId: WWTP,
      status: 'submitted' as const,
      explanation: '已更换风机',
      rectifyBy: '2025-03-10',
      evidence: [],
      round: 1,
      submittedBy: 'ent-1',
      submittedAt: LATER.toISOString(),
      version: 1,
    };
    const event = {
      type: 'response' as const,
      at: LATER.toISOString(),
      by: 'ent-1',
      round: 1,
      rectifyBy: '2025-03-10',
    };
    const audit = {
      actor: 'ent-1',
      action: 'alarm.response.submit',
      entity: `alarm/${A1}`,
      at: LATER.toISOString(),
      detail: {},
    };

    it('references the sealed uploads in the answer’s transaction, on the condition they are still the answer’s', async () => {
      ddb.on(TransactWriteCommand).resolves({});
      await withUploads.putResponse({ response, uploadIds: ['U1'], replacing: undefined, event, audit });
      const items = transactItems();
      expect(items[0]?.Put?.Item).toMatchObject({
        gsi1pk: 'response#submitted',
        gsi1sk: `${LATER.toISOString()}#${A1}`,
      });
      expect(items[3]?.Update).toMatchObject({
        TableName: 'tips',
        Key: { pk: 'upload#U1', sk: 'upload' },
        ConditionExpression: 'usedBy = :o',
        ExpressionAttributeValues: expect.objectContaining({ ':o': `response#${A1}` }),
      });
    });

    it('refuses files without an uploads table, writing nothing', async () => {
      await expect(
        store.putResponse({ response, uploadIds: ['U1'], replacing: undefined, event, audit }),
      ).rejects.toThrow(/uploads table/);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });
  });

  describe('rules', () => {
    const { version: _v, updatedAt: _u, updatedBy: _b, ...defaults } = defaultRuleSet();
    const input = { ...defaults, note: '预警阈值调整为限值的80%' };

    it('serves the defaults (version 1) while none are stored', async () => {
      ddb.on(GetCommand).resolves({});
      expect(await alarms.rules()).toEqual(defaultRuleSet());
    });

    it('stores the first version as 2, with the defaults it replaces as history and an audit entry', async () => {
      ddb.on(GetCommand).resolves({});
      ddb.on(TransactWriteCommand).resolves({});

      const rules = await alarms.replaceRules(input, 'u-admin-01', 1);

      expect(rules).toMatchObject({ version: 2, updatedBy: 'u-admin-01', updatedAt: LATER.toISOString() });
      const items = transactItems();
      expect(items[0]?.Put).toMatchObject({
        Item: { pk: 'rules', sk: 'current', kind: 'rules', version: 2, rules },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(items[1]?.Put).toMatchObject({
        Item: { pk: 'rules', sk: 'v#000002', version: 2 },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(items[2]?.Put?.Item).toMatchObject({ sk: 'v#000001', rules: defaultRuleSet() });
      expect(items[3]?.Put).toMatchObject({
        TableName: 'audit',
        Item: { action: 'alarm_rules.replace', entity: 'alarm-rules', detail: { version: 2, note: input.note } },
      });
    });

    it('replaces a stored version conditioned on it', async () => {
      const current = { ...defaultRuleSet(), version: 4 };
      ddb.on(GetCommand).resolves({ Item: { pk: 'rules', sk: 'current', version: 4, rules: current } });
      ddb.on(TransactWriteCommand).resolves({});

      await alarms.replaceRules(input, 'u-chief-01');

      const items = transactItems();
      expect(items).toHaveLength(3);
      expect(items[0]?.Put).toMatchObject({
        Item: { version: 5 },
        ConditionExpression: '#version = :v',
        ExpressionAttributeValues: { ':v': 4 },
      });
    });

    it('refuses a stale If-Match version (412) without writing, and a concurrent writer the same way', async () => {
      ddb
        .on(GetCommand)
        .resolves({ Item: { pk: 'rules', sk: 'current', version: 4, rules: { ...defaultRuleSet(), version: 4 } } });
      await expect(alarms.replaceRules(input, 'u-chief-01', 3)).rejects.toThrow(PreconditionFailedError);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);

      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }]));
      await expect(alarms.replaceRules(input, 'u-chief-01', 4)).rejects.toThrow(PreconditionFailedError);
    });

    it('lists stored versions newest first, or the defaults alone', async () => {
      ddb
        .on(QueryCommand)
        .resolvesOnce({ Items: [] })
        .resolves({
          Items: [{ pk: 'rules', sk: 'v#000002', version: 2, rules: { ...defaultRuleSet(), version: 2 } }],
        });

      expect(await alarms.ruleVersions({ limit: 10 })).toEqual({ items: [defaultRuleSet()] });
      expect((await alarms.ruleVersions({ limit: 10 })).items.map((r) => r.version)).toEqual([2]);
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': 'rules', ':v': 'v#' },
        ScanIndexForward: false,
      });
    });
  });
});
