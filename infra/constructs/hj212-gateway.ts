import { resolve } from 'node:path';
import { Aws, Duration, IgnoreMode, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  Cluster,
  type ContainerDefinition,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
  Protocol,
  UlimitName,
} from 'aws-cdk-lib/aws-ecs';
import {
  Protocol as LbProtocol,
  type NetworkListener,
  NetworkLoadBalancer,
  type NetworkTargetGroup,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { GATEWAY_COMMAND_PREFIX } from '#shared/domain/commands/delivery.ts';
import { retentionFor } from './envwatch-function.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * The HJ 212 TCP gateway (gateway/) as a container on ECS Fargate (arm64) behind an internet-facing Network Load
 * Balancer. The image is built from the repository at deploy time (gateway/Dockerfile); synth only stages the files.
 *
 * Network: a VPC of 2 AZs with public subnets only and no NAT gateway. Tasks get a public IP for egress to DynamoDB,
 * IoT Core, ECR and CloudWatch Logs (a NAT gateway per AZ would cost more than the whole service and add nothing the
 * security group does not give); their security group admits only the gateway port. The NLB preserves client IPs, so
 * the gateway's security events name the device's address; that is also why the port is open to any IPv4 address
 * (DAQs connect from carrier-NAT addresses all over the county; they authenticate by MN and password per packet).
 *
 * The task role may only read the registry table (GetItem, and decrypt with its key) and publish to the gateway's
 * Basic Ingest topics. Logs (JSON and EMF metric lines) go to a log group with the stage's retention.
 */
export interface Hj212GatewayProps {
  registryTable: DataTable;
  /** `$aws/rules/<gateway rule>/envwatch/gateway`: the gateway publishes to `<prefix>/<mn>` */
  ingestTopicPrefix: string;
  stage: string;
  logRetentionDays: number;
  /** public TCP port of the NLB and the container (default 9212) */
  port?: number;
  /** running tasks (default 2 in prod, 1 otherwise) */
  desiredCount?: number;
  /** close idle device connections after this many seconds (default: the gateway's 300) */
  idleTimeoutSeconds?: number;
  /**
   * HJ 212-2025 device keys: the KMS key that seals them (Encrypt for a pushed key, Decrypt to open packets) and the
   * audit table; with them the task may also write device records (a push, a confirmation) with their audit entries,
   * and record a key push as a device command (the commands item family of the readings table, commands-store.ts)
   */
  deviceKeys?: { key: IKey; auditTable: DataTable; commandsTable: DataTable };
}

export const DEFAULT_GATEWAY_PORT = 9212;
/** what the container runs, by ENVWATCH_SERVICE: the local platform finds the gateway by it */
export const GATEWAY_SERVICE_NAME = 'hj212-gateway';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** Docker build context = repository root, but only what the image build needs (Docker ignore syntax). */
export const GATEWAY_IMAGE_CONTEXT = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!tsconfig.json',
  '!gateway',
  '!shared',
];

export class Hj212Gateway extends Construct {
  public readonly port: number;
  /** tasks the service keeps running (the Ops stack alarms below it) */
  public readonly desiredCount: number;
  public readonly vpc: Vpc;
  public readonly cluster: Cluster;
  public readonly taskDefinition: FargateTaskDefinition;
  public readonly container: ContainerDefinition;
  public readonly service: FargateService;
  public readonly securityGroup: SecurityGroup;
  public readonly loadBalancer: NetworkLoadBalancer;
  public readonly listener: NetworkListener;
  public readonly targetGroup: NetworkTargetGroup;
  public readonly logGroup: LogGroup;
  /** `host:port` devices connect to */
  public readonly endpoint: string;

  constructor(scope: Construct, id: string, props: Hj212GatewayProps) {
    super(scope, id);
    const port = props.port ?? DEFAULT_GATEWAY_PORT;
    this.port = port;
    const prod = props.stage === 'prod';
    this.desiredCount = props.desiredCount ?? (prod ? 2 : 1);
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const retention = retentionFor(props.logRetentionDays);

    const flowLogs = new LogGroup(this, 'FlowLogs', { retention, removalPolicy });
    // two zones of the stack's (IngestStack pins them, so synthesis never looks them up)
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 }],
      restrictDefaultSecurityGroup: false,
      flowLogs: {
        all: { destination: FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: FlowLogTrafficType.ALL },
      },
    });

    this.cluster = new Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ContainerInsights.ENABLED });

    this.logGroup = new LogGroup(this, 'Logs', { retention, removalPolicy });
    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
    });
    this.container = this.taskDefinition.addContainer('Gateway', {
      image: ContainerImage.fromAsset(ROOT, {
        file: 'gateway/Dockerfile',
        platform: Platform.LINUX_ARM64,
        ignoreMode: IgnoreMode.DOCKER,
        exclude: GATEWAY_IMAGE_CONTEXT,
      }),
      logging: LogDrivers.awsLogs({ streamPrefix: 'gateway', logGroup: this.logGroup }),
      environment: {
        [ENV.stage]: props.stage,
        [ENV.serviceName]: GATEWAY_SERVICE_NAME,
        [ENV.powertoolsServiceName]: GATEWAY_SERVICE_NAME,
        [ENV.logLevel]: prod ? 'info' : 'debug',
        [ENV.registryTable]: props.registryTable.table.tableName,
        [ENV.gatewayIngestTopic]: props.ingestTopicPrefix,
        [ENV.gatewayPort]: String(port),
        ...(props.idleTimeoutSeconds ? { [ENV.gatewayIdleTimeoutSeconds]: String(props.idleTimeoutSeconds) } : {}),
        ...(props.deviceKeys
          ? {
              [ENV.deviceKeysKey]: props.deviceKeys.key.keyArn,
              [ENV.auditTable]: props.deviceKeys.auditTable.table.tableName,
              [ENV.readingsTable]: props.deviceKeys.commandsTable.table.tableName,
            }
          : {}),
      },
      portMappings: [{ containerPort: port, protocol: Protocol.TCP }],
      readonlyRootFilesystem: true,
      stopTimeout: Duration.seconds(30),
      ulimits: [{ name: UlimitName.NOFILE, softLimit: 65_536, hardLimit: 65_536 }],
    });

    // least privilege: read one table (no Query/Scan), decrypt with its key, publish to the gateway's topics only
    const role = this.taskDefinition.taskRole;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:GetItem'],
        resources: [props.registryTable.table.tableArn],
      }),
    );
    const key = props.registryTable.table.encryptionKey;
    if (key) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['kms:Decrypt', 'kms:DescribeKey'],
          resources: [key.keyArn],
        }),
      );
    }
    if (props.deviceKeys) {
      // HJ 212-2025 keys: a push or a confirmation rewrites the device record (conditional on its version) with an
      // audit entry in one transaction; the device-key KMS key seals a pushed key and opens a device's keys
      const { key: deviceKey, auditTable, commandsTable } = props.deviceKeys;
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
          resources: [props.registryTable.table.tableArn],
        }),
      );
      // a key push is a device command: created with its audit entry, marked undelivered when it cannot be prepared
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['dynamodb:PutItem', 'dynamodb:GetItem'],
          resources: [commandsTable.table.tableArn],
        }),
      );
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['dynamodb:PutItem'],
          resources: [auditTable.table.tableArn],
        }),
      );
      const tableKeys = [
        props.registryTable.table.encryptionKey,
        auditTable.table.encryptionKey,
        commandsTable.table.encryptionKey,
      ].filter((k): k is NonNullable<typeof k> => k !== undefined);
      if (tableKeys.length > 0)
        role.addToPrincipalPolicy(
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
            resources: [...new Set(tableKeys.map((k) => k.keyArn))],
          }),
        );
      role.addToPrincipalPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['kms:Encrypt', 'kms:Decrypt'],
          resources: [deviceKey.keyArn],
        }),
      );
    }
    const ingestTopics = `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:topic/${props.ingestTopicPrefix}/*`;
    role.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['iot:Publish'], resources: [ingestTopics] }),
    );
    acknowledgeWildcardResource(
      role,
      ingestTopics,
      'One Basic Ingest topic per device MN under the gateway rule: the wildcard is the MN, nothing wider.',
    );

    // platform commands (gateway/commands.ts): connect as envwatch-gateway-<uuid>, subscribe to the command filter,
    // receive on the per-device command topics; find the account's IoT endpoint once at start
    const iot = (resource: string) => `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    const commandGrants: [string, string, string][] = [
      [
        'iot:Connect',
        iot('client/envwatch-gateway-*'),
        'The task connects with a client id of its own under this prefix.',
      ],
      ['iot:Subscribe', iot(`topicfilter/${GATEWAY_COMMAND_PREFIX}/+`), 'The one command filter: + is the MN.'],
      ['iot:Receive', iot(`topic/${GATEWAY_COMMAND_PREFIX}/*`), 'Command topics are one per device MN.'],
    ];
    for (const [action, resource, why] of commandGrants) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: [action], resources: [resource] }),
      );
      acknowledgeWildcardResource(role, resource, why);
    }
    role.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['iot:DescribeEndpoint'], resources: ['*'] }),
    );
    acknowledgeWildcardResource(role, '*', 'iot:DescribeEndpoint has no resource type: IAM accepts only *.');

    this.securityGroup = new SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'HJ 212 gateway tasks: the gateway port only',
      allowAllOutbound: true,
    });
    this.securityGroup.addIngressRule(
      Peer.anyIpv4(),
      Port.tcp(port),
      'HJ 212 devices (client IPs preserved by the NLB)',
    );

    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: this.desiredCount,
      assignPublicIp: true,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      securityGroups: [this.securityGroup],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });

    this.loadBalancer = new NetworkLoadBalancer(this, 'Nlb', {
      vpc: this.vpc,
      internetFacing: true,
      crossZoneEnabled: true,
      deletionProtection: prod,
    });
    this.listener = this.loadBalancer.addListener('Hj212', { port, protocol: LbProtocol.TCP });
    this.targetGroup = this.listener.addTargets('Gateway', {
      port,
      protocol: LbProtocol.TCP,
      targets: [this.service.loadBalancerTarget({ containerName: 'Gateway', containerPort: port })],
      preserveClientIp: true,
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        protocol: LbProtocol.TCP,
        interval: Duration.seconds(30),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });
    this.endpoint = `${this.loadBalancer.loadBalancerDnsName}:${port}`;

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-EC23',
        reason:
          'The HJ 212 port is a public device service: DAQs connect from carrier-NAT addresses across the county, the NLB preserves their IPs, and only this one port is open. Devices authenticate by MN and password.',
      },
      {
        id: 'AwsSolutions-ELB2',
        reason:
          'NLB access logs exist only for TLS listeners; HJ 212 is plain TCP. Every packet is archived by the gateway.',
      },
      {
        id: 'AwsSolutions-ECS2',
        reason: 'The environment holds resource names and limits only (table name, topic prefix, port), no secrets.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken (image pull by the execution role) accepts no resource but *.',
      },
    );
  }
}
