import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/**
 * What the operator scripts share: the options that say where the platform is, the local platform's endpoints, the
 * readings table found by name, and the exit code.
 */

/** `--data-dir` (the local platform's, `npm start`), `--table`, `--json`: for `parseArgs({ options: { ...these } })` */
export const PLATFORM_OPTIONS = {
  'data-dir': { type: 'string', default: '.envwatch' },
  table: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/**
 * `<data-dir>/endpoints.json` (written by `npm start`) as client settings per service, or undefined without it: then
 * the shell's AWS environment (credentials, region) applies.
 */
export function localEndpoints(dataDir: string): Record<string, LocalClientConfig> | undefined {
  const file = join(dataDir, 'endpoints.json');
  if (!existsSync(file)) return undefined;
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const local = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  return Object.fromEntries(
    Object.entries(endpoints).flatMap(([name, endpoint]) =>
      typeof endpoint === 'string' ? [[name, { ...local, endpoint }]] : [],
    ),
  );
}

export interface LocalClientConfig {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  endpoint: string;
}

/**
 * A service's client settings: the local platform's when its endpoints.json is there (a service missing from it is an
 * error, never a fall-through to the shell's AWS account), the shell's AWS environment's (`{}`) otherwise.
 */
export function clientConfig(
  local: ReturnType<typeof localEndpoints>,
  service: string,
): LocalClientConfig | Record<string, never> {
  if (!local) return {};
  const config = local[service];
  if (!config)
    throw new Error(`the local platform's endpoints.json has no ${service} endpoint: start it again (npm start)`);
  return config;
}

/** DynamoDB of the local platform (`local`: localEndpoints' answer) or of the shell's AWS environment. */
export const dynamoDbClient = (local: ReturnType<typeof localEndpoints>): DynamoDBClient =>
  new DynamoDBClient(clientConfig(local, 'dynamodb'));

/** The one table whose name holds "readings" (the stacks name it …Readings…); pass --table when there are several. */
export async function findReadingsTable(ddb: DynamoDBClient): Promise<string> {
  const names = (await ddb.send(new ListTablesCommand({}))).TableNames ?? [];
  const found = names.filter((n) => /readings/i.test(n));
  if (found.length !== 1) throw new Error(`cannot tell the readings table among [${names.join(', ')}]: pass --table`);
  return found[0] as string;
}

/** Runs a script's main: its answer is the exit code; an error is printed (its message) and exits 2. */
export function runScript(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
