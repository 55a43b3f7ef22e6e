import { Duration } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { DEFAULT_SEAL_GRACE_MINUTES } from '#shared/domain/archive/seal.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import { grantArchive } from './iot-ingest.ts';
import type { DataTable } from './tables.ts';

/**
 * The archive sealing job (functions/archive-sealer, shared/domain/archive/seal.ts): an EventBridge schedule every
 * hour, a quarter past, passes the scheduled time to a function that writes each chain's records of the closed hours
 * from the readings table to the Object-Locked evidence bucket, one object per chain and hour (its existing
 * retention), and moves each chain's seal mark. The records then expire from the table by their TTL.
 *
 * Least privilege: the readings table read and written (Query the records, GetItem / PutItem the seal mark), the
 * registry read (the chains are the registered devices' MNs), the archive prefix listed, read and written (no delete).
 */
export interface ArchiveSealerProps {
  stage: string;
  logRetentionDays: number;
  readingsTable: DataTable;
  registryTable: DataTable;
  evidenceBucket: IBucket;
  dataKey: IKey;
  /** minutes after the end of an hour before its records are sealed (default DEFAULT_SEAL_GRACE_MINUTES) */
  graceMinutes?: number;
}

/** a quarter past every hour (UTC; Beijing hours start on the UTC hour too): after the grace of the hour just ended */
export const SEAL_SCHEDULE = 'cron(15 * * * ? *)';

export class ArchiveSealer extends Construct {
  public readonly function: EnvWatchFunction;
  public readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: ArchiveSealerProps) {
    super(scope, id);
    const fn = new EnvWatchFunction(this, 'Function', {
      name: 'archive-sealer',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      memorySize: 512,
      timeout: Duration.minutes(10),
      description: 'EnvWatch archive sealing: each chain’s records of a closed hour as one Object-Locked object',
      environment: {
        [ENV.archiveSealGraceMinutes]: String(props.graceMinutes ?? DEFAULT_SEAL_GRACE_MINUTES),
      },
    })
      .bindTable(props.readingsTable, ENV.readingsTable, 'readwrite')
      .bindTable(props.registryTable, ENV.registryTable, 'read');
    grantArchive(fn, props.evidenceBucket, props.dataKey, 'write');
    this.function = fn;
    this.schedule = new Rule(this, 'Schedule', {
      description: 'EnvWatch archive sealing: seal the closed hours of every chain',
      schedule: Schedule.expression(SEAL_SCHEDULE),
      targets: [
        new LambdaFunction(fn.fn, { event: RuleTargetInput.fromObject({ time: EventField.time }), retryAttempts: 2 }),
      ],
    });
  }
}
