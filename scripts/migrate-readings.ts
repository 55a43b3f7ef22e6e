/**
 * Rewrites readings stored in the first layout (one item per reading) into the row layout (one item per device, kind
 * and DataTime), docs/operations.md:
 *   npm run migrate-readings -- [--dry-run] [--cursor C] [--max-pages N] [--page-size 200] [--data-dir .envwatch] [--table T] [--json]
 * Locally it reads `<data-dir>/endpoints.json` (written by `npm start`) and talks to DynamoDB Local; without that file
 * it uses the shell's AWS environment. The table comes from --table, READINGS_TABLE, or is found by name (…Readings…).
 * Re-runnable and resumable: each progress line on stderr carries the cursor to resume from. Exit code 0 when done
 * with no conflict, 1 when conflicts were left in place (listed), 3 when stopped by --max-pages with more to do, 2 on
 * bad usage or errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { migrateReadings } from '#shared/adapters/readings-migration.ts';
import { ENV } from '#shared/config/env-names.ts';

const POSITIVE = /^[1-9]\d{0,5}$/;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      cursor: { type: 'string' },
      'max-pages': { type: 'string' },
      'page-size': { type: 'string', default: '200' },
      'data-dir': { type: 'string', default: '.envwatch' },
      table: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const pageSize = values['page-size'] as string;
  const maxPages = values['max-pages'];
  if (!POSITIVE.test(pageSize) || (maxPages !== undefined && !POSITIVE.test(maxPages))) {
    process.stderr.write(
      'usage: npm run migrate-readings -- [--dry-run] [--cursor C] [--max-pages N] [--page-size N]\n',
    );
    return 2;
  }
  const endpointsFile = join(values['data-dir'] as string, 'endpoints.json');
  const ddb = existsSync(endpointsFile)
    ? new DynamoDBClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        endpoint: (JSON.parse(readFileSync(endpointsFile, 'utf8')) as { dynamodb: string }).dynamodb,
      })
    : new DynamoDBClient({});
  try {
    const table = values.table ?? process.env[ENV.readingsTable] ?? (await findTable(ddb));
    const db = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
    const report = await migrateReadings(db, table, {
      dryRun: values['dry-run'] as boolean,
      pageSize: Number(pageSize),
      ...(maxPages !== undefined ? { maxPages: Number(maxPages) } : {}),
      ...(values.cursor ? { cursor: values.cursor } : {}),
      onProgress: (r) =>
        process.stderr.write(
          `page ${r.pages}: found ${r.found}, moved ${r.moved}, already merged ${r.alreadyMerged}, ` +
            `conflicts ${r.conflicts.length}, skipped ${r.skipped}${r.cursor ? `, resume with --cursor ${r.cursor}` : ', done'}\n`,
        ),
    });
    if (values.json)
      process.stdout.write(`${JSON.stringify({ table, dryRun: values['dry-run'], ...report }, null, 2)}\n`);
    else {
      process.stdout.write(
        `${values['dry-run'] ? 'dry run: would move' : 'moved'} ${report.moved} readings into rows of ${table}` +
          ` (${report.alreadyMerged} already there, ${report.skipped} not readings, ${report.conflicts.length} conflicts)` +
          `${report.done ? '' : `; more to do: --cursor ${report.cursor}`}\n`,
      );
      for (const c of report.conflicts) process.stdout.write(`conflict (kept): ${c.pk} ${c.sk}\n`);
    }
    return report.conflicts.length > 0 ? 1 : report.done ? 0 : 3;
  } finally {
    ddb.destroy();
  }
}

async function findTable(ddb: DynamoDBClient): Promise<string> {
  const names = (await ddb.send(new ListTablesCommand({}))).TableNames ?? [];
  const found = names.filter((n) => /readings/i.test(n));
  if (found.length !== 1) throw new Error(`cannot tell the readings table among [${names.join(', ')}]: pass --table`);
  return found[0] as string;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`migrate-readings: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
