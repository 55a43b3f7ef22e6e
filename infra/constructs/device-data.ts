import { Aws, Duration } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { deviceDataRoutes } from '#shared/contracts/devices.ts';
import { GATEWAY_COMMAND_PREFIX } from '#shared/domain/commands/delivery.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import { grantArchive } from './iot-ingest.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * The officials' device-data API: readings, latest values, archive verification, and commands to devices (stored on
 * the readings table with an audit entry, published on the gateway's per-device command topic or the device's own).
 */
export interface DeviceDataProps {
  api: EnvWatchHttpApi;
  readingsTable: DataTable;
  registryTable: DataTable;
  auditTable: DataTable;
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
      description: 'EnvWatch device data API: readings, latest values, raw archive verification, device commands',
    })
      .bindTable(props.readingsTable, ENV.readingsTable, 'readwrite')
      .bindTable(props.registryTable, ENV.registryTable, 'read')
      .bindTable(props.auditTable, ENV.auditTable, 'append');
    grantArchive(this.apiFunction, props.evidenceBucket, props.dataKey, 'read');
    // commands: publish on the gateway's per-device topic (TCP devices) and the devices' own command topics (MQTT)
    const topic = (t: string) => `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:topic/${t}`;
    const commandTopics = [topic(`${GATEWAY_COMMAND_PREFIX}/*`), topic('envwatch/devices/*/cmd')];
    this.apiFunction.fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['iot:Publish'], resources: commandTopics }),
    );
    for (const arn of commandTopics) {
      acknowledgeWildcardResource(
        this.apiFunction,
        arn,
        'Command topics are one per device MN: the wildcard is the MN, nothing wider.',
      );
    }
    props.api.addContracts('DeviceData', deviceDataRoutes, this.apiFunction.fn);
  }
}
