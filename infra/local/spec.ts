/**
 * What the embedded local platform runs, derived from the synthesized cloud assembly (cdk.out).
 * `template.ts` produces a `PlatformSpec`; each service in `services/` consumes its part of it.
 * Every intrinsic (Ref, GetAtt, ImportValue, Join, Sub) is already resolved to local names and ARNs here.
 */
import type { IotPolicyDocument } from './services/iot/policy.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_PARTITION = 'aws';

/** Invoke a function by logical id, name or ARN, the way Lambda would (in-process, isolated env). */
export type InvokeFn = (functionRef: string, event: unknown) => Promise<unknown>;

export interface FunctionSpec {
  /** `${stackName}/${logicalId}` is unique across stacks; `logicalId` alone may not be. */
  id: string;
  stackName: string;
  logicalId: string;
  functionName: string;
  arn: string;
  /** e.g. `index.handler` */
  handler: string;
  /** absolute path of the bundled asset directory in cdk.out */
  assetDir: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** CDK construct path, for messages */
  path: string;
}

export interface TableSpec {
  id: string;
  tableName: string;
  arn: string;
  keySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  globalSecondaryIndexes: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }[];
  ttlAttribute?: string;
  streamViewType?: string;
}

export interface BucketSpec {
  id: string;
  bucketName: string;
  arn: string;
  versioned: boolean;
  objectLock: boolean;
}

export interface TopicSpec {
  id: string;
  topicName: string;
  arn: string;
}

export interface QueueSpec {
  id: string;
  queueName: string;
  arn: string;
  /** dead-letter target of this queue, if any */
  deadLetterTargetArn?: string;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
}

export interface SubscriptionSpec {
  topicArn: string;
  protocol: 'lambda' | 'sqs' | 'sms' | 'email' | 'https' | string;
  /** function ARN, queue ARN, phone number … */
  endpoint: string;
  filterPolicy?: Record<string, unknown>;
  filterPolicyScope?: 'MessageAttributes' | 'MessageBody';
  rawMessageDelivery?: boolean;
}

/**
 * How a function's asynchronous invocations end (AWS::Lambda::EventInvokeConfig): retries, and where a failure record
 * goes when they are exhausted (an SQS queue ARN; other destination kinds are not run locally).
 */
export interface AsyncInvokeSpec {
  functionArn: string;
  maximumRetryAttempts: number;
  onFailure?: string;
}

export interface EventSourceMappingSpec {
  functionArn: string;
  queueArn: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
}

export interface RouteSpec {
  apiId: string;
  /** e.g. `GET /registry/{kind}/{id}` or `$default` */
  routeKey: string;
  functionArn: string;
  authorizationType: 'NONE' | 'JWT';
  authorizer?: { name: string; issuer: string; audience: string[]; identitySource: string[] };
  authorizationScopes?: string[];
}

export interface ApiSpec {
  apiId: string;
  name: string;
  throttle?: { rateLimit?: number; burstLimit?: number };
  /** named stages besides `$default`: `/<stage>/<route>` reaches the same routes (API Gateway strips the stage) */
  stages: string[];
  routes: RouteSpec[];
}

export type RuleActionSpec =
  | { kind: 'lambda'; functionArn: string }
  | { kind: 'sqs'; queueArn: string; useBase64?: boolean }
  | { kind: 'republish'; topic: string; qos?: number }
  | { kind: 'sns'; topicArn: string; messageFormat?: 'RAW' | 'JSON' };

export interface TopicRuleSpec {
  ruleName: string;
  sql: string;
  sqlVersion: string;
  actions: RuleActionSpec[];
  errorAction?: RuleActionSpec;
}

/** An IoT policy (AWS::IoT::Policy) the local broker enforces for the certificates it is attached to. */
export interface IotPolicySpec {
  policyName: string;
  /** the policy document, every intrinsic resolved (its `${iot:…}` policy variables are left for the broker) */
  document: IotPolicyDocument;
}

export interface StateMachineSpec {
  id: string;
  name: string;
  arn: string;
  /** ASL with every ARN resolved to local ARNs */
  definition: Record<string, unknown>;
  type: 'STANDARD' | 'EXPRESS';
}

export interface ScheduleSpec {
  ruleName: string;
  /** `rate(5 minutes)` or `cron(...)` */
  scheduleExpression: string;
  targets: {
    functionArn: string;
    /** a constant input (Input) */
    input?: unknown;
    /** an input built from the event (InputTransformer): `<name>` in `template` ← the event at `paths[name]` */
    inputTransformer?: { paths: Record<string, string>; template: string };
  }[];
}

/**
 * A long-running container (ECS task definition) that the platform runs in-process with its local implementation,
 * chosen by the container's `ENVWATCH_SERVICE`. Any other container in the template is an error at derivation.
 */
export interface ContainerServiceSpec {
  /** `${stackName}/${taskDefinitionLogicalId}/${containerName}` */
  id: string;
  containerName: string;
  /** the local implementation that runs it */
  service: 'hj212-gateway';
  /** the container's environment, every intrinsic resolved */
  environment: Record<string, string>;
  /** the first TCP port mapping */
  containerPort?: number;
  /** CDK construct path, for messages */
  path: string;
}

/** A symmetric KMS key (AWS::KMS::Key); the local KMS facade holds a 256-bit master key for each. */
export interface KeySpec {
  id: string;
  /** key id as the Resolver produces it (`local-<logicalId>`) */
  keyId: string;
  arn: string;
  description?: string;
}

export interface PlatformSpec {
  functions: FunctionSpec[];
  tables: TableSpec[];
  buckets: BucketSpec[];
  topics: TopicSpec[];
  queues: QueueSpec[];
  subscriptions: SubscriptionSpec[];
  eventSourceMappings: EventSourceMappingSpec[];
  /** functions whose asynchronous invocations (by IoT rules) retry and send failures to a destination */
  asyncInvokeConfigs?: AsyncInvokeSpec[];
  apis: ApiSpec[];
  topicRules: TopicRuleSpec[];
  /** IoT policies; the control plane attaches them, the broker enforces them */
  iotPolicies?: IotPolicySpec[];
  stateMachines: StateMachineSpec[];
  schedules: ScheduleSpec[];
  /** container services (ECS task definitions) the platform runs in-process */
  containers?: ContainerServiceSpec[];
  /** symmetric KMS keys the local KMS facade serves */
  keys?: KeySpec[];
  /** what the web hosting deploys to its bucket (its site asset in cdk.out), served at / */
  webRoot?: string;
}

/**
 * The functions only schedules invoke (the batch jobs: roll-up, sealing, alarm jobs, redrive…): every function a
 * schedule targets that no route, IoT rule, subscription, queue mapping, state machine or container refers to.
 */
export function scheduledOnly(spec: PlatformSpec): Set<string> {
  const { functions, schedules, asyncInvokeConfigs: _config, ...triggers } = spec;
  const elsewhere = JSON.stringify(triggers);
  const targets = new Set(schedules.flatMap((s) => s.targets.map((t) => t.functionArn)));
  return new Set(functions.filter((f) => targets.has(f.arn) && !elsewhere.includes(f.arn)).map((f) => f.id));
}

/** A started local service. `stop()` must release every port and child process. */
export interface LocalService {
  name: string;
  stop(): Promise<void>;
}
