import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { beijingDate } from '#shared/domain/archive/record.ts';
import { verifyArchive } from '#shared/domain/archive/verify-archive.ts';

/**
 * The load run's count after the traffic (bench/load.bench.ts): per device, its archive chain verified over the run's
 * Beijing dates (records and whether the chain is intact, through the same verifier as `npm run verify-archive`) and
 * its real-time readings of one pollutant over the run, through the readings adapter the API uses.
 */
export interface DeviceCount {
  records: number;
  ok: boolean;
  /** the verifier's breaks, when not ok (the first three) */
  breaks?: unknown[];
  realtimeReadings: number;
}

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

export async function countArchiveAndReadings(
  endpoints: { dynamodb: string; s3: string },
  devices: { mn: string; pollutant: string }[],
  fromMs: number,
  toMs: number,
): Promise<Map<string, DeviceCount>> {
  const s3 = new S3Client({
    ...LOCAL,
    endpoint: endpoints.s3,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const ddb = new DynamoDBClient({ ...LOCAL, endpoint: endpoints.dynamodb });
  try {
    const buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name ?? '');
    const bucket = buckets.find((n) => /evidencebucket/i.test(n) && !/accesslogs/i.test(n));
    const table = ((await ddb.send(new ListTablesCommand({}))).TableNames ?? []).find((n) => /readings/i.test(n));
    if (!bucket || !table) throw new Error('no evidence bucket or readings table on the platform');
    const db = DynamoDBDocumentClient.from(ddb);
    const store = new DynamoReadingStore(db, table);
    const records = new DynamoArchiveStore(db, table);
    const objects = new S3ArchiveObjects(s3, bucket);
    const from = beijingDate(new Date(fromMs).toISOString());
    const to = beijingDate(new Date(toMs).toISOString());
    const out = new Map<string, DeviceCount>();
    let next = 0;
    const worker = async () => {
      while (next < devices.length) {
        const d = devices[next++] as { mn: string; pollutant: string };
        const report = await verifyArchive({ objects, records }, d.mn, from, to, { concurrency: 4 });
        let realtimeReadings = 0;
        let cursor: string | undefined;
        do {
          const page = await store.query({
            mn: d.mn,
            pollutant: d.pollutant,
            kind: 'realtime',
            from: new Date(fromMs).toISOString(),
            to: new Date(toMs).toISOString(),
            limit: 1000,
            order: 'asc',
            ...(cursor ? { cursor } : {}),
          });
          realtimeReadings += page.items.length;
          cursor = page.cursor;
        } while (cursor);
        out.set(d.mn, {
          records: report.records,
          ok: report.ok,
          ...(report.ok ? {} : { breaks: report.breaks.slice(0, 3) }),
          realtimeReadings,
        });
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    return out;
  } finally {
    s3.destroy();
    ddb.destroy();
  }
}
