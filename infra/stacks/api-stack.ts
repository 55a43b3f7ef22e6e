import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AppConfig } from '#infra/config.ts';
import { AlarmsApi } from '#infra/constructs/alarms-api.ts';
import { CaseWorkflows } from '#infra/constructs/case-workflows.ts';
import { CasesApi } from '#infra/constructs/cases-api.ts';
import { DeviceData } from '#infra/constructs/device-data.ts';
import { EvidenceUploads } from '#infra/constructs/evidence-uploads.ts';
import { EnvWatchHttpApi } from '#infra/constructs/http-api.ts';
import { devicePolicyName } from '#infra/constructs/iot-device-policy.ts';
import { Registry } from '#infra/constructs/registry.ts';
import { Tips } from '#infra/constructs/tips.ts';
import type { DataStack } from './data-stack.ts';

/** Stateless: the HTTP API and the functions behind it. Safe to destroy and redeploy. */
export interface ApiStackProps extends StackProps {
  config: AppConfig;
  data: DataStack;
}

export class ApiStack extends Stack {
  public readonly httpApi: EnvWatchHttpApi;
  /** reward approval and judicial transfer state machines, answered through the cases API */
  public readonly caseWorkflows: CaseWorkflows;

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
      // the Ingest stack defines the policy; buildEnvWatch deploys it before this stack
      devicePolicyName: devicePolicyName(config.stage),
      deviceKeysKey: data.deviceKeysKey,
      readingsTable: data.tables.byName.readings,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new DeviceData(this, 'DeviceData', {
      api: this.httpApi,
      readingsTable: data.tables.byName.readings,
      registryTable: data.tables.byName.registry,
      auditTable: data.tables.byName.audit,
      evidenceBucket: data.evidence.bucket,
      dataKey: data.dataKey,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new EvidenceUploads(this, 'EvidenceUploads', {
      api: this.httpApi,
      uploadsBucket: data.evidence.uploads,
      tipsTable: data.tables.byName.tips,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new Tips(this, 'Tips', {
      api: this.httpApi,
      tipsTable: data.tables.byName.tips,
      identitiesTable: data.tables.byName.identities,
      auditTable: data.tables.byName.audit,
      registryTable: data.tables.byName.registry,
      alarmsTable: data.tables.byName.alarms,
      identityKey: data.identityKey,
      uploadsBucket: data.evidence.uploads,
      evidenceBucket: data.evidence.bucket,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new AlarmsApi(this, 'Alarms', {
      api: this.httpApi,
      alarmsTable: data.tables.byName.alarms,
      auditTable: data.tables.byName.audit,
      tipsTable: data.tables.byName.tips,
      uploadsBucket: data.evidence.uploads,
      evidenceBucket: data.evidence.bucket,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    this.caseWorkflows = new CaseWorkflows(this, 'CaseWorkflows', {
      casesTable: data.tables.byName.cases,
      auditTable: data.tables.byName.audit,
      tipsTable: data.tables.byName.tips,
      bureauTopic: data.topics.byAudience.bureau,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new CasesApi(this, 'Cases', {
      api: this.httpApi,
      casesTable: data.tables.byName.cases,
      auditTable: data.tables.byName.audit,
      tipsTable: data.tables.byName.tips,
      alarmsTable: data.tables.byName.alarms,
      registryTable: data.tables.byName.registry,
      workflows: this.caseWorkflows,
      stage: config.stage,
      logRetentionDays: config.logRetentionDays,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.httpApi.api.apiEndpoint });
  }
}
