import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { freePort } from '#infra/local/ports.ts';
import {
  type DynamoDbService,
  ensureTables,
  localDynamoDbClient,
  pkSkTableSpec,
  startDynamoDb,
} from '#infra/local/services/dynamodb.ts';

/**
 * One DynamoDB Local (the platform's stand-in, temp data dir) with one pk/sk table (TTL on `expiresAt`), for adapter
 * tests that boot no platform: `const t = await startTable(name)` in beforeAll, `await t.stop()` in afterAll.
 */
export interface LocalTable {
  db: DynamoDBDocumentClient;
  table: string;
  stop(): Promise<void>;
}

export async function startTable(table: string): Promise<LocalTable> {
  const dataDir = mkdtempSync(join(tmpdir(), 'envwatch-table-'));
  let service: DynamoDbService | undefined;
  try {
    service = await startDynamoDb({ host: '127.0.0.1', port: await freePort(), dataDir });
    await ensureTables(service.endpoint, [pkSkTableSpec(table, 'Test')]);
  } catch (err) {
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(service.endpoint), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const running = service;
  return {
    db,
    table,
    async stop() {
      db.destroy();
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
