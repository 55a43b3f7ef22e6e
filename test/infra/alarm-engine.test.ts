import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALARM_JOBS,
  ALARM_REPLAY_TOPIC,
  type AlarmJob,
  CALENDAR_CHECK,
  TIMED_JOBS,
} from '#infra/constructs/alarm-engine.ts';
import { asArray, buildForTest, idsOfType, isRecord, type Json, props, renderValue } from './helpers.ts';

/**
 * The alarm engine: evaluation in the ingest function (one invocation per message), the alarms dead letters and
 * replay rule, the scheduled jobs, the API.
 */
const built = buildForTest({ stage: 'dev' });
const t = Template.fromStack(built.app.node.findChild('EnvWatch-dev-Ingest') as Stack);
const api = Template.fromStack(built.api);
afterAll(() => built.cleanup());

const fnId = (prefix: string) => idsOfType(t, 'AWS::Lambda::Function').find((id) => id.startsWith(prefix)) as string;
const env = (id: string) => (props(t, id).Environment as { Variables: Record<string, unknown> }).Variables;

describe('alarm engine', () => {
  it('evaluates in the ingest function (no function of its own), whose failures go to the ingest dead-letter queue', () => {
    expect(fnId('AlarmsEvaluator')).toBeUndefined();
    const ingestDlq = idsOfType(t, 'AWS::SQS::Queue').find((id) => id.startsWith('IngestDeadLetters')) as string;
    expect(idsOfType(t, 'AWS::SQS::Queue').find((id) => id.startsWith('AlarmsDeadLetters'))).toBeDefined();
    expect(Object.keys(t.findResources('AWS::Lambda::EventInvokeConfig'))).toHaveLength(1);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId('IngestFunction') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ingestDlq, 'Arn'] } } },
    });
  });

  it('replays the alarms dead letters through a rule that invokes the ingest function', () => {
    const replay = idsOfType(t, 'AWS::IoT::TopicRule').find(
      (id) => props(t, id).RuleName === 'envwatch_dev_alarm_replay',
    );
    const payload = props(t, replay as string).TopicRulePayload as { Sql: string; Actions: unknown[] };
    expect(payload.Sql).toBe(`SELECT * FROM '${ALARM_REPLAY_TOPIC}'`);
    expect(payload.Actions).toEqual([{ Lambda: { FunctionArn: { 'Fn::GetAtt': [fnId('IngestFunction'), 'Arn'] } } }]);
  });

  const rules = () =>
    Object.values(t.findResources('AWS::Events::Rule')).map((r) => r.Properties as Record<string, unknown>);
  const targetOf = (r: Record<string, unknown>) => (r.Targets as Json[])[0] as Json;

  it('schedules each job with an input naming it, the timed ones with the scheduled time', () => {
    const inputOf = (r: Record<string, unknown>): Record<string, unknown> => {
      const target = targetOf(r);
      if (typeof target.Input === 'string') return JSON.parse(target.Input) as Record<string, unknown>;
      const transformer = target.InputTransformer as { InputPathsMap: Record<string, string>; InputTemplate: string };
      const [name, path] = Object.entries(transformer.InputPathsMap)[0] as [string, string];
      expect(path).toBe('$.time');
      return JSON.parse(transformer.InputTemplate.replace(`<${name}>`, '"2026-11-01T01:00:00Z"')) as Record<
        string,
        unknown
      >;
    };
    const inputs = rules()
      .filter(
        (r) => r.ScheduleExpression !== CALENDAR_CHECK.schedule && renderValue(targetOf(r).Arn).includes('AlarmsJobs'),
      )
      .map((r) => [inputOf(r), r.ScheduleExpression] as const);
    expect(Object.fromEntries(inputs.map(([i, e]) => [i.job, e]))).toEqual(ALARM_JOBS);
    for (const [input] of inputs) {
      expect(input).toEqual(
        TIMED_JOBS.has(input.job as AlarmJob) ? { job: input.job, time: '2026-11-01T01:00:00Z' } : { job: input.job },
      );
    }
    expect([...TIMED_JOBS]).toEqual(['data-gaps']);
  });

  it('checks the working-day calendar daily at 09:00 Beijing, passing the scheduled time, with retries', () => {
    const calendar = rules().filter(
      (r) =>
        isRecord(targetOf(r).InputTransformer) &&
        renderValue(targetOf(r).Arn).includes('AlarmsJobs') &&
        String((targetOf(r).InputTransformer as Json).InputTemplate).includes('"calendar"'),
    );
    expect(calendar).toHaveLength(1);
    const rule = calendar[0] as Record<string, unknown>;
    expect(rule.ScheduleExpression).toBe('cron(0 1 * * ? *)');
    expect(CALENDAR_CHECK.schedule).toBe(rule.ScheduleExpression);
    const target = targetOf(rule);
    expect(renderValue(target.Arn)).toBe(`\${${fnId('AlarmsJobs')}.Arn}`);
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 2 });
    const transformer = target.InputTransformer as { InputPathsMap: Record<string, string>; InputTemplate: string };
    const paths = Object.entries(transformer.InputPathsMap);
    expect(paths).toHaveLength(1);
    const [name, path] = paths[0] as [string, string];
    expect(path).toBe('$.time');
    expect(JSON.parse(transformer.InputTemplate.replace(`<${name}>`, '"2026-11-01T01:00:00Z"'))).toEqual({
      job: 'calendar',
      time: '2026-11-01T01:00:00Z',
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fnId('AlarmsJobs'), 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  it('lets only the jobs publish to the ops topic, and gives them its ARN', () => {
    const publishes = (fn: string) => {
      const role = renderValue(props(t, fnId(fn)).Role).replace(/^\$\{(.+)\.Arn\}$/, '$1');
      return idsOfType(t, 'AWS::IAM::Policy')
        .map((id) => props(t, id))
        .filter((p) => asArray(p.Roles).some((r) => renderValue(r) === `\${${role}}`))
        .flatMap((p) => asArray(isRecord(p.PolicyDocument) ? p.PolicyDocument.Statement : []).filter(isRecord))
        .filter((st) => asArray(st.Action).includes('sns:Publish'))
        .flatMap((st) => asArray(st.Resource).map((r) => JSON.stringify(r)));
    };
    const ops = JSON.stringify(env(fnId('AlarmsJobs')).OPS_TOPIC_ARN);
    expect(ops).toMatch(/ExportsOutputRefTopicsops/); // the Data stack's ops topic
    expect(publishes('AlarmsJobs')).toContain(ops);
    expect(publishes('IngestFunction')).not.toContain(ops);
    expect(env(fnId('IngestFunction'))).not.toHaveProperty('OPS_TOPIC_ARN');
  });

  it('wires the ingest function and the jobs to the alarms table, the three audience topics and SMS over SNS by default', () => {
    for (const id of [fnId('IngestFunction'), fnId('AlarmsJobs')]) {
      const vars = env(id);
      expect(Object.keys(vars)).toEqual(
        expect.arrayContaining([
          'ALARMS_TABLE',
          'REGISTRY_TABLE',
          'BUREAU_TOPIC_ARN',
          'REGULATOR_TOPIC_ARN',
          'ENTERPRISE_TOPIC_ARN',
        ]),
      );
      expect(vars.SMS_GATEWAY).toBe('sns');
    }
    expect(env(fnId('AlarmsJobs'))).toHaveProperty('READINGS_TABLE');
    expect(env(fnId('IngestFunction'))).toHaveProperty('ALARM_RULES_CACHE_SECONDS');
  });

  it('takes a domestic SMS provider from context, with its secret from Secrets Manager', () => {
    const china = buildForTest({
      stage: 'dev',
      smsProvider: 'http',
      smsHttpUrl: 'https://sms.example.cn/send',
      smsHttpSecretName: 'envwatch/sms',
    });
    try {
      const ct = Template.fromStack(china.app.node.findChild('EnvWatch-dev-Ingest') as Stack);
      const id = idsOfType(ct, 'AWS::Lambda::Function').find((i) => i.startsWith('IngestFunction')) as string;
      const vars = (props(ct, id).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(vars.SMS_GATEWAY).toBe('http');
      expect(vars.SMS_HTTP_URL).toBe('https://sms.example.cn/send');
      expect(JSON.stringify(vars.SMS_HTTP_SECRET)).toContain('resolve:secretsmanager:envwatch/sms');
    } finally {
      china.cleanup();
    }
    expect(() => buildForTest({ stage: 'dev', smsProvider: 'http' })).toThrow(/smsHttpUrl/);
  });

  it('serves the alarm API routes', () => {
    const routes = Object.values(api.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r.Properties as { RouteKey: string }).RouteKey,
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /alarms',
        'GET /alarms/{alarmId}',
        'GET /alarms/{alarmId}/timeline',
        'POST /alarms/{alarmId}/acknowledge',
        'POST /alarms/{alarmId}/snooze',
        'POST /alarms/{alarmId}/clear',
        'POST /alarms/{alarmId}/comments',
        'GET /alarm-rules',
        'PUT /alarm-rules',
      ]),
    );
  });
});
