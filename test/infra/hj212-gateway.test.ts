import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { Hj212Gateway } from '#infra/constructs/hj212-gateway.ts';
import {
  asArray,
  type BuiltApp,
  buildForTest,
  formatFindings,
  idsOfType,
  isError,
  isRecord,
  type Json,
  PROD_CONTEXT,
  props,
  renderValue,
  synthFindings,
} from './helpers.ts';

/**
 * The HJ 212 gateway construct, added to the real app (its registry table from the Data stack) in a stack of its own:
 * the lead wires it into the Ingest stack. Behaviour, not snapshots: task role scope, listener port, container env,
 * arm64, log retention, and no unacknowledged cdk-nag error.
 */
const PREFIX = '$aws/rules/envwatch_dev_gateway/envwatch/gateway';
const built: BuiltApp[] = [];

function build(context: Record<string, unknown> = {}) {
  const b = buildForTest(context);
  built.push(b);
  const stack = new Stack(b.app, 'GatewayUnderTest');
  const gateway = new Hj212Gateway(stack, 'Gateway', {
    registryTable: b.data.tables.byName.registry,
    ingestTopicPrefix: PREFIX,
    stage: String(context.stage ?? 'dev'),
    logRetentionDays: 30,
  });
  return { b, stack, gateway };
}

afterAll(() => {
  for (const b of built) b.cleanup();
});

const { stack } = build();
const t = Template.fromStack(stack);
const one = (type: string) => {
  const [id] = idsOfType(t, type);
  if (!id) throw new Error(`no ${type}`);
  return props(t, id);
};
const statements = (): Json[] =>
  idsOfType(t, 'AWS::IAM::Policy').flatMap((id) => {
    const p = props(t, id);
    const roles = JSON.stringify(p.Roles);
    if (!roles.includes('TaskTaskRole')) return [];
    return asArray(isRecord(p.PolicyDocument) ? p.PolicyDocument.Statement : []).filter(isRecord);
  });

describe('Hj212Gateway', () => {
  it('lets the task role read only the registry table, decrypt with its key, publish to its Basic Ingest topics and take commands', () => {
    const s = statements().map((st) => ({
      actions: asArray(st.Action).map(String).sort(),
      resources: asArray(st.Resource).map((r) => renderValue(r)),
    }));
    const all = s.flatMap((x) => x.actions).sort();
    expect(all).toEqual([
      'dynamodb:GetItem',
      'iot:Connect',
      'iot:DescribeEndpoint',
      'iot:Publish',
      'iot:Receive',
      'iot:Subscribe',
      'kms:Decrypt',
      'kms:DescribeKey',
    ]);
    const iot = `arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}`;
    const on = (action: string) => s.find((x) => x.actions.includes(action))?.resources;
    expect(on('iot:Connect')).toEqual([`${iot}:client/envwatch-gateway-*`]);
    expect(on('iot:Subscribe')).toEqual([`${iot}:topicfilter/envwatch/gateway/cmd/+`]);
    expect(on('iot:Receive')).toEqual([`${iot}:topic/envwatch/gateway/cmd/*`]);
    const publish = s.find((x) => x.actions.includes('iot:Publish'));
    expect(publish?.resources).toEqual([
      `arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}:topic/${PREFIX}/*`,
    ]);
    const get = s.find((x) => x.actions.includes('dynamodb:GetItem'));
    expect(get?.resources).toHaveLength(1);
    expect(get?.resources[0]).toContain('TablesRegistry');
  });

  it('listens on TCP 9212 on an internet-facing NLB with a TCP health check', () => {
    expect(one('AWS::ElasticLoadBalancingV2::Listener')).toMatchObject({ Port: 9212, Protocol: 'TCP' });
    expect(one('AWS::ElasticLoadBalancingV2::LoadBalancer')).toMatchObject({
      Scheme: 'internet-facing',
      Type: 'network',
    });
    expect(one('AWS::ElasticLoadBalancingV2::TargetGroup')).toMatchObject({
      Port: 9212,
      Protocol: 'TCP',
      TargetType: 'ip',
      HealthCheckProtocol: 'TCP',
    });
  });

  it('runs an arm64 Fargate task with the gateway environment, port and a bounded log group', () => {
    const task = one('AWS::ECS::TaskDefinition');
    expect(task.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    expect(task.RequiresCompatibilities).toEqual(['FARGATE']);
    const [container] = asArray(task.ContainerDefinitions).filter(isRecord);
    const env = Object.fromEntries(
      asArray(container?.Environment)
        .filter(isRecord)
        .map((e) => [String(e.Name), renderValue(e.Value)]),
    );
    expect(env).toMatchObject({
      ENVWATCH_SERVICE: 'hj212-gateway',
      GATEWAY_INGEST_TOPIC: PREFIX,
      GATEWAY_PORT: '9212',
      ENVWATCH_STAGE: 'dev',
    });
    expect(env.REGISTRY_TABLE).toContain('TablesRegistry');
    expect(container?.PortMappings).toEqual([{ ContainerPort: 9212, Protocol: 'tcp' }]);
    expect(container?.ReadonlyRootFilesystem).toBe(true);
    const logConfig = container?.LogConfiguration;
    expect(isRecord(logConfig) && logConfig.LogDriver).toBe('awslogs');
    for (const id of idsOfType(t, 'AWS::Logs::LogGroup')) expect(props(t, id).RetentionInDays).toBe(30);
  });

  it('runs the service in public subnets with a public IP and no NAT gateway, with flow logs and container insights', () => {
    expect(idsOfType(t, 'AWS::EC2::NatGateway')).toEqual([]);
    expect(idsOfType(t, 'AWS::EC2::FlowLog')).toHaveLength(1);
    const service = one('AWS::ECS::Service');
    const net = service.NetworkConfiguration;
    expect(isRecord(net) && isRecord(net.AwsvpcConfiguration) && net.AwsvpcConfiguration.AssignPublicIp).toBe(
      'ENABLED',
    );
    expect(JSON.stringify(one('AWS::ECS::Cluster').ClusterSettings)).toContain('containerInsights');
    // synth stays offline: no Lambda-backed custom resource (restrictDefaultSecurityGroup) in the stack
    expect(idsOfType(t, 'AWS::Lambda::Function')).toEqual([]);
  });

  it.each([
    ['dev', { stage: 'dev' }],
    ['prod', PROD_CONTEXT],
  ])('leaves no unacknowledged cdk-nag error (%s)', (_stage, context) => {
    const { b } = build(context);
    const errors = synthFindings(b).filter(isError);
    expect(errors, formatFindings(errors)).toEqual([]);
  });
});
