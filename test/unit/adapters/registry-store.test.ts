import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeCursor } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
const store = new DynamoRegistryStore(db, 'registry', 'audit');

const AT = '2025-03-01T08:00:00.000Z';
const LATER = '2025-03-02T09:30:00.000Z';
const township = { id: 'songyuan', name: '松源街道', type: '街道', pinyin: 'Songyuan Jiedao' };
const outlet = { id: '91331126MA2BW0T89P-DW001', enterpriseId: '91331126MA2BW0T89P', code: 'DW001' };
const audit = (at: string, action = 'registry.create') => ({
  actor: 'u-admin-01',
  action,
  entity: 'townships/songyuan',
  at,
});

function conditionFailed(): TransactionCanceledException {
  return new TransactionCanceledException({
    message:
      'Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]',
    $metadata: {},
    CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
  });
}

const storedTownship = (version: number) => ({
  ...township,
  pk: 'townships#songyuan',
  sk: '#',
  kind: 'townships',
  gsi1pk: 'townships',
  gsi1sk: 'songyuan',
  version,
  createdAt: AT,
  updatedAt: AT,
});

describe('DynamoRegistryStore', () => {
  beforeEach(() => {
    ddb.reset();
  });

  describe('create', () => {
    it('writes the item and its audit entry in one transaction, each only if absent', async () => {
      ddb.on(TransactWriteCommand).resolves({});

      const created = await store.create('townships', 'songyuan', township, undefined, audit(AT));

      expect(created).toEqual({ item: township, version: 1, createdAt: AT, updatedAt: AT });
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(ddb).toHaveReceivedCommandWith(TransactWriteCommand, {
        TransactItems: [
          {
            Put: {
              TableName: 'registry',
              Item: { ...storedTownship(1) },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: 'audit',
              Item: {
                pk: 'townships/songyuan',
                sk: expect.stringMatching(new RegExp(`^${AT}#[0-9A-HJKMNP-TV-Z]{26}$`)),
                gsi1pk: 'actor#u-admin-01',
                gsi1sk: AT,
                actor: 'u-admin-01',
                action: 'registry.create',
                entity: 'townships/songyuan',
                at: AT,
                detail: { version: 1 },
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      });
    });

    it('keys a child under its parent for listing', async () => {
      ddb.on(TransactWriteCommand).resolves({});

      await store.create('outlets', outlet.id, outlet, { kind: 'enterprises', id: outlet.enterpriseId }, audit(AT));

      const input = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input;
      expect(input?.TransactItems?.[0]?.Put?.Item).toMatchObject({
        pk: `outlets#${outlet.id}`,
        gsi1pk: 'outlets',
        gsi1sk: outlet.id,
        gsi2pk: `enterprises#${outlet.enterpriseId}`,
        gsi2sk: `outlets#${outlet.id}`,
      });
    });

    it('fails with ConflictError when the transaction is cancelled on its condition', async () => {
      ddb.on(TransactWriteCommand).rejects(conditionFailed());

      await expect(store.create('townships', 'songyuan', township, undefined, audit(AT))).rejects.toBeInstanceOf(
        ConflictError,
      );
    });

    it('rethrows a cancellation that is not a condition failure', async () => {
      const throttled = new TransactionCanceledException({
        message: 'throttled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ThrottlingError' }, { Code: 'None' }],
      });
      ddb.on(TransactWriteCommand).rejects(throttled);

      await expect(store.create('townships', 'songyuan', township, undefined, audit(AT))).rejects.toBe(throttled);
    });
  });

  describe('get', () => {
    it('reads by key and returns the entity without its key attributes', async () => {
      ddb.on(GetCommand).resolves({ Item: storedTownship(3) });

      const got = await store.get('townships', 'songyuan');

      expect(got).toEqual({ item: township, version: 3, createdAt: AT, updatedAt: AT });
      expect(ddb).toHaveReceivedCommandWith(GetCommand, {
        TableName: 'registry',
        Key: { pk: 'townships#songyuan', sk: '#' },
      });
    });

    it('returns undefined when the item is absent', async () => {
      ddb.on(GetCommand).resolves({});

      await expect(store.get('townships', 'nowhere')).resolves.toBeUndefined();
    });
  });

  describe('replace', () => {
    it('writes the next version only if the stored version is unchanged, keeping createdAt', async () => {
      ddb.on(GetCommand).resolves({ Item: storedTownship(3) });
      ddb.on(TransactWriteCommand).resolves({});
      const changed = { ...township, note: '县城核心区' };

      const replaced = await store.replace(
        'townships',
        'songyuan',
        changed,
        undefined,
        3,
        audit(LATER, 'registry.replace'),
      );

      expect(replaced).toEqual({ item: changed, version: 4, createdAt: AT, updatedAt: LATER });
      expect(ddb).toHaveReceivedCommandWith(TransactWriteCommand, {
        TransactItems: [
          {
            Put: {
              TableName: 'registry',
              Item: { ...storedTownship(4), note: '县城核心区', updatedAt: LATER },
              ConditionExpression: 'version = :v',
              ExpressionAttributeValues: { ':v': 3 },
            },
          },
          expect.objectContaining({
            Put: expect.objectContaining({
              TableName: 'audit',
              Item: expect.objectContaining({ action: 'registry.replace', detail: { version: 4 } }),
            }),
          }),
        ],
      });
    });

    it('fails with PreconditionFailedError before writing when expectedVersion is stale', async () => {
      ddb.on(GetCommand).resolves({ Item: storedTownship(3) });

      await expect(
        store.replace('townships', 'songyuan', township, undefined, 2, audit(LATER, 'registry.replace')),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('fails with PreconditionFailedError when someone else writes between read and write', async () => {
      ddb.on(GetCommand).resolves({ Item: storedTownship(3) });
      ddb.on(TransactWriteCommand).rejects(conditionFailed());

      await expect(
        store.replace('townships', 'songyuan', township, undefined, undefined, audit(LATER, 'registry.replace')),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
    });

    it('fails with NotFoundError when the item is absent', async () => {
      ddb.on(GetCommand).resolves({});

      await expect(
        store.replace('townships', 'songyuan', township, undefined, undefined, audit(LATER, 'registry.replace')),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });
  });

  describe('list', () => {
    it('queries GSI1 by kind and returns a cursor for the next page', async () => {
      const last = { pk: 'townships#songyuan', sk: '#', gsi1pk: 'townships', gsi1sk: 'songyuan' };
      ddb.on(QueryCommand).resolves({ Items: [storedTownship(1)], LastEvaluatedKey: last });

      const page = await store.list('townships', { limit: 1 });

      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        TableName: 'registry',
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :k',
        ExpressionAttributeValues: { ':k': 'townships' },
        Limit: 1,
        ExclusiveStartKey: undefined,
      });
      expect(page.items).toEqual([{ item: township, version: 1, createdAt: AT, updatedAt: AT }]);
      expect(page.cursor).toBe(encodeCursor(last));
    });

    it('queries GSI2 for the children of a parent and resumes from the cursor', async () => {
      const start = { pk: `outlets#${outlet.id}`, sk: '#', gsi2pk: `enterprises#${outlet.enterpriseId}` };
      ddb.on(QueryCommand).resolves({ Items: [] });

      const page = await store.list('outlets', {
        limit: 20,
        parent: { kind: 'enterprises', id: outlet.enterpriseId },
        cursor: encodeCursor(start) as string,
      });

      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        TableName: 'registry',
        IndexName: 'gsi2',
        KeyConditionExpression: 'gsi2pk = :p AND begins_with(gsi2sk, :k)',
        ExpressionAttributeValues: { ':p': `enterprises#${outlet.enterpriseId}`, ':k': 'outlets#' },
        Limit: 20,
        ExclusiveStartKey: start,
      });
      expect(page).toEqual({ items: [] });
    });

    it('refuses a malformed cursor with a ValidationError on query.cursor', async () => {
      const err = await store.list('townships', { limit: 5, cursor: 'not-a-cursor' }).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.field).toBe('query.cursor');
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });
  });
});
