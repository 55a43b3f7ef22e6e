import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { ALARM_JOBS, ALARM_REPLAY_TOPIC } from '#infra/constructs/alarm-engine.ts';
import { buildForTest, idsOfType, props } from './helpers.ts';

/** The alarm engine: evaluator fed by the ingest rules, its dead letters and replay rule, the scheduled jobs, the API. */
const built = buildForTest({ stage: 'dev' });
const t = Template.fromStack(built.app.node.findChild('EnvWatch-dev-Ingest') as Stack);
const api = Template.fromStack(built.api);
afterAll(() => built.cleanup());

const fnId = (prefix: string) => idsOfType(t, 'AWS::Lambda::Function').find((id) => id.startsWith(prefix)) as string;
const env = (id: string) => (props(t, id).Environment as { Variables: Record<string, unknown> }).Variables;

describe('alarm engine', () => {
  it('sends failed evaluations (after two retries) to its own dead-letter queue', () => {
    const dlq = idsOfType(t, 'AWS::SQS::Queue').find((id) => id.startsWith('AlarmsDeadLetters')) as string;
    expect(dlq).toBeDefined();
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId('AlarmsEvaluator') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
    });
  });

  it('replays dead letters through a rule that invokes only the evaluator', () => {
    const replay = idsOfType(t, 'AWS::IoT::TopicRule').find(
      (id) => props(t, id).RuleName === 'envwatch_dev_alarm_replay',
    );
    const payload = props(t, replay as string).TopicRulePayload as { Sql: string; Actions: unknown[] };
    expect(payload.Sql).toBe(`SELECT * FROM '${ALARM_REPLAY_TOPIC}'`);
    expect(payload.Actions).toEqual([{ Lambda: { FunctionArn: { 'Fn::GetAtt': [fnId('AlarmsEvaluator'), 'Arn'] } } }]);
  });

  it('schedules each job with a constant input naming it', () => {
    const rules = Object.values(t.findResources('AWS::Events::Rule')).map(
      (r) => r.Properties as Record<string, unknown>,
    );
    const byJob = Object.fromEntries(
      rules.map((r) => {
        const target = (r.Targets as { Input: string; Arn: unknown }[])[0];
        return [JSON.parse(target?.Input ?? '{}').job, r.ScheduleExpression];
      }),
    );
    expect(byJob).toEqual(ALARM_JOBS);
  });

  it('wires both functions to the alarms table, the three audience topics and SMS over SNS by default', () => {
    for (const id of [fnId('AlarmsEvaluator'), fnId('AlarmsJobs')]) {
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
    expect(env(fnId('AlarmsEvaluator'))).not.toHaveProperty('READINGS_TABLE');
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
      const id = idsOfType(ct, 'AWS::Lambda::Function').find((i) => i.startsWith('AlarmsEvaluator')) as string;
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
