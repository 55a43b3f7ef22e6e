import { Duration } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { DEFAULT_ROLL_UP_GRACE_MINUTES } from '#shared/domain/readings/roll-up.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import type { DataTable } from './tables.ts';

/**
 * The readings roll-up (functions/readings-roll-up, shared/domain/readings/roll-up.ts): an EventBridge schedule every
 * hour, twenty past (after the archive sealing), passes the scheduled time to a function that writes each device's
 * closed periods of real-time and minute data as blocks and moves its mark; the first runs are the backfill of the
 * stored history (each run stops at its budget, the next goes on).
 *
 * Least privilege: the readings table read and written (Query the rows, GetItem / UpdateItem the state item's mark,
 * PutItem the blocks), the registry read (the devices).
 */
export interface ReadingsRollUpProps {
  stage: string;
  logRetentionDays: number;
  readingsTable: DataTable;
  registryTable: DataTable;
  /** minutes after the end of a period before its blocks are written (default DEFAULT_ROLL_UP_GRACE_MINUTES) */
  graceMinutes?: number;
}

/** twenty past every hour (UTC), after the grace of the hour just ended */
export const ROLL_UP_SCHEDULE = 'cron(20 * * * ? *)';

export class ReadingsRollUp extends Construct {
  public readonly function: EnvWatchFunction;
  public readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: ReadingsRollUpProps) {
    super(scope, id);
    const fn = new EnvWatchFunction(this, 'Function', {
      name: 'readings-roll-up',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      memorySize: 512,
      timeout: Duration.minutes(10),
      description: 'EnvWatch readings roll-up: closed periods of real-time and minute data as blocks',
      environment: {
        [ENV.readingsRollUpGraceMinutes]: String(props.graceMinutes ?? DEFAULT_ROLL_UP_GRACE_MINUTES),
      },
    })
      .bindTable(props.readingsTable, ENV.readingsTable, 'readwrite')
      .bindTable(props.registryTable, ENV.registryTable, 'read');
    this.function = fn;
    this.schedule = new Rule(this, 'Schedule', {
      description: 'EnvWatch readings roll-up: blocks of the closed periods of every device',
      schedule: Schedule.expression(ROLL_UP_SCHEDULE),
      targets: [
        new LambdaFunction(fn.fn, { event: RuleTargetInput.fromObject({ time: EventField.time }), retryAttempts: 2 }),
      ],
    });
  }
}
