import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AppConfig } from '#infra/config.ts';
import { EnvWatchFunction } from '#infra/constructs/envwatch-function.ts';
import { OpsMonitoring } from '#infra/constructs/ops-monitoring.ts';
import { readOpsAlarmSettings } from '#infra/ops-settings.ts';
import type { ApiStack } from './api-stack.ts';
import type { DataStack } from './data-stack.ts';
import type { IngestStack } from './ingest-stack.ts';
import type { WebStack } from './web-stack.ts';

/**
 * Operations: CloudWatch alarms to the ops topic and one dashboard over the other stacks (infra/constructs/
 * ops-monitoring.ts). It only observes: deploying or destroying it changes nothing the platform does. Its resources
 * come from the other stacks' typed properties; the functions are every EnvWatchFunction they contain, so a new
 * function is watched without being listed here. Thresholds: `-c opsAlarms=…` (infra/ops-settings.ts).
 */
export interface OpsStackProps extends StackProps {
  config: AppConfig;
  data: DataStack;
  api: ApiStack;
  ingest: IngestStack;
  /** when built: any EnvWatch function in it is watched too */
  web?: WebStack | undefined;
}

/** Every EnvWatch function inside the given stacks, in construct order. */
export function envWatchFunctions(...stacks: Stack[]): EnvWatchFunction[] {
  return stacks.flatMap((s) => s.node.findAll().filter((c): c is EnvWatchFunction => c instanceof EnvWatchFunction));
}

export class OpsStack extends Stack {
  public readonly monitoring: OpsMonitoring;

  constructor(scope: Construct, id: string, props: OpsStackProps) {
    super(scope, id, props);
    const { config, data, api, ingest } = props;
    const rules = [...Object.values(ingest.ingest.rules), ingest.ingest.replayRule, ingest.alarms.replayRule];
    this.monitoring = new OpsMonitoring(this, 'Monitoring', {
      stage: config.stage,
      topic: data.topics.byAudience.ops,
      settings: readOpsAlarmSettings(this.node.tryGetContext('opsAlarms')),
      functions: envWatchFunctions(api, ingest, ...(props.web ? [props.web] : [])),
      deadLetterQueues: [
        { name: 'ingest', queue: ingest.ingest.deadLetters },
        { name: 'alarms', queue: ingest.alarms.deadLetters },
      ],
      parkedQueue: ingest.redrive.parked,
      iotRules: rules.map((r) => r.ruleName as string),
      gateway: {
        cluster: ingest.gateway.cluster,
        service: ingest.gateway.service,
        loadBalancer: ingest.gateway.loadBalancer,
        targetGroup: ingest.gateway.targetGroup,
        desiredCount: ingest.gateway.desiredCount,
      },
      apiStages: [api.httpApi.stage, api.httpApi.webStage],
      stateMachines: [
        { name: 'reward', machine: api.caseWorkflows.reward },
        { name: 'transfer', machine: api.caseWorkflows.transfer },
      ],
      smsLogGroups: [ingest.ingest.function.fn.logGroup, ingest.alarms.jobs.fn.logGroup],
    });
  }
}
