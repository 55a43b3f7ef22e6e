import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { SqsDeadLetterQueue, SqsParkedQueue } from '#shared/adapters/dead-letter-queues.ts';
import { bucketProbe, tableProbe } from '#shared/adapters/dependency-probes.ts';
import { DynamoRedriveLedger } from '#shared/adapters/redrive-ledger.ts';
import { iotReplayPublisher } from '#shared/adapters/replay-publisher.ts';
import { envVar, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { ARCHIVE_PREFIX } from '#shared/domain/archive/record.ts';
import { ALARM_REPLAY_TOPIC, INGEST_REPLAY_TOPIC } from '#shared/domain/ingest/dead-letter.ts';
import { DEFAULT_POLICY, type RedrivePolicy } from '#shared/domain/redrive/model.ts';
import { RedriveService } from '#shared/domain/redrive/use-cases.ts';

/**
 * The redrive's wiring from its environment. What each source's failed work needs, and so what is probed before its
 * messages go back:
 *   ingest  the readings and registry tables, and the raw archive in the evidence bucket (functions/ingest)
 *   alarms  the alarms and registry tables (the alarm evaluation, which runs in functions/ingest)
 * The ledger (backoff and replay counts) is in the alarms table; reading it is the redrive's own first probe.
 */
/** A whole number ≥ 1, `fallback` when unset; a set but invalid value fails the load (shared/config/config.ts). */
const count = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a whole number ≥ 1' })
    .int('expected a whole number ≥ 1')
    .min(1, 'expected a whole number ≥ 1')
    .default(fallback);

export function redrivePolicy(env: Readonly<Record<string, string | undefined>> = process.env): RedrivePolicy {
  const limits = readConfig(
    {
      capPerRun: envVar(ENV.redriveCapPerRun, count(DEFAULT_POLICY.capPerRun)),
      maxReplays: envVar(ENV.redriveMaxReplays, count(DEFAULT_POLICY.maxReplays)),
      backoffMaxMinutes: envVar(ENV.redriveBackoffMaxMinutes, count(DEFAULT_POLICY.backoffMaxMs / 60_000)),
    },
    env,
  );
  return {
    ...DEFAULT_POLICY,
    capPerRun: limits.capPerRun,
    maxReplays: limits.maxReplays,
    backoffMaxMs: limits.backoffMaxMinutes * 60_000,
  };
}

export function redriveServiceFromEnv(): RedriveService {
  const config = readConfig({
    ingestDeadLetters: ENV.ingestDeadLetterQueue,
    alarmsDeadLetters: ENV.alarmsDeadLetterQueue,
    parked: ENV.parkedQueue,
    replayTopics: ENV.redriveReplayTopics,
    readingsTable: ENV.readingsTable,
    registryTable: ENV.registryTable,
    alarmsTable: ENV.alarmsTable,
    evidenceBucket: ENV.evidenceBucket,
  });
  const policy = redrivePolicy();
  // probes and the ledger fail fast: a dependency that does not answer within seconds is down for this run
  const quick = { maxAttempts: 2, requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } };
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(quick), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client(quick);
  const sqs = new SQSClient({});
  const queue = (url: string) => new SqsDeadLetterQueue(sqs, url, 300);
  return new RedriveService({
    sources: [
      {
        name: 'ingest',
        queue: queue(config.ingestDeadLetters),
        lambdaReplayTopic: INGEST_REPLAY_TOPIC,
        probes: [
          tableProbe(db, config.readingsTable),
          tableProbe(db, config.registryTable),
          bucketProbe(s3, config.evidenceBucket, ARCHIVE_PREFIX),
        ],
      },
      {
        name: 'alarms',
        queue: queue(config.alarmsDeadLetters),
        lambdaReplayTopic: ALARM_REPLAY_TOPIC,
        probes: [tableProbe(db, config.alarmsTable), tableProbe(db, config.registryTable)],
      },
    ],
    parked: new SqsParkedQueue(sqs, config.parked),
    publisher: iotReplayPublisher(new IoTDataPlaneClient({})),
    ledger: new DynamoRedriveLedger(db, config.alarmsTable, policy.ledgerDays),
    allowedTopics: config.replayTopics
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    policy,
  });
}
