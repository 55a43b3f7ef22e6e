import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DependencyProbe } from '#shared/domain/redrive/ports.ts';

/**
 * Probes of what failed work needs, each one cheap read through the same data path as the work itself (so a table
 * whose key is disabled fails as the work did). Give them clients with short timeouts: a frozen dependency must fail
 * the probe, not hang the run.
 */
export function tableProbe(db: DynamoDBDocumentClient, table: string): DependencyProbe {
  return {
    name: `table ${table}`,
    async check() {
      // a key that never exists: one read, nothing returned
      await db.send(new GetCommand({ TableName: table, Key: { pk: 'probe#redrive', sk: 'probe' } }));
    },
  };
}

/**
 * A listing under `prefix` (the grant the work has) of a folder that never holds anything: the bucket answers or not,
 * and nothing is read (s3rver, the local S3, also fails a listing truncated by MaxKeys, which this never is).
 */
export function bucketProbe(s3: S3Client, bucket: string, prefix: string): DependencyProbe {
  return {
    name: `bucket ${bucket}/${prefix}`,
    async check() {
      await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}.probe/`, MaxKeys: 1 }));
    },
  };
}
