/**
 * Verifies a device's sealed raw archive over Beijing dates, as one chain across the sealed batches (and the objects of
 * before batching) in the evidence bucket and the unsealed tail in the readings table:
 *   npm run verify-archive -- --mn <MN> --from 2026-11-01 --to 2026-11-29 [--data-dir .envwatch] [--bucket B] [--table T] [--json]
 * Locally it reads `<data-dir>/endpoints.json` (written by `npm start`) and talks to s3rver and DynamoDB Local; without
 * that file it uses the default AWS environment (credentials, region) of the shell. The evidence bucket and readings
 * table come from --bucket/--table, EVIDENCE_BUCKET/READINGS_TABLE, or are found by name (…evidencebucket…, …Readings…).
 * Prints a summary; exit code 0 when the chain is intact, 1 when it breaks, 2 on bad usage or errors.
 */
import { parseArgs } from 'node:util';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { ENV } from '#shared/config/env-names.ts';
import { summarize } from '#shared/domain/archive/verify.ts';
import { verifyArchive } from '#shared/domain/archive/verify-archive.ts';
import { clientConfig, dynamoDbClient, findReadingsTable, localEndpoints, PLATFORM_OPTIONS, runScript } from './cli.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      mn: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      bucket: { type: 'string' },
      ...PLATFORM_OPTIONS,
    },
  });
  const { mn, from } = values;
  const to = values.to ?? from;
  if (!mn || !from || !to || !DATE.test(from) || !DATE.test(to) || from > to) {
    process.stderr.write('usage: npm run verify-archive -- --mn <MN> --from YYYY-MM-DD [--to YYYY-MM-DD]\n');
    return 2;
  }
  const local = localEndpoints(values['data-dir']);
  const s3 = new S3Client(
    local
      ? {
          ...clientConfig(local, 's3'),
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {},
  );
  const ddb = dynamoDbClient(local);
  try {
    const bucket = values.bucket ?? process.env[ENV.evidenceBucket] ?? (await findBucket(s3));
    const table = values.table ?? process.env[ENV.readingsTable] ?? (await findReadingsTable(ddb));
    const records = new DynamoArchiveStore(DynamoDBDocumentClient.from(ddb), table);
    const report = await verifyArchive({ objects: new S3ArchiveObjects(s3, bucket), records }, mn, from, to);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${summarize(report)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    s3.destroy();
    ddb.destroy();
  }
}

async function findBucket(s3: S3Client): Promise<string> {
  const names = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name ?? '');
  const found = names.filter((n) => /evidencebucket/i.test(n) && !/accesslogs/i.test(n));
  if (found.length !== 1) throw new Error(`cannot tell the evidence bucket among [${names.join(', ')}]: pass --bucket`);
  return found[0] as string;
}

runScript('verify-archive', main);
