import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { deviceDataRoutes } from '#shared/contracts/devices.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import { grantArchive } from './iot-ingest.ts';
import type { DataTable } from './tables.ts';

/** The officials' device-data API: readings, latest values, archive verification (read-only). */
export interface DeviceDataProps {
  api: EnvWatchHttpApi;
  readingsTable: DataTable;
  registryTable: DataTable;
  evidenceBucket: IBucket;
  dataKey: IKey;
  stage: string;
  logRetentionDays: number;
}

export class DeviceData extends Construct {
  public readonly apiFunction: EnvWatchFunction;

  constructor(scope: Construct, id: string, props: DeviceDataProps) {
    super(scope, id);
    this.apiFunction = new EnvWatchFunction(this, 'Api', {
      name: 'devices-api',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      memorySize: 1024,
      timeout: Duration.seconds(29),
      description: 'EnvWatch device data API: readings, latest values, raw archive verification',
    })
      .bindTable(props.readingsTable, ENV.readingsTable, 'read')
      .bindTable(props.registryTable, ENV.registryTable, 'read');
    grantArchive(this.apiFunction, props.evidenceBucket, props.dataKey, 'read');
    props.api.addContracts('DeviceData', deviceDataRoutes, this.apiFunction.fn);
  }
}
