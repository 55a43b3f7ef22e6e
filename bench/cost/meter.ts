import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_REGION } from '#infra/local/spec.ts';

/**
 * Counts every command the pipeline sends, by service and operation, through an SDK middleware on the clients it is
 * given (the same adapters and wiring as the function, shared/wiring/ingest.ts):
 *   DynamoDB  every command asks for ReturnConsumedCapacity=TOTAL and the units DynamoDB Local answers are summed
 *             (write units and read units apart); a write refused on its condition consumes write units all the same
 *             (DynamoDB charges it), counted from the item's size as DynamoDB sizes items; `bytesWritten` sums the
 *             sizes of the items put (storage growth)
 *   S3        requests by operation, bytes put
 *   KMS, SNS  requests by operation
 */
export interface Meter {
  commands: Map<string, number>;
  wru: number;
  rru: number;
  conditionFailures: number;
  bytesWritten: number;
  s3BytesPut: number;
  /** DynamoDB commands whose answer carried no consumed capacity (units computed from item sizes instead) */
  estimated: number;
  /** wall time spent waiting on the stand-ins, summed over commands (ms), and the same at AWS's typical latency */
  localMs: number;
  awsMs: number;
}

/**
 * Typical in-region latency of one call, ms (DynamoDB single-item operations and S3 PUTs of small objects answer in
 * single-digit to low tens of milliseconds): an assumption used to model the Lambda duration in AWS from the number of
 * calls, since the local stand-ins answer more slowly than the services.
 */
export const AWS_LATENCY_MS: Record<string, number> = { dynamodb: 6, s3: 25, kms: 8, sns: 20 };

export const newMeter = (): Meter => ({
  commands: new Map(),
  wru: 0,
  rru: 0,
  conditionFailures: 0,
  bytesWritten: 0,
  s3BytesPut: 0,
  estimated: 0,
  localMs: 0,
  awsMs: 0,
});

export function resetMeter(m: Meter): void {
  Object.assign(m, newMeter());
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const count = (m: Meter, name: string) => m.commands.set(name, (m.commands.get(name) ?? 0) + 1);

/** Times the call: its wall time on the stand-in, and the typical AWS latency of its service. */
async function timedCall<T>(m: Meter, service: string, call: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await call();
  } finally {
    m.localMs += performance.now() - t0;
    m.awsMs += AWS_LATENCY_MS[service] ?? 10;
  }
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const CAPACITY = new Set([...WRITES, 'GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

type Capacity = { CapacityUnits?: number; WriteCapacityUnits?: number; ReadCapacityUnits?: number };

/** DynamoDB's item size: attribute names plus values (strings and binary by length, numbers ~1 byte per 2 digits + 1). */
export function itemSize(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').length / 2) + 1;
  if (typeof value === 'boolean') return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((s: number, v) => s + itemSize(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((s: number, v) => s + 1 + itemSize(v), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (s, [k, v]) => s + Buffer.byteLength(k) + 1 + itemSize(v),
        0,
      )
    );
  }
  return 0;
}

/** The top-level item's size (a map at the top has no 3-byte overhead). */
const topSize = (item: unknown) => Math.max(0, itemSize(item) - 3);

function putItems(name: string, input: Record<string, unknown>): unknown[] {
  if (name === 'PutItem') return [input.Item];
  if (name === 'BatchWriteItem') {
    const req = (input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: unknown } }[]>;
    return Object.values(req).flatMap((rs) => rs.flatMap((r) => (r.PutRequest ? [r.PutRequest.Item] : [])));
  }
  if (name === 'TransactWriteItems') {
    const items = (input.TransactItems ?? []) as { Put?: { Item: unknown } }[];
    return items.flatMap((t) => (t.Put ? [t.Put.Item] : []));
  }
  return [];
}

function capacityOf(output: Record<string, unknown>): Capacity[] {
  const c = output.ConsumedCapacity;
  if (!c) return [];
  return (Array.isArray(c) ? c : [c]) as Capacity[];
}

export function meteredDynamo(endpoint: string, m: Meter): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ region: LOCAL_REGION, endpoint, credentials });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      count(m, `dynamodb:${name}`);
      const input = args.input as Record<string, unknown>;
      if (CAPACITY.has(name)) input.ReturnConsumedCapacity = 'TOTAL';
      const puts = putItems(name, input);
      const sizes = puts.map(topSize);
      try {
        const out = await timedCall(m, 'dynamodb', () => next(args));
        m.bytesWritten += sizes.reduce((s, n) => s + n, 0);
        const caps = capacityOf(out.output as unknown as Record<string, unknown>);
        if (caps.length > 0) {
          for (const c of caps) {
            const units = c.CapacityUnits ?? 0;
            if (WRITES.has(name)) m.wru += c.WriteCapacityUnits ?? units;
            else m.rru += c.ReadCapacityUnits ?? units;
          }
        } else if (CAPACITY.has(name)) {
          m.estimated++;
          if (WRITES.has(name))
            m.wru += Math.max(
              1,
              sizes.reduce((s, n) => s + Math.ceil(n / 1024), 0),
            );
          else m.rru += 0.5;
        }
        return out;
      } catch (err) {
        if (err instanceof Error && /ConditionalCheckFailed|TransactionCanceled/.test(err.name)) {
          m.conditionFailures++;
          const units = Math.max(
            1,
            sizes.reduce((s, n) => s + Math.ceil(n / 1024), 0),
          );
          m.wru += name === 'TransactWriteItems' ? 2 * units : units;
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'costMeter', priority: 'high' },
  );
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function meteredS3(endpoint: string, m: Meter): S3Client {
  const client = new S3Client({ region: LOCAL_REGION, endpoint, credentials, forcePathStyle: true });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      count(m, `s3:${name}`);
      const body = (args.input as { Body?: unknown }).Body;
      if (name === 'PutObject' && (typeof body === 'string' || body instanceof Uint8Array)) {
        m.s3BytesPut += typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      }
      return timedCall(m, 's3', () => next(args));
    },
    { step: 'initialize', name: 'costMeter' },
  );
  return client;
}

export function meteredKms(endpoint: string, m: Meter): KMSClient {
  const client = new KMSClient({ region: LOCAL_REGION, endpoint, credentials });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      count(m, `kms:${String(context.commandName).replace(/Command$/, '')}`);
      return timedCall(m, 'kms', () => next(args));
    },
    { step: 'initialize', name: 'costMeter' },
  );
  return client;
}

export function meteredSns(endpoint: string, m: Meter): SNSClient {
  const client = new SNSClient({ region: LOCAL_REGION, endpoint, credentials });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      count(m, `sns:${String(context.commandName).replace(/Command$/, '')}`);
      return timedCall(m, 'sns', () => next(args));
    },
    { step: 'initialize', name: 'costMeter' },
  );
  return client;
}

/** Every client the wiring takes, each counting into `m`. */
export function meteredClients(endpoints: { dynamodb: string; s3: string; kms: string; sns: string }, m: Meter) {
  return {
    db: meteredDynamo(endpoints.dynamodb, m),
    s3: meteredS3(endpoints.s3, m),
    kms: meteredKms(endpoints.kms, m),
    sns: meteredSns(endpoints.sns, m),
  };
}

export function destroyClients(c: ReturnType<typeof meteredClients>): void {
  c.db.destroy();
  c.s3.destroy();
  c.kms.destroy();
  c.sns.destroy();
}
