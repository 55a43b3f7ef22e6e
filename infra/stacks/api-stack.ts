import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AppConfig } from '../config.ts';
import { DeviceData } from '../constructs/device-data.ts';
import { EnvWatchHttpApi } from '../constructs/http-api.ts';
import { Registry } from '../constructs/registry.ts';
import type { DataStack } from './data-stack.ts';

/** Stateless: the HTTP API and the functions behind it. Safe to destroy and redeploy. */
export interface ApiStackProps extends StackProps {
  config: AppConfig;
  data: DataStack;
}

export class ApiStack extends Stack {
  public readonly httpApi: EnvWatchHttpApi;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    this.httpApi = new EnvWatchHttpApi(this, 'Http', {
      jwtIssuer: config.jwtIssuer,
      jwtAudience: config.jwtAudience,
      rateLimit: config.publicRateLimit,
      burstLimit: config.publicBurstLimit,
      logRetentionDays: config.logRetentionDays,
      retain: config.stage === 'prod',
    });
    new Registry(this, 'Registry', {
      api: this.httpApi,
      registryTable: data.tables.byName.registry,
      auditTable: data.tables.byName.audit,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new DeviceData(this, 'DeviceData', {
      api: this.httpApi,
      readingsTable: data.tables.byName.readings,
      registryTable: data.tables.byName.registry,
      evidenceBucket: data.evidence.bucket,
      dataKey: data.dataKey,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.api.apiEndpoint });
  }
}
