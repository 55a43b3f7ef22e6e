import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LambdaRuntime } from '#infra/local/lambda-runtime.ts';
import { type FunctionSpec, type PlatformSpec, scheduledOnly } from '#infra/local/spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'envwatch-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** a function that answers its own worker thread's nice value */
function fn(name: string): FunctionSpec {
  const assetDir = join(dir, name);
  mkdirSync(assetDir, { recursive: true });
  writeFileSync(
    join(assetDir, 'index.mjs'),
    `import { readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
export const handler = async () => getPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()));
`,
  );
  return {
    id: `Stack/${name}`,
    stackName: 'Stack',
    logicalId: name,
    functionName: name,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    handler: 'index.handler',
    assetDir,
    environment: {},
    timeoutSeconds: 10,
    memoryMb: 128,
    path: `Stack/${name}`,
  };
}

const spec = (functions: FunctionSpec[], extra: Partial<PlatformSpec>): PlatformSpec => ({
  functions,
  tables: [],
  buckets: [],
  topics: [],
  queues: [],
  subscriptions: [],
  eventSourceMappings: [],
  apis: [],
  topicRules: [],
  stateMachines: [],
  schedules: [],
  ...extra,
});

describe('local Lambda runtime: batch jobs in the background', () => {
  const job = fn('RollUp');
  const ingest = fn('Ingest');
  const both = fn('CaseTasks');
  const target = (f: FunctionSpec) => ({ functionArn: f.arn });

  it('counts as background only what schedules alone invoke', () => {
    const s = spec([job, ingest, both], {
      schedules: [
        { ruleName: 'hourly', scheduleExpression: 'cron(20 * * * ? *)', targets: [target(job)] },
        { ruleName: 'deadlines', scheduleExpression: 'rate(15 minutes)', targets: [target(both)] },
      ],
      topicRules: [
        {
          ruleName: 'ingest',
          sql: "SELECT * FROM 'a'",
          sqlVersion: '2016-03-23',
          actions: [{ lambda: { functionArn: ingest.arn } }],
        },
      ] as unknown as PlatformSpec['topicRules'],
      stateMachines: [
        { id: 'sm', name: 'sm', arn: 'arn:sm', definition: { States: { T: { Resource: both.arn } } } },
      ] as unknown as PlatformSpec['stateMachines'],
      asyncInvokeConfigs: [{ functionArn: job.arn, maximumRetryAttempts: 2 }],
    });
    expect([...scheduledOnly(s)]).toEqual([job.id]);
  });

  it("runs a background function's workers at the given nice value and the others as they were", async () => {
    const runtime = new LambdaRuntime({
      functions: [job, ingest],
      baseEnv: {},
      logDir: join(dir, 'logs'),
      background: new Set([job.id]),
      backgroundNice: 7,
    });
    try {
      // relative to what this process runs at (a niced test run keeps its value)
      const base = getPriority(0);
      expect(await runtime.invoke(job.id, {})).toBe(Math.max(7, base));
      expect(await runtime.invoke(ingest.id, {})).toBe(base);
    } finally {
      await runtime.stop();
    }
  });
});
