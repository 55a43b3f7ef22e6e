import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveSpec } from '#infra/local/template.ts';

const endpoints = { http: 'http://127.0.0.1:4510', sqs: 'http://127.0.0.1:4513' };
let dir: string;

function assembly(stacks: Record<string, unknown>): string {
  dir = mkdtempSync(join(tmpdir(), 'envwatch-asm-'));
  const artifacts: Record<string, unknown> = {};
  for (const [name, template] of Object.entries(stacks)) {
    writeFileSync(join(dir, `${name}.template.json`), JSON.stringify(template));
    artifacts[name] = { type: 'aws:cloudformation:stack', properties: { templateFile: `${name}.template.json` } };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts }));
  mkdirSync(join(dir, 'asset.abc'));
  return dir;
}

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const data = {
  Resources: {
    Things: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    },
    Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
  },
  Outputs: {
    ThingsName: { Value: { Ref: 'Things' }, Export: { Name: 'Data:ThingsName' } },
    ThingsArn: { Value: { 'Fn::GetAtt': ['Things', 'Arn'] }, Export: { Name: 'Data:ThingsArn' } },
  },
};

const fnResource = {
  Type: 'AWS::Lambda::Function',
  Metadata: { 'aws:asset:path': 'asset.abc', 'aws:cdk:path': 'App/Fn/Resource' },
  Properties: {
    Handler: 'index.handler',
    Timeout: 10,
    Environment: {
      Variables: {
        TABLE: { 'Fn::ImportValue': 'Data:ThingsName' },
        TABLE_ARN: { 'Fn::ImportValue': 'Data:ThingsArn' },
        GREETING: { 'Fn::Join': ['-', ['hello', { Ref: 'AWS::Region' }]] },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
        SUBBED: { 'Fn::Sub': 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:x' },
      },
    },
  },
};

describe('deriveSpec', () => {
  it('resolves imports, joins and subs to local names and ARNs', () => {
    const spec = deriveSpec(assembly({ Data: data, App: { Resources: { Fn: fnResource } } }), endpoints);
    expect(spec.tables[0]).toMatchObject({ tableName: 'Data-Things', ttlAttribute: 'expiresAt' });
    const fn = spec.functions[0];
    expect(fn?.environment).toEqual({
      TABLE: 'Data-Things',
      TABLE_ARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/Data-Things',
      GREETING: 'hello-us-east-1',
      SUBBED: 'arn:aws:sns:us-east-1:000000000000:x',
    });
    expect(fn?.assetDir).toBe(join(dir, 'asset.abc'));
    expect(fn?.timeoutSeconds).toBe(10);
  });

  it('derives an IoT rule with its actions and error action', () => {
    const app = {
      Resources: {
        Fn: fnResource,
        Rule: {
          Type: 'AWS::IoT::TopicRule',
          Properties: {
            TopicRulePayload: {
              Sql: "SELECT * FROM 'a/+/b'",
              AwsIotSqlVersion: '2016-03-23',
              Actions: [{ Lambda: { FunctionArn: { 'Fn::GetAtt': ['Fn', 'Arn'] } } }],
              ErrorAction: { Sqs: { QueueUrl: { Ref: 'Dlq' }, RoleArn: 'x' } },
            },
          },
        },
        Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
      },
    };
    const spec = deriveSpec(assembly({ Data: data, App: app }), endpoints);
    expect(spec.topicRules[0]).toEqual({
      ruleName: 'App_Rule',
      sql: "SELECT * FROM 'a/+/b'",
      sqlVersion: '2016-03-23',
      actions: [{ kind: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:App-Fn' }],
      errorAction: { kind: 'sqs', queueArn: 'arn:aws:sqs:us-east-1:000000000000:App-Dlq' },
    });
  });

  it('derives an IoT policy with its document, ARNs local and policy variables left for the broker', () => {
    const app = {
      Resources: {
        Policy: {
          Type: 'AWS::IoT::Policy',
          Properties: {
            PolicyName: 'envwatch-dev-device',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 'iot:Connect',
                  Resource: {
                    'Fn::Join': [
                      '',
                      [
                        'arn:',
                        { Ref: 'AWS::Partition' },
                        ':iot:',
                        { Ref: 'AWS::Region' },
                        ':',
                        { Ref: 'AWS::AccountId' },
                        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable
                        ':client/${iot:Connection.Thing.ThingName}',
                      ],
                    ],
                  },
                },
              ],
            },
          },
        },
      },
    };
    const spec = deriveSpec(assembly({ Data: data, App: app }), endpoints);
    expect(spec.iotPolicies).toEqual([
      {
        policyName: 'envwatch-dev-device',
        document: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'iot:Connect',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable
              Resource: 'arn:aws:iot:us-east-1:000000000000:client/${iot:Connection.Thing.ThingName}',
            },
          ],
        },
      },
    ]);
  });

  it('derives how a function’s asynchronous invocations end: retries and the on-failure queue', () => {
    const app = {
      Resources: {
        Fn: fnResource,
        Dlq: { Type: 'AWS::SQS::Queue', Properties: {} },
        Invoke: {
          Type: 'AWS::Lambda::EventInvokeConfig',
          Properties: {
            FunctionName: { Ref: 'Fn' },
            Qualifier: '$LATEST',
            MaximumRetryAttempts: 2,
            DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } },
          },
        },
      },
    };
    expect(deriveSpec(assembly({ Data: data, App: app }), endpoints).asyncInvokeConfigs).toEqual([
      {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:App-Fn',
        maximumRetryAttempts: 2,
        onFailure: 'arn:aws:sqs:us-east-1:000000000000:App-Dlq',
      },
    ]);
  });

  it('fails with the construct path when an intrinsic cannot be honoured', () => {
    const bad = {
      Resources: {
        Fn: {
          ...fnResource,
          Properties: { ...fnResource.Properties, Environment: { Variables: { X: { 'Fn::GetAZs': '' } } } },
        },
      },
    };
    expect(() => deriveSpec(assembly({ App: bad }), endpoints)).toThrow(
      /App\/Fn \(App\/Fn\/Resource\): intrinsic Fn::GetAZs is not supported/,
    );
  });

  it('fails when an IoT action is not supported locally', () => {
    const app = {
      Resources: {
        Rule: {
          Type: 'AWS::IoT::TopicRule',
          Properties: { TopicRulePayload: { Sql: "SELECT * FROM 'x'", Actions: [{ Kinesis: { StreamName: 's' } }] } },
        },
      },
    };
    expect(() => deriveSpec(assembly({ App: app }), endpoints)).toThrow(/IoT rule action Kinesis is not supported/);
  });
});
