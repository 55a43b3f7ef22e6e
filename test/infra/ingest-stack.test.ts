import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { SEAL_SCHEDULE } from '#infra/constructs/archive-sealer.ts';
import { THING } from '#infra/constructs/iot-device-policy.ts';
import { RULE_SQL } from '#infra/constructs/iot-ingest.ts';
import { ROLL_UP_SCHEDULE } from '#infra/constructs/readings-roll-up.ts';
import { INGEST_REPLAY_TOPIC } from '#shared/domain/ingest/dead-letter.ts';
import { buildForTest, idsOfType, props } from './helpers.ts';

/** The Ingest stack: IoT topic rules, their error action and Lambda permissions, the DLQ, the device IoT policy. */
const built = buildForTest({ stage: 'dev' });
const stack = built.app.node.findChild('EnvWatch-dev-Ingest') as Stack;
const t = Template.fromStack(stack);
const api = Template.fromStack(built.api);
afterAll(() => built.cleanup());

const ruleIds = idsOfType(t, 'AWS::IoT::TopicRule');
const payload = (id: string) => props(t, id).TopicRulePayload as Record<string, unknown>;
const ruleByName = (name: string) => ruleIds.find((id) => props(t, id).RuleName === name) as string;
const queueId = idsOfType(t, 'AWS::SQS::Queue').find((id) => id.startsWith('IngestDeadLetters')) as string;
const fnId = idsOfType(t, 'AWS::Lambda::Function').find((id) => id.startsWith('IngestFunction')) as string;
const ingestRuleIds = ruleIds.filter((id) => !String(props(t, id).RuleName).endsWith('_replay'));

describe('Ingest stack', () => {
  it('is a stack of its own named EnvWatch-<stage>-Ingest', () => {
    expect(stack.stackName).toBe('EnvWatch-dev-Ingest');
  });

  it.each([
    ['envwatch_dev_gateway', RULE_SQL.gateway, "SELECT *, 'tcp-gateway' AS source FROM 'envwatch/gateway/+'"],
    ['envwatch_dev_hj212', RULE_SQL.hj212, 'envwatch/devices/+/hj212'],
    ['envwatch_dev_json', RULE_SQL.json, 'envwatch/devices/+/telemetry'],
  ])(
    'has rule %s with its SQL (2016-03-23) invoking the ingest function alone (one invocation per message)',
    (name, sql, expected) => {
      const id = ruleByName(name);
      expect(id, name).toBeDefined();
      const p = payload(id);
      expect(p.Sql).toBe(sql);
      expect(String(p.Sql)).toContain(expected);
      expect(p.AwsIotSqlVersion).toBe('2016-03-23');
      expect(p.Actions).toEqual([{ Lambda: { FunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] } } }]);
    },
  );

  it('keeps the exact bytes of MQTT messages with encode(*, base64) and the MN from the topic', () => {
    for (const sql of [RULE_SQL.hj212, RULE_SQL.json]) {
      expect(sql).toMatch(
        /^SELECT encode\(\*, 'base64'\) AS raw, topic\(3\) AS mn, timestamp\(\) AS receivedAt, clientid\(\) AS clientId, /,
      );
    }
  });

  it('sends failures of every ingest rule to the dead-letter queue through a role IoT assumes', () => {
    for (const id of ingestRuleIds) {
      const err = payload(id).ErrorAction as { Sqs: { QueueUrl: unknown; RoleArn: unknown } };
      expect(err.Sqs.QueueUrl).toEqual({ Ref: queueId });
      expect(JSON.stringify(err.Sqs.RoleArn)).toContain('ErrorActionRole');
    }
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'iot.amazonaws.com' } })] },
    });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  it('replays failed ingest envelopes through a rule that invokes only the ingest function', () => {
    const id = ruleByName('envwatch_dev_ingest_replay');
    const p = payload(id);
    expect(p.Sql).toBe(`SELECT * FROM '${INGEST_REPLAY_TOPIC}'`);
    expect(p.Actions).toEqual([{ Lambda: { FunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] } } }]);
    expect((p.ErrorAction as { Sqs: { QueueUrl: unknown } }).Sqs.QueueUrl).toEqual({ Ref: queueId });
  });

  it('scopes each Lambda permission to its rule ARN', () => {
    const perms = Object.values(t.findResources('AWS::Lambda::Permission'))
      .map((r) => r.Properties as Record<string, unknown>)
      .filter((p) => p.Principal === 'iot.amazonaws.com');
    // each rule (three device rules, two replay rules) may invoke the one ingest function
    expect(perms).toHaveLength(ingestRuleIds.length + 2);
    for (const p of perms) expect(p.FunctionName).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    const sources = perms.map((p) => {
      expect(p.Principal).toBe('iot.amazonaws.com');
      expect(p.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
      return JSON.stringify(p.SourceArn);
    });
    expect([...new Set(sources)].sort()).toEqual(
      ruleIds.map((id) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })).sort(),
    );
  });

  it('encrypts the dead-letter queue with the data key, keeps 14 days and refuses plain HTTP', () => {
    const q = props(t, queueId);
    expect(JSON.stringify(q.KmsMasterKeyId)).toContain('DataKey');
    expect(q.MessageRetentionPeriod).toBe(14 * 86_400);
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets a device connect as its thing name and publish only under its own MN, partition-aware', () => {
    const policies = Object.values(t.findResources('AWS::IoT::Policy')).map(
      (r) => r.Properties as Record<string, unknown>,
    );
    expect(policies).toHaveLength(1);
    const doc = JSON.stringify(policies[0]?.PolicyDocument);
    expect(THING).toBe(['$', '{iot:Connection.Thing.ThingName}'].join(''));
    expect(doc).toContain(`:client/${THING}`);
    expect(doc).toContain(`:topic/envwatch/devices/${THING}/*`);
    expect(doc).toContain(`:topicfilter/envwatch/devices/${THING}/cmd`);
    expect(doc).toContain(`:topic/envwatch/devices/${THING}/cmd`);
    expect(doc).toContain('{"Ref":"AWS::Partition"}');
    expect(doc).not.toContain('arn:aws:');
    const statements =
      (policies[0]?.PolicyDocument as { Statement: { Action: string }[] } | undefined)?.Statement ?? [];
    expect(statements.map((s) => s.Action).sort()).toEqual([
      'iot:Connect',
      'iot:Publish',
      'iot:Receive',
      'iot:Subscribe',
    ]);
  });

  it('gives the ingest function the archive prefix without delete, and retention settings', () => {
    const env = (props(t, fnId).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ READINGS_REALTIME_RETENTION_DAYS: '30', READINGS_MINUTE_RETENTION_DAYS: '180' });
    const policy = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policy).toContain('/raw/*');
    expect(policy).not.toContain('s3:DeleteObject');
    expect(policy).not.toMatch(/"s3:\*"|"kms:\*"/);
  });

  it('does not trace the ingest function, invoked once per device message, while the sealer is traced', () => {
    const tracing = (id: string) => props(t, id).TracingConfig as { Mode: string } | undefined;
    expect(tracing(fnId)?.Mode ?? 'PassThrough').toBe('PassThrough');
    const sealer = Object.keys(t.findResources('AWS::Lambda::Function')).find((id) => id.includes('ArchiveSealer'));
    expect(sealer).toBeDefined();
    expect(tracing(String(sealer))).toEqual({ Mode: 'Active' });
  });

  it("lets the ingest function answer an MQTT device's key request: Encrypt and Decrypt on the device-key key, iot:Publish on device command topics only", () => {
    const role = (props(t, fnId).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .map(
        (r) => r.Properties as { Roles: { Ref: string }[]; PolicyDocument: { Statement: Record<string, unknown>[] } },
      )
      .filter((p) => p.Roles.some((r) => r.Ref === role))
      .flatMap((p) => p.PolicyDocument.Statement);
    const actions = (s: Record<string, unknown>) => [s.Action].flat() as string[];
    const publish = statements.filter((s) => actions(s).includes('iot:Publish'));
    expect(publish.map((s) => JSON.stringify(s.Resource))).toEqual([
      JSON.stringify({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':iot:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':topic/envwatch/devices/*/cmd',
          ],
        ],
      }),
    ]);
    const deviceKeys = statements.filter((s) => JSON.stringify(s.Resource).includes('DeviceKeysKey'));
    expect(deviceKeys.flatMap(actions).sort()).toEqual(['kms:Decrypt', 'kms:Encrypt']);
  });

  it('seals the archive hourly with a function of its own, and keeps the records in the table the tail days', () => {
    const env = (props(t, fnId).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ ARCHIVE_TAIL_DAYS: '7' });
    const sealerId = idsOfType(t, 'AWS::Lambda::Function').find((id) => id.startsWith('ArchiveSealerFunction'));
    expect(sealerId).toBeDefined();
    const sealerEnv = (props(t, sealerId as string).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(sealerEnv).toMatchObject({ ARCHIVE_SEAL_GRACE_MINUTES: '10' });
    expect(Object.keys(sealerEnv)).toEqual(
      expect.arrayContaining(['READINGS_TABLE', 'REGISTRY_TABLE', 'EVIDENCE_BUCKET']),
    );
    const schedule = idsOfType(t, 'AWS::Events::Rule').find((id) => id.startsWith('ArchiveSealerSchedule')) as string;
    expect(props(t, schedule).ScheduleExpression).toBe(SEAL_SCHEDULE);
    expect(JSON.stringify(props(t, schedule).Targets)).toContain(sealerId as string);
  });

  it('rolls readings up into blocks hourly with a function of its own that reads the registry and writes no bucket', () => {
    const rollUpId = idsOfType(t, 'AWS::Lambda::Function').find((id) => id.startsWith('ReadingsRollUpFunction'));
    expect(rollUpId).toBeDefined();
    const env = (props(t, rollUpId as string).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ READINGS_ROLL_UP_GRACE_MINUTES: '10' });
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['READINGS_TABLE', 'REGISTRY_TABLE']));
    expect(Object.keys(env)).not.toContain('EVIDENCE_BUCKET');
    const schedule = idsOfType(t, 'AWS::Events::Rule').find((id) => id.startsWith('ReadingsRollUpSchedule')) as string;
    expect(props(t, schedule).ScheduleExpression).toBe(ROLL_UP_SCHEDULE);
    expect(JSON.stringify(props(t, schedule).Targets)).toContain(rollUpId as string);
  });

  it('adds the device data routes to the HTTP API', () => {
    const routes = Object.values(api.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r.Properties as { RouteKey: string }).RouteKey,
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /devices/{mn}/readings',
        'GET /devices/{mn}/latest',
        'GET /devices/{mn}/archive/verify',
      ]),
    );
  });
});

describe('Ingest stack: the HJ 212 gateway', () => {
  it('publishes to the Basic Ingest topic of the gateway rule', () => {
    const [taskId] = idsOfType(t, 'AWS::ECS::TaskDefinition');
    const containers = props(t, taskId as string).ContainerDefinitions as {
      Environment?: { Name: string; Value: unknown }[];
    }[];
    const env = Object.fromEntries((containers[0]?.Environment ?? []).map((e) => [e.Name, e.Value]));
    expect(env.GATEWAY_INGEST_TOPIC).toBe('$aws/rules/envwatch_dev_gateway/envwatch/gateway');
    expect(ruleByName('envwatch_dev_gateway')).toBeDefined();
  });

  it('exposes the device endpoint as a stack output', () => {
    expect(Object.keys(t.findOutputs('Hj212Endpoint'))).toHaveLength(1);
  });
});
