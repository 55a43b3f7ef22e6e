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
import { parseArgs } from 'node:util';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { migrateReadings } from '#shared/adapters/readings-migration.ts';
import { ENV } from '#shared/config/env-names.ts';
import { dynamoDbClient, findReadingsTable, localEndpoints, PLATFORM_OPTIONS, runScript } from './cli.ts';

const POSITIVE = /^[1-9]\d{0,5}$/;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      cursor: { type: 'string' },
      'max-pages': { type: 'string' },
      'page-size': { type: 'string', default: '200' },
      ...PLATFORM_OPTIONS,
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
  const ddb = dynamoDbClient(localEndpoints(values['data-dir']));
  try {
    const table = values.table ?? process.env[ENV.readingsTable] ?? (await findReadingsTable(ddb));
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

runScript('migrate-readings', main);
