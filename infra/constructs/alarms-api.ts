import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { alarmsRoutes } from '#shared/contracts/alarms.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import { grantResponseEvidence } from './evidence-uploads.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import type { DataTable } from './tables.ts';

/**
 * The officials' alarm API: list and filter, timeline, acknowledge, snooze, clear, comment; the enterprise's answer
 * with its evidence files (sealed from the upload slots in the tips table); the versioned rules.
 */
export interface AlarmsApiProps {
  api: EnvWatchHttpApi;
  alarmsTable: DataTable;
  auditTable: DataTable;
  tipsTable: DataTable;
  uploadsBucket: IBucket;
  evidenceBucket: IBucket;
  stage: string;
  logRetentionDays: number;
}

export class AlarmsApi extends Construct {
  public readonly apiFunction: EnvWatchFunction;

  constructor(scope: Construct, id: string, props: AlarmsApiProps) {
    super(scope, id);
    this.apiFunction = new EnvWatchFunction(this, 'Api', {
      name: 'alarms-api',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      description: 'EnvWatch alarms API: alarms, timelines, acknowledge/snooze/clear/comment, answers, alarm rules',
    })
      .bindTable(props.alarmsTable, ENV.alarmsTable, 'readwrite')
      .bindTable(props.auditTable, ENV.auditTable, 'append');
    grantResponseEvidence(this.apiFunction, props);
    props.api.addContracts('Alarms', alarmsRoutes, this.apiFunction.fn);
  }
}
