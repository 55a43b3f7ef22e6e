import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IBaseService, ICluster } from 'aws-cdk-lib/aws-ecs';
import type { NetworkLoadBalancer, NetworkTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { AlarmSetting, OpsAlarmName, OpsAlarmSettings } from '#infra/ops-settings.ts';
import { METRICS_NAMESPACE as GATEWAY_NAMESPACE } from '../../gateway/metrics.ts';
import type { EnvWatchFunction } from './envwatch-function.ts';
import { GATEWAY_SERVICE_NAME } from './hj212-gateway.ts';

/**
 * The platform's CloudWatch alarms, all to the ops topic, and one dashboard (`EnvWatch-<stage>-Ops-<region>`). What each alarm
 * means and what to do: docs/operations.md「告警一览」. Thresholds and periods: infra/ops-settings.ts.
 *
 *   Lambda      Errors and Throttles of every EnvWatch function
 *   queues      depth and age of the oldest message of both dead-letter queues and of the parked queue
 *   IoT         Failure of the Lambda actions of every topic rule (AWS/IoT, RuleName + ActionType Lambda)
 *   gateway     tasks running below desired (ECS Container Insights), healthy NLB targets below desired, open
 *               connections per task near the limit (the gateway's own EnvWatch/Gateway `connections` gauge), and
 *               optionally too few device connections (NLB ActiveFlowCount)
 *   API         5xx of each HTTP API stage (`$default` and `api`)
 *   workflows   ExecutionsFailed and ExecutionsTimedOut of both state machines
 *   SMS         alarm SMS that failed: a metric filter on the alarm functions' logs (the `smsFailures` count of the
 *               `alarm notification deliveries failed` line, shared/adapters/alarm-publisher.ts) → EnvWatch/Alarms
 *               SmsFailures; the SMS providers (SNS direct SMS, a domestic HTTP provider) have no common metric
 */
export interface OpsMonitoringProps {
  stage: string;
  topic: ITopic;
  settings: OpsAlarmSettings;
  functions: readonly EnvWatchFunction[];
  deadLetterQueues: readonly { name: string; queue: IQueue }[];
  parkedQueue: IQueue;
  /** IoT topic rule names */
  iotRules: readonly string[];
  gateway: {
    cluster: ICluster;
    service: IBaseService;
    loadBalancer: NetworkLoadBalancer;
    targetGroup: NetworkTargetGroup;
    desiredCount: number;
  };
  apiStages: readonly HttpStage[];
  stateMachines: readonly { name: string; machine: IStateMachine }[];
  /** log groups of the functions that send alarm SMS */
  smsLogGroups: readonly ILogGroup[];
}

export const SMS_FAILURES_METRIC = { namespace: 'EnvWatch/Alarms', metricName: 'SmsFailures' } as const;
export const SMS_FAILURE_LOG_MESSAGE = 'alarm notification deliveries failed';

const DOC = 'docs/operations.md「告警一览 Alarms」';

export class OpsMonitoring extends Construct {
  /** every alarm, by its name (`EnvWatch-<stage>-…`) */
  public readonly alarms: Alarm[] = [];
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OpsMonitoringProps) {
    super(scope, id);
    const { settings, stage } = props;
    const action = new SnsAction(props.topic);
    const period = (s: AlarmSetting) => Duration.minutes(s.periodMinutes);
    const alarm = (
      alarmId: string,
      kind: OpsAlarmName,
      metric: IMetric,
      meaning: string,
      options: { comparison?: ComparisonOperator; missing?: TreatMissingData; threshold?: number } = {},
    ): Alarm => {
      const s = settings[kind];
      const a = new Alarm(this, alarmId, {
        alarmName: `EnvWatch-${stage}-${alarmId}`,
        alarmDescription: `${meaning} (${kind}; what to do: ${DOC})`,
        metric,
        threshold: options.threshold ?? s.threshold,
        evaluationPeriods: s.evaluationPeriods,
        datapointsToAlarm: s.evaluationPeriods,
        comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
      return a;
    };
    const stat = (m: Metric, kind: OpsAlarmName, statistic: string) =>
      m.with({ statistic, period: period(settings[kind]) });

    // Lambda: every EnvWatch function
    for (const f of props.functions) {
      alarm(
        `Lambda-${f.service}-Errors`,
        'lambdaErrors',
        f.fn.metricErrors({ statistic: 'Sum', period: period(settings.lambdaErrors) }),
        `Function ${f.service} threw unhandled errors`,
      );
      alarm(
        `Lambda-${f.service}-Throttles`,
        'lambdaThrottles',
        f.fn.metricThrottles({ statistic: 'Sum', period: period(settings.lambdaThrottles) }),
        `Function ${f.service} was throttled (concurrency limit)`,
      );
    }

    // queues
    for (const { name, queue } of props.deadLetterQueues) {
      alarm(
        `DeadLetters-${name}-Depth`,
        'deadLetterDepth',
        stat(queue.metricApproximateNumberOfMessagesVisible(), 'deadLetterDepth', 'Maximum'),
        `The ${name} dead-letter queue has held messages for a while: the redrive has not emptied it`,
      );
      alarm(
        `DeadLetters-${name}-Age`,
        'deadLetterAgeSeconds',
        stat(queue.metricApproximateAgeOfOldestMessage(), 'deadLetterAgeSeconds', 'Maximum'),
        `The oldest message of the ${name} dead-letter queue is old: its dependencies still fail, or the redrive does`,
      );
    }
    alarm(
      'Parked-Depth',
      'parkedDepth',
      stat(props.parkedQueue.metricApproximateNumberOfMessagesVisible(), 'parkedDepth', 'Maximum'),
      'Dead letters were parked (unreadable, or replayed too often without success): a person must look',
    );
    alarm(
      'Parked-Age',
      'parkedAgeSeconds',
      stat(props.parkedQueue.metricApproximateAgeOfOldestMessage(), 'parkedAgeSeconds', 'Maximum'),
      'A parked message is close to the 14 days after which SQS deletes it: replay or discard it now',
    );

    // IoT rules
    const iotFailure = (rule: string) =>
      new Metric({
        namespace: 'AWS/IoT',
        metricName: 'Failure',
        dimensionsMap: { RuleName: rule, ActionType: 'Lambda' },
        statistic: 'Sum',
        period: period(settings.iotRuleFailures),
      });
    for (const rule of props.iotRules) {
      alarm(
        `IotRule-${rule}-Failures`,
        'iotRuleFailures',
        iotFailure(rule),
        `IoT rule ${rule} could not invoke its functions (its error action dead-letters the messages)`,
      );
    }

    // gateway
    const g = props.gateway;
    const insights = (metricName: string, statistic: string) =>
      new Metric({
        namespace: 'ECS/ContainerInsights',
        metricName,
        dimensionsMap: { ClusterName: g.cluster.clusterName, ServiceName: g.service.serviceName },
        statistic,
        period: period(settings.gatewayTasksMissing),
      });
    const running = insights('RunningTaskCount', 'Minimum');
    const desired = insights('DesiredTaskCount', 'Maximum');
    alarm(
      'Gateway-TasksMissing',
      'gatewayTasksMissing',
      new MathExpression({
        expression: 'desired - running',
        usingMetrics: { desired, running },
        label: 'tasks below desired',
        period: period(settings.gatewayTasksMissing),
      }),
      'HJ 212 gateway: fewer tasks running than desired',
    );
    const healthy = g.targetGroup.metrics.healthyHostCount({
      statistic: 'Minimum',
      period: period(settings.gatewayUnhealthyHosts),
    });
    alarm(
      'Gateway-UnhealthyHosts',
      'gatewayUnhealthyHosts',
      new MathExpression({
        expression: `${g.desiredCount} - healthy`,
        usingMetrics: { healthy },
        label: 'healthy targets below desired',
        period: period(settings.gatewayUnhealthyHosts),
      }),
      `HJ 212 gateway: fewer than ${g.desiredCount} healthy targets behind the NLB`,
      { missing: TreatMissingData.BREACHING },
    );
    const connections = new Metric({
      namespace: GATEWAY_NAMESPACE,
      metricName: 'connections',
      dimensionsMap: { Service: GATEWAY_SERVICE_NAME },
      statistic: 'Maximum',
      period: period(settings.gatewayConnectionsHigh),
    });
    alarm(
      'Gateway-ConnectionsHigh',
      'gatewayConnectionsHigh',
      connections,
      'HJ 212 gateway: a task holds nearly as many device connections as it accepts (GATEWAY_MAX_CONNECTIONS)',
    );
    const flows = g.loadBalancer.metrics.activeFlowCount({
      statistic: 'Average',
      period: period(settings.gatewayConnectionsLow),
    });
    if (settings.gatewayConnectionsLow.threshold > 0) {
      alarm(
        'Gateway-ConnectionsLow',
        'gatewayConnectionsLow',
        flows,
        'HJ 212 gateway: fewer device connections than expected (devices cannot reach it?)',
        { comparison: ComparisonOperator.LESS_THAN_THRESHOLD, missing: TreatMissingData.BREACHING },
      );
    }

    // API
    for (const s of props.apiStages) {
      const stageLabel = s.stageName === '$default' ? 'default' : s.stageName;
      alarm(
        `Api-${stageLabel}-5xx`,
        'api5xx',
        s.metricServerError({ statistic: 'Sum', period: period(settings.api5xx) }),
        `HTTP API stage ${s.stageName} answered 5xx`,
      );
    }

    // workflows
    for (const { name, machine } of props.stateMachines) {
      alarm(
        `Workflow-${name}-Failed`,
        'stateMachineFailures',
        machine.metricFailed({ statistic: 'Sum', period: period(settings.stateMachineFailures) }),
        `State machine ${name}: executions failed (DeadlineLapsed is the workflow's own end after two escalations)`,
      );
      alarm(
        `Workflow-${name}-TimedOut`,
        'stateMachineTimeouts',
        machine.metricTimedOut({ statistic: 'Sum', period: period(settings.stateMachineTimeouts) }),
        `State machine ${name}: executions timed out`,
      );
    }

    // SMS
    props.smsLogGroups.forEach((logGroup, i) => {
      new MetricFilter(this, `SmsFailures${i}`, {
        logGroup,
        metricNamespace: SMS_FAILURES_METRIC.namespace,
        metricName: SMS_FAILURES_METRIC.metricName,
        filterPattern: FilterPattern.all(
          FilterPattern.stringValue('$.message', '=', SMS_FAILURE_LOG_MESSAGE),
          FilterPattern.numberValue('$.smsFailures', '>', 0),
        ),
        metricValue: '$.smsFailures',
      });
    });
    const sms = new Metric({ ...SMS_FAILURES_METRIC, statistic: 'Sum', period: period(settings.smsFailures) });
    alarm('Alarms-SmsFailures', 'smsFailures', sms, 'Alarm SMS could not be sent to officials or enterprises');

    // the dashboard
    const graph = (title: string, left: IMetric[], width = 12) => new GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      // dashboards are named per account, not per region: the region keeps two deployments of a stage apart
      dashboardName: `EnvWatch-${stage}-Ops-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# EnvWatch ${stage}\nEvery alarm goes to the ops topic. What each means and what to do: ${DOC}.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms as IAlarm[], width: 24, height: 8 }),
    );
    const fnMetric = (f: EnvWatchFunction, which: 'errors' | 'throttles') =>
      (which === 'errors' ? f.fn.metricErrors() : f.fn.metricThrottles()).with({
        statistic: 'Sum',
        label: f.service,
        period: Duration.minutes(5),
      });
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        props.functions.map((f) => fnMetric(f, 'errors')),
      ),
      graph(
        'Lambda throttles',
        props.functions.map((f) => fnMetric(f, 'throttles')),
      ),
    );
    const queues = [...props.deadLetterQueues, { name: 'parked', queue: props.parkedQueue }];
    this.dashboard.addWidgets(
      graph(
        'Queue depth (dead letters, parked)',
        queues.map(({ name, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: name }),
        ),
      ),
      graph(
        'Age of oldest message (s)',
        queues.map(({ name, queue }) =>
          queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', label: name }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'IoT rule failures',
        props.iotRules.map((r) => iotFailure(r).with({ label: r })),
      ),
      graph('Gateway tasks and healthy targets', [
        running.with({ label: 'running' }),
        desired.with({ label: 'desired' }),
        healthy.with({ label: 'healthy targets' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Gateway connections', [
        connections.with({ label: 'connections (max per task)' }),
        flows.with({ label: 'NLB active flows' }),
      ]),
      graph(
        'API 5xx',
        props.apiStages.map((s) => s.metricServerError({ statistic: 'Sum', label: s.stageName })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Workflows failed / timed out',
        props.stateMachines.flatMap(({ name, machine }) => [
          machine.metricFailed({ statistic: 'Sum', label: `${name} failed` }),
          machine.metricTimedOut({ statistic: 'Sum', label: `${name} timed out` }),
        ]),
      ),
      graph('Alarm SMS failures', [sms.with({ label: 'SMS failures' })]),
    );
  }
}
