import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoRollUpStore, ROLL_UP_PAGE_ROWS } from '#shared/adapters/readings-blocks.ts';

expect.extend(allCustomMatcher);

const db = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);
const ddb = mockClient(db);
const store = new DynamoRollUpStore(db, 'readings');

beforeEach(() => ddb.reset());

describe('DynamoRollUpStore.rowsPage', () => {
  it('asks for a bounded page of the range, consistently, and says more when the page was cut', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { pk: 'r#M1#realtime', sk: '2026-12-01T00:00:00.000Z', dataTime: '2026-12-01T00:00:00.000Z', expiresAt: 9 },
      ],
      LastEvaluatedKey: { pk: 'r#M1#realtime', sk: '2026-12-01T00:00:00.000Z' },
    });
    const page = await store.rowsPage('M1', 'realtime', undefined, '2026-12-31T00:00:00.000Z');
    // a month of rows from a device's first row in one unbounded read ran DynamoDB Local out of heap
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'readings',
      ConsistentRead: true,
      Limit: ROLL_UP_PAGE_ROWS,
      KeyConditionExpression: 'pk = :pk AND sk <= :last',
    });
    expect(page.more).toBe(true);
    expect(page.rows).toHaveLength(1);
    expect(page.rows[0]?.ttl).toBe(9);
  });
});
