import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { REDRIVE_SCHEDULE } from '#infra/constructs/dead-letter-redrive.ts';
import { SMS_FAILURE_LOG_MESSAGE } from '#infra/constructs/ops-monitoring.ts';
import { buildEnvWatch } from '#infra/envwatch-app.ts';
import { OPS_ALARM_DEFAULTS } from '#infra/ops-settings.ts';
import { envWatchFunctions } from '#infra/stacks/ops-stack.ts';
import { replayTopicFilters } from '#shared/domain/ingest/dead-letter.ts';
import {
  asArray,
  buildForTest,
  exportsOf,
  idsOfType,
  isRecord,
  type Json,
  logicalId,
  props,
  renderValue,
} from './helpers.ts';

/**
 * Operations: the dead-letter redrive in the Ingest stack (schedule, parked queue, least-privilege grants) and the Ops
 * stack (every CloudWatch alarm with its metric, dimensions, threshold and the ops topic action; the dashboard).
 */
const built = buildForTest({ stage: 'dev' });
afterAll(() => built.cleanup());
const stackTemplate = (s: Stack) => Template.fromStack(s);
const ingest = stackTemplate(built.ingest);
const api = stackTemplate(built.api);
const data = stackTemplate(built.data);
const ops = stackTemplate(built.ops);
const exports = new Map([...exportsOf(data), ...exportsOf(api), ...exportsOf(ingest)]);
const render = (v: unknown) => renderValue(v, exports);
const ref = (c: Parameters<typeof logicalId>[0]) => `\${${logicalId(c)}}`;
const arnOf = (c: Parameters<typeof logicalId>[0]) => `\${${logicalId(c)}.Arn}`;

describe('dead-letter redrive (Ingest stack)', () => {
  const redrive = built.ingest.redrive;
  const fnId = logicalId(redrive.function.fn);
  const env = (props(ingest, fnId).Environment as { Variables: Record<string, unknown> }).Variables;

  it('runs its own function every 5 minutes with the scheduled time, without retries (the next run is the retry)', () => {
    const rules = Object.values(ingest.findResources('AWS::Events::Rule'))
      .map((r) => r.Properties as Json)
      .filter((r) => render((asArray(r.Targets)[0] as Json).Arn) === `\${${fnId}.Arn}`);
    expect(rules).toHaveLength(1);
    const rule = rules[0] as Json;
    expect(rule.ScheduleExpression).toBe('rate(5 minutes)');
    expect(REDRIVE_SCHEDULE).toBe('rate(5 minutes)');
    const target = asArray(rule.Targets)[0] as Json;
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 0 });
    const transformer = target.InputTransformer as { InputPathsMap: Record<string, string>; InputTemplate: string };
    expect(Object.values(transformer.InputPathsMap)).toEqual(['$.time']);
    expect(transformer.InputTemplate).toMatch(/^\{"time":<[^>]+>\}$/);
  });

  it('knows both dead-letter queues, the parked queue, the probed tables and bucket, and the replay topics', () => {
    expect(render(env.INGEST_DEAD_LETTER_QUEUE_URL)).toBe(ref(built.ingest.ingest.deadLetters));
    expect(render(env.ALARMS_DEAD_LETTER_QUEUE_URL)).toBe(ref(built.ingest.alarms.deadLetters));
    expect(render(env.PARKED_QUEUE_URL)).toBe(ref(redrive.parked));
    expect(render(env.READINGS_TABLE)).toBe(ref(built.data.tables.byName.readings.table));
    expect(render(env.REGISTRY_TABLE)).toBe(ref(built.data.tables.byName.registry.table));
    expect(render(env.ALARMS_TABLE)).toBe(ref(built.data.tables.byName.alarms.table));
    expect(render(env.EVIDENCE_BUCKET)).toBe(ref(built.data.evidence.bucket));
    expect(env.REDRIVE_REPLAY_TOPICS).toBe(
      replayTopicFilters('$aws/rules/envwatch_dev_gateway/envwatch/gateway').join(','),
    );
    expect(env).toMatchObject({ REDRIVE_CAP_PER_RUN: '100', REDRIVE_MAX_REPLAYS: '3' });
  });

  it('parks poison on a queue encrypted with the data key, kept 14 days, TLS only', () => {
    const q = props(ingest, logicalId(redrive.parked));
    expect(render(q.KmsMasterKeyId)).toBe(arnOf(built.data.dataKey));
    expect(q.MessageRetentionPeriod).toBe(14 * 86_400);
    const policies = Object.values(ingest.findResources('AWS::SQS::QueuePolicy')).map((r) => r.Properties as Json);
    const own = policies.find((p) => JSON.stringify(p.Queues).includes(logicalId(redrive.parked)));
    expect(JSON.stringify(own?.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('may do exactly what a redrive needs, partition-aware, and nothing else', () => {
    const role = logicalId(redrive.function.fn.role as unknown as Parameters<typeof logicalId>[0]);
    const statements = Object.values(ingest.findResources('AWS::IAM::Policy'))
      .map((r) => r.Properties as Json)
      .filter((p) => JSON.stringify(p.Roles).includes(role))
      .flatMap((p) => asArray((p.PolicyDocument as Json).Statement) as Json[]);
    const grants = new Map<string, string[]>();
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      for (const action of asArray(s.Action) as string[]) {
        grants.set(action, [...(grants.get(action) ?? []), ...asArray(s.Resource).map(render)].sort());
      }
    }
    const dlqs = [arnOf(built.ingest.ingest.deadLetters), arnOf(built.ingest.alarms.deadLetters)].sort();
    for (const a of [
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueAttributes',
    ])
      expect(grants.get(a), a).toEqual(dlqs);
    expect(grants.get('sqs:SendMessage')).toEqual([arnOf(redrive.parked)]);
    const tables = built.data.tables.byName;
    expect(grants.get('dynamodb:GetItem')).toEqual(
      [arnOf(tables.readings.table), arnOf(tables.registry.table), arnOf(tables.alarms.table)].sort(),
    );
    for (const a of ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'])
      expect(grants.get(a), a).toEqual([arnOf(tables.alarms.table)]);
    expect(grants.get('s3:ListBucket')).toEqual([arnOf(built.data.evidence.bucket)]);
    const list = statements.find((s) => s.Action === 's3:ListBucket');
    expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['raw/*'] } });
    const topic = (t: string) => `arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}:topic/${t}`;
    expect(grants.get('iot:Publish')).toEqual(
      [
        'envwatch/gateway/*',
        'envwatch/devices/*/hj212',
        'envwatch/devices/*/telemetry',
        '$aws/rules/envwatch_dev_gateway/envwatch/gateway/*',
        'envwatch/replay/ingest',
        'envwatch/replay/alarms',
      ]
        .map(topic)
        .sort(),
    );
    const actions = [...grants.keys()].filter((a) => !a.startsWith('xray:') && !a.startsWith('kms:'));
    expect(actions.sort()).toEqual(
      [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:SendMessage',
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        's3:ListBucket',
        'iot:Publish',
      ].sort(),
    );
    expect(grants.get('kms:Decrypt')?.every((k) => k === arnOf(built.data.dataKey))).toBe(true);
  });
});

describe('Ops stack', () => {
  const alarms = Object.values(ops.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties as Json);
  const alarm = (name: string) => {
    const a = alarms.find((x) => x.AlarmName === `EnvWatch-dev-${name}`);
    if (!a) throw new Error(`no alarm EnvWatch-dev-${name}`);
    return a;
  };
  const dims = (a: Json) =>
    Object.fromEntries(
      (asArray(a.Dimensions) as { Name: string; Value: unknown }[]).map((d) => [d.Name, render(d.Value)]),
    );
  /** a single-metric alarm: namespace, metric, statistic, period (s), dimensions rendered, threshold … */
  const shape = (a: Json) => ({
    namespace: a.Namespace,
    metric: a.MetricName,
    statistic: a.Statistic,
    period: a.Period,
    dimensions: dims(a),
    threshold: a.Threshold,
    evaluationPeriods: a.EvaluationPeriods,
    comparison: a.ComparisonOperator,
  });
  const opsTopic = ref(built.data.topics.byAudience.ops);

  it('is the stack EnvWatch-<stage>-Ops, after the stacks it watches', () => {
    expect(built.ops.stackName).toBe('EnvWatch-dev-Ops');
    const deps = built.ops.dependencies.map((d) => d.stackName).sort();
    expect(deps).toEqual(['EnvWatch-dev-Api', 'EnvWatch-dev-Data', 'EnvWatch-dev-Ingest']);
  });

  it('sends every alarm, and only there, to the ops topic', () => {
    expect(alarms.length).toBeGreaterThan(40);
    for (const a of alarms) {
      expect(asArray(a.AlarmActions).map(render), String(a.AlarmName)).toEqual([opsTopic]);
      expect(String(a.AlarmDescription)).toContain('docs/operations.md');
    }
  });

  it('watches Errors and Throttles of every EnvWatch function in every stack', () => {
    const fns = envWatchFunctions(built.api, built.ingest);
    const withService = [api, ingest].flatMap((t) =>
      Object.values(t.findResources('AWS::Lambda::Function')).filter((r) =>
        isRecord((r.Properties as Json).Environment)
          ? 'ENVWATCH_SERVICE' in ((r.Properties as { Environment: { Variables: Json } }).Environment.Variables ?? {})
          : false,
      ),
    );
    expect(fns.length).toBe(withService.length);
    expect(fns.map((f) => f.service)).toEqual(expect.arrayContaining(['ingest', 'alarm-jobs', 'dead-letter-redrive']));
    expect(fns.map((f) => f.service)).not.toContain('alarm-evaluator'); // evaluation runs in the ingest function
    for (const f of fns) {
      const dimensions = { FunctionName: ref(f.fn) };
      expect(shape(alarm(`Lambda-${f.service}-Errors`))).toEqual({
        namespace: 'AWS/Lambda',
        metric: 'Errors',
        statistic: 'Sum',
        period: 300,
        dimensions,
        threshold: 3,
        evaluationPeriods: 1,
        comparison: 'GreaterThanOrEqualToThreshold',
      });
      expect(shape(alarm(`Lambda-${f.service}-Throttles`))).toMatchObject({
        namespace: 'AWS/Lambda',
        metric: 'Throttles',
        dimensions,
        threshold: 1,
      });
    }
  });

  it('watches the depth and the oldest message of both dead-letter queues and of the parked queue', () => {
    const queues = {
      ingest: built.ingest.ingest.deadLetters,
      alarms: built.ingest.alarms.deadLetters,
    };
    for (const [name, q] of Object.entries(queues)) {
      const QueueName = `\${${logicalId(q)}.QueueName}`;
      expect(shape(alarm(`DeadLetters-${name}-Depth`))).toEqual({
        namespace: 'AWS/SQS',
        metric: 'ApproximateNumberOfMessagesVisible',
        statistic: 'Maximum',
        period: 300,
        dimensions: { QueueName },
        threshold: 1,
        evaluationPeriods: 3,
        comparison: 'GreaterThanOrEqualToThreshold',
      });
      expect(shape(alarm(`DeadLetters-${name}-Age`))).toMatchObject({
        metric: 'ApproximateAgeOfOldestMessage',
        dimensions: { QueueName },
        threshold: 3600,
      });
    }
    const parked = `\${${logicalId(built.ingest.redrive.parked)}.QueueName}`;
    expect(shape(alarm('Parked-Depth'))).toMatchObject({ dimensions: { QueueName: parked }, threshold: 1 });
    expect(shape(alarm('Parked-Age'))).toMatchObject({
      dimensions: { QueueName: parked },
      threshold: 10 * 86_400,
      period: 3600,
    });
  });

  it('watches the Lambda action failures of every IoT rule', () => {
    const rules = idsOfType(ingest, 'AWS::IoT::TopicRule').map((id) => String(props(ingest, id).RuleName));
    expect(rules).toHaveLength(5);
    for (const rule of rules) {
      expect(shape(alarm(`IotRule-${rule}-Failures`))).toMatchObject({
        namespace: 'AWS/IoT',
        metric: 'Failure',
        statistic: 'Sum',
        dimensions: { RuleName: rule, ActionType: 'Lambda' },
        threshold: 1,
      });
    }
  });

  it('watches the gateway: tasks and healthy targets below desired, and connections near the limit', () => {
    const g = built.ingest.gateway;
    const math = (a: Json) =>
      Object.fromEntries(
        (asArray(a.Metrics) as Json[]).map((m) => {
          if (typeof m.Expression === 'string') return [m.Id, m.Expression];
          const stat = m.MetricStat as { Metric: Json; Stat: string; Period: number };
          return [m.Id, { ...shape({ ...stat.Metric, Statistic: stat.Stat, Period: stat.Period }) }];
        }),
      );
    const tasks = alarm('Gateway-TasksMissing');
    const service = {
      ClusterName: ref(g.cluster),
      ServiceName: `\${${logicalId(g.service)}.Name}`,
    };
    expect(tasks).toMatchObject({
      Threshold: 1,
      EvaluationPeriods: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(math(tasks)).toMatchObject({
      expr_1: 'desired - running',
      desired: { namespace: 'ECS/ContainerInsights', metric: 'DesiredTaskCount', dimensions: service, period: 60 },
      running: { namespace: 'ECS/ContainerInsights', metric: 'RunningTaskCount', dimensions: service, period: 60 },
    });
    const hosts = alarm('Gateway-UnhealthyHosts');
    expect(hosts).toMatchObject({ Threshold: 1, TreatMissingData: 'breaching' });
    expect(g.desiredCount).toBe(1);
    expect(math(hosts)).toMatchObject({
      expr_1: '1 - healthy',
      healthy: {
        namespace: 'AWS/NetworkELB',
        metric: 'HealthyHostCount',
        statistic: 'Minimum',
        dimensions: { TargetGroup: `\${${logicalId(g.targetGroup)}.TargetGroupFullName}` },
      },
    });
    // the NLB's full name (net/<name>/<id>) as CDK derives it from the listener ARN
    expect(JSON.stringify(math(hosts).healthy)).toContain(`ExportsOutputRef${logicalId(g.listener)}`);
    expect(shape(alarm('Gateway-ConnectionsHigh'))).toMatchObject({
      namespace: 'EnvWatch/Gateway',
      metric: 'connections',
      statistic: 'Maximum',
      dimensions: { Service: 'hj212-gateway' },
      threshold: 8000,
    });
    expect(alarms.some((a) => a.AlarmName === 'EnvWatch-dev-Gateway-ConnectionsLow')).toBe(false);
  });

  it('watches 5xx of both API stages, and failures and timeouts of both state machines', () => {
    const ApiId = ref(built.api.httpApi.api);
    expect(shape(alarm('Api-default-5xx'))).toMatchObject({
      namespace: 'AWS/ApiGateway',
      metric: '5xx',
      statistic: 'Sum',
      dimensions: { ApiId, Stage: '$default' },
      threshold: 5,
    });
    expect(shape(alarm('Api-api-5xx'))).toMatchObject({ dimensions: { ApiId, Stage: 'api' }, threshold: 5 });
    for (const [name, machine] of Object.entries({
      reward: built.api.caseWorkflows.reward,
      transfer: built.api.caseWorkflows.transfer,
    })) {
      const dimensions = { StateMachineArn: ref(machine) };
      expect(shape(alarm(`Workflow-${name}-Failed`))).toMatchObject({
        namespace: 'AWS/States',
        metric: 'ExecutionsFailed',
        dimensions,
        threshold: 1,
      });
      expect(shape(alarm(`Workflow-${name}-TimedOut`))).toMatchObject({
        metric: 'ExecutionsTimedOut',
        dimensions,
        threshold: 1,
      });
    }
  });

  it('counts failed alarm SMS from the logs of both functions that send them (ingest, alarm jobs) and alarms on the first', () => {
    const filters = Object.values(ops.findResources('AWS::Logs::MetricFilter')).map((r) => r.Properties as Json);
    expect(built.ingest.alarms.evaluator).toBe(built.ingest.ingest.function);
    expect(filters.map((f) => render(f.LogGroupName)).sort()).toEqual(
      [ref(built.ingest.ingest.function.fn.logGroup), ref(built.ingest.alarms.jobs.fn.logGroup)].sort(),
    );
    for (const f of filters) {
      expect(f.FilterPattern).toBe(`{ ($.message = "${SMS_FAILURE_LOG_MESSAGE}") && ($.smsFailures > 0) }`);
      expect(f.MetricTransformations).toEqual([
        { MetricNamespace: 'EnvWatch/Alarms', MetricName: 'SmsFailures', MetricValue: '$.smsFailures' },
      ]);
    }
    expect(shape(alarm('Alarms-SmsFailures'))).toMatchObject({
      namespace: 'EnvWatch/Alarms',
      metric: 'SmsFailures',
      statistic: 'Sum',
      dimensions: {},
      threshold: 1,
    });
  });

  it('has one dashboard with the alarms and a graph for each group', () => {
    const dashboards = Object.values(ops.findResources('AWS::CloudWatch::Dashboard')).map((r) => r.Properties as Json);
    expect(dashboards).toHaveLength(1);
    expect(render(dashboards[0]?.DashboardName)).toBe(`EnvWatch-dev-Ops-\${AWS::Region}`);
    const body = render(dashboards[0]?.DashboardBody);
    for (const title of [
      'Alarms',
      'Lambda errors',
      'Lambda throttles',
      'Queue depth (dead letters, parked)',
      'IoT rule failures',
      'Gateway connections',
      'API 5xx',
      'Workflows failed / timed out',
      'Alarm SMS failures',
    ])
      expect(body).toContain(`"title":"${title}"`);
    for (const id of idsOfType(ops, 'AWS::CloudWatch::Alarm')) expect(body).toContain(`\${${id}.Arn}`);
  });

  it('takes thresholds and periods from context, and refuses what it does not know', () => {
    const app = new App({
      context: {
        'aws:cdk:bundling-stacks': [],
        stage: 'dev',
        web: 'off',
        opsAlarms: '{"lambdaErrors":{"threshold":7,"periodMinutes":15},"gatewayConnectionsLow":{"threshold":1}}',
      },
    });
    const t = Template.fromStack(buildEnvWatch(app).ops);
    const all = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties as Json);
    const errors = all.find((a) => a.AlarmName === 'EnvWatch-dev-Lambda-ingest-Errors');
    expect(errors).toMatchObject({ Threshold: 7, Period: 900 });
    expect(all.find((a) => a.AlarmName === 'EnvWatch-dev-Gateway-ConnectionsLow')).toMatchObject({
      Namespace: 'AWS/NetworkELB',
      MetricName: 'ActiveFlowCount',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
    });
    const bad = new App({ context: { 'aws:cdk:bundling-stacks': [], web: 'off', opsAlarms: '{"lambdaErors":{}}' } });
    expect(() => buildEnvWatch(bad)).toThrow(/opsAlarms.*lambdaErors/);
  });

  it('documents every alarm setting in docs/operations.md', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/operations.md'), 'utf8');
    for (const name of Object.keys(OPS_ALARM_DEFAULTS)) expect(doc.includes(`\`${name}\``), name).toBe(true);
  });
});
