import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IotPolicyDocument } from './services/iot/policy.ts';
import {
  type ApiSpec,
  type AsyncInvokeSpec,
  type BucketSpec,
  type ContainerServiceSpec,
  type EventSourceMappingSpec,
  type FunctionSpec,
  type KeySpec,
  LOCAL_ACCOUNT,
  LOCAL_PARTITION,
  LOCAL_REGION,
  type PlatformSpec,
  type QueueSpec,
  type RouteSpec,
  type RuleActionSpec,
  type ScheduleSpec,
  type StateMachineSpec,
  type SubscriptionSpec,
  type TableSpec,
  type TopicRuleSpec,
  type TopicSpec,
} from './spec.ts';

/**
 * Reads a synthesized cloud assembly (cdk.out) and derives everything the local platform runs: tables, buckets,
 * topics, queues, functions (bundled assets and environment), HTTP routes, IoT rules and policies, state machines,
 * schedules.
 * Intrinsics are resolved to local names and ARNs; an intrinsic or resource the platform cannot honour fails with a
 * message naming the stack, resource and construct path. One source of truth: nothing here is kept by hand.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Resource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
}
interface Template {
  Resources?: Record<string, Resource>;
  Outputs?: Record<string, { Value: Json; Export?: { Name: Json } }>;
}

export interface LocalEndpoints {
  /** base URL of the local HTTP gateway (an HttpApi's ApiEndpoint) */
  http: string;
  /** base URL of the local SQS (queue URLs are `${sqs}/${account}/${name}`) */
  sqs: string;
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

interface StackDoc {
  stackName: string;
  template: Template;
}

export function readAssembly(cdkOut: string): StackDoc[] {
  const manifest = JSON.parse(readFileSync(join(cdkOut, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string; properties?: { templateFile?: string }; displayName?: string }>;
  };
  const stacks: StackDoc[] = [];
  for (const [name, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const template = JSON.parse(readFileSync(join(cdkOut, artifact.properties.templateFile), 'utf8')) as Template;
    stacks.push({ stackName: name, template });
  }
  if (stacks.length === 0) throw new TemplateError(`no stacks in ${cdkOut}/manifest.json: did the synth run?`);
  return stacks;
}

const arn = (service: string, resource: string, region = LOCAL_REGION, account = LOCAL_ACCOUNT) =>
  `arn:${LOCAL_PARTITION}:${service}:${region}:${account}:${resource}`;

/** Resolves intrinsics of one stack, with exports of all stacks for Fn::ImportValue. */
class Resolver {
  private readonly exports = new Map<string, { stack: StackDoc; value: Json }>();

  constructor(
    readonly stacks: StackDoc[],
    private readonly endpoints: LocalEndpoints,
  ) {
    for (const stack of stacks) {
      for (const out of Object.values(stack.template.Outputs ?? {})) {
        if (out.Export && typeof out.Export.Name === 'string')
          this.exports.set(out.Export.Name, { stack, value: out.Value });
      }
    }
  }

  where(stack: StackDoc, logicalId: string): string {
    const path = stack.template.Resources?.[logicalId]?.Metadata?.['aws:cdk:path'];
    return `${stack.stackName}/${logicalId}${typeof path === 'string' ? ` (${path})` : ''}`;
  }

  /** Physical name of a resource, as CloudFormation would generate it (or as the template fixes it). */
  physicalName(stack: StackDoc, logicalId: string): string {
    const res = this.resource(stack, logicalId);
    const props = res.Properties ?? {};
    const fixed = (key: string) => {
      const v = props[key];
      return v === undefined ? undefined : this.str(stack, v, `${logicalId}.${key}`);
    };
    const generated = `${stack.stackName}-${logicalId}`;
    switch (res.Type) {
      case 'AWS::DynamoDB::Table':
        return fixed('TableName') ?? generated;
      case 'AWS::Lambda::Function':
        return fixed('FunctionName') ?? generated.slice(0, 64);
      case 'AWS::SNS::Topic':
        return fixed('TopicName') ?? generated.slice(0, 256);
      case 'AWS::SQS::Queue': {
        const name = fixed('QueueName') ?? generated.slice(0, 75);
        return props.FifoQueue === true && !name.endsWith('.fifo') ? `${name}.fifo` : name;
      }
      case 'AWS::S3::Bucket':
        return (
          fixed('BucketName') ??
          generated
            .toLowerCase()
            .replace(/[^a-z0-9-]/g, '-')
            .slice(0, 63)
            .replace(/-+$/, '')
        );
      case 'AWS::StepFunctions::StateMachine':
        return fixed('StateMachineName') ?? generated.slice(0, 80);
      case 'AWS::IoT::TopicRule':
        return fixed('RuleName') ?? generated.replace(/[^A-Za-z0-9_]/g, '_');
      case 'AWS::IoT::Policy':
        return fixed('PolicyName') ?? generated.slice(0, 128);
      case 'AWS::Events::Rule':
        return fixed('Name') ?? generated.slice(0, 64);
      case 'AWS::Logs::LogGroup':
        return fixed('LogGroupName') ?? `/aws/${generated}`;
      case 'AWS::IAM::Role':
        return fixed('RoleName') ?? generated.slice(0, 64);
      case 'AWS::ApiGatewayV2::Api':
        return logicalId.toLowerCase().slice(0, 10);
      case 'AWS::KMS::Key':
        return `local-${logicalId}`;
      default:
        return logicalId;
    }
  }

  private resource(stack: StackDoc, logicalId: string): Resource {
    const res = stack.template.Resources?.[logicalId];
    if (!res) throw new TemplateError(`${stack.stackName}: reference to unknown resource ${logicalId}`);
    return res;
  }

  ref(stack: StackDoc, name: string): Json {
    switch (name) {
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Partition':
        return LOCAL_PARTITION;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.stackName;
      case 'AWS::StackId':
        return arn('cloudformation', `stack/${stack.stackName}/local`);
      case 'AWS::NoValue':
        return null;
    }
    const res = this.resource(stack, name);
    const physical = this.physicalName(stack, name);
    switch (res.Type) {
      case 'AWS::SNS::Topic':
        return arn('sns', physical);
      case 'AWS::SQS::Queue':
        return `${this.endpoints.sqs}/${LOCAL_ACCOUNT}/${physical}`;
      case 'AWS::StepFunctions::StateMachine':
        return arn('states', `stateMachine:${physical}`);
      default:
        return physical;
    }
  }

  getAtt(stack: StackDoc, logicalId: string, attr: string): Json {
    const res = this.resource(stack, logicalId);
    const name = this.physicalName(stack, logicalId);
    const fail = () =>
      new TemplateError(`${this.where(stack, logicalId)}: Fn::GetAtt ${res.Type}.${attr} is not supported locally`);
    switch (res.Type) {
      case 'AWS::DynamoDB::Table':
        if (attr === 'Arn') return arn('dynamodb', `table/${name}`);
        if (attr === 'StreamArn') return arn('dynamodb', `table/${name}/stream/local`);
        throw fail();
      case 'AWS::Lambda::Function':
        if (attr === 'Arn') return arn('lambda', `function:${name}`);
        throw fail();
      case 'AWS::SQS::Queue':
        if (attr === 'Arn') return arn('sqs', name);
        if (attr === 'QueueName') return name;
        if (attr === 'QueueUrl') return `${this.endpoints.sqs}/${LOCAL_ACCOUNT}/${name}`;
        throw fail();
      case 'AWS::SNS::Topic':
        if (attr === 'TopicArn') return arn('sns', name);
        if (attr === 'TopicName') return name;
        throw fail();
      case 'AWS::S3::Bucket':
        if (attr === 'Arn') return `arn:${LOCAL_PARTITION}:s3:::${name}`;
        if (attr === 'DomainName' || attr === 'RegionalDomainName') return `${name}.s3.localhost`;
        throw fail();
      case 'AWS::StepFunctions::StateMachine':
        if (attr === 'Arn') return arn('states', `stateMachine:${name}`);
        if (attr === 'Name') return name;
        throw fail();
      case 'AWS::KMS::Key':
        if (attr === 'Arn') return arn('kms', `key/${name}`);
        if (attr === 'KeyId') return name;
        throw fail();
      case 'AWS::Logs::LogGroup':
        if (attr === 'Arn') return arn('logs', `log-group:${name}:*`);
        throw fail();
      case 'AWS::IAM::Role':
        if (attr === 'Arn') return `arn:${LOCAL_PARTITION}:iam::${LOCAL_ACCOUNT}:role/${name}`;
        if (attr === 'RoleId') return `LOCAL${logicalId.toUpperCase()}`;
        throw fail();
      case 'AWS::ApiGatewayV2::Api':
        if (attr === 'ApiEndpoint') return this.endpoints.http;
        if (attr === 'ApiId') return name;
        throw fail();
      case 'AWS::IoT::TopicRule':
        if (attr === 'Arn') return arn('iot', `rule/${name}`);
        throw fail();
      case 'AWS::Events::Rule':
        if (attr === 'Arn') return arn('events', `rule/${name}`);
        throw fail();
      default:
        throw fail();
    }
  }

  /** Resolves every intrinsic in `value`. */
  resolve(stack: StackDoc, value: Json, at: string): Json {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.resolve(stack, v, at)).filter((v) => v !== null);
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const key = keys[0] as string;
      const arg = value[key] as Json;
      switch (key) {
        case 'Ref':
          return this.ref(stack, String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
          return this.getAtt(stack, id as string, attr as string);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json];
          const resolved = this.resolve(stack, parts, at);
          if (!Array.isArray(resolved)) throw new TemplateError(`${at}: Fn::Join over a non-list`);
          return resolved.map((p) => this.asString(p, at)).join(sep);
        }
        case 'Fn::Sub':
          return this.sub(stack, arg, at);
        case 'Fn::Select': {
          const [index, list] = arg as [Json, Json];
          const items = this.resolve(stack, list, at);
          if (!Array.isArray(items)) throw new TemplateError(`${at}: Fn::Select over a non-list`);
          return items[Number(this.resolve(stack, index, at))] ?? null;
        }
        case 'Fn::Split': {
          const [sep, source] = arg as [string, Json];
          return this.asString(this.resolve(stack, source, at), at).split(sep);
        }
        case 'Fn::ImportValue': {
          const name = this.asString(this.resolve(stack, arg, at), at);
          const exp = this.exports.get(name);
          if (!exp) throw new TemplateError(`${at}: Fn::ImportValue ${name}: no stack in the assembly exports it`);
          return this.resolve(exp.stack, exp.value, `${exp.stack.stackName} export ${name}`);
        }
        case 'Fn::ToJsonString':
          return JSON.stringify(this.resolve(stack, arg, at));
        default:
          if (key.startsWith('Fn::') || key === 'Condition') {
            throw new TemplateError(`${at}: intrinsic ${key} is not supported by the local platform`);
          }
      }
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = this.resolve(stack, v, at);
      if (r !== null) out[k] = r;
    }
    return out;
  }

  private sub(stack: StackDoc, arg: Json, at: string): string {
    const [template, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, Json>]);
    return template.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (vars && name in vars) return this.asString(this.resolve(stack, vars[name] as Json, at), at);
      if (name.includes('.')) {
        const [id, attr] = name.split('.');
        return this.asString(this.getAtt(stack, id as string, attr as string), at);
      }
      return this.asString(this.ref(stack, name), at);
    });
  }

  asString(v: Json, at: string): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new TemplateError(`${at}: expected a string, got ${JSON.stringify(v)}`);
  }

  str(stack: StackDoc, v: Json, at: string): string {
    return this.asString(this.resolve(stack, v, at), at);
  }
}

function resourcesOf(stack: StackDoc, type: string): [string, Resource][] {
  return Object.entries(stack.template.Resources ?? {}).filter(([, r]) => r.Type === type);
}

const obj = (v: Json | undefined): Record<string, Json> => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

/** Derives the whole local platform from a cloud assembly. */
export function deriveSpec(cdkOut: string, endpoints: LocalEndpoints): PlatformSpec {
  const stacks = readAssembly(cdkOut);
  const r = new Resolver(stacks, endpoints);
  const asyncInvokeConfigs: AsyncInvokeSpec[] = [];
  const spec: PlatformSpec = {
    functions: [],
    tables: [],
    buckets: [],
    topics: [],
    queues: [],
    subscriptions: [],
    eventSourceMappings: [],
    asyncInvokeConfigs,
    apis: [],
    topicRules: [],
    iotPolicies: [],
    stateMachines: [],
    schedules: [],
    containers: [],
    keys: [],
  };

  for (const stack of stacks) {
    const props = (id: string, res: Resource) => obj(r.resolve(stack, obj(res.Properties), r.where(stack, id)));

    for (const [id, res] of resourcesOf(stack, 'AWS::DynamoDB::Table')) {
      const p = props(id, res);
      const ttl = obj(p.TimeToLiveSpecification);
      const stream = obj(p.StreamSpecification);
      const table: TableSpec = {
        id: `${stack.stackName}/${id}`,
        tableName: r.physicalName(stack, id),
        arn: String(r.getAtt(stack, id, 'Arn')),
        keySchema: p.KeySchema as unknown as TableSpec['keySchema'],
        attributeDefinitions: p.AttributeDefinitions as unknown as TableSpec['attributeDefinitions'],
        globalSecondaryIndexes: (
          (p.GlobalSecondaryIndexes ?? []) as unknown as TableSpec['globalSecondaryIndexes']
        ).map((g) => ({
          IndexName: g.IndexName,
          KeySchema: g.KeySchema,
          Projection: g.Projection,
        })),
        ...(ttl.Enabled === true && typeof ttl.AttributeName === 'string' ? { ttlAttribute: ttl.AttributeName } : {}),
        ...(typeof stream.StreamViewType === 'string' ? { streamViewType: stream.StreamViewType } : {}),
      };
      spec.tables.push(table);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::S3::Bucket')) {
      const p = props(id, res);
      const bucket: BucketSpec = {
        id: `${stack.stackName}/${id}`,
        bucketName: r.physicalName(stack, id),
        arn: String(r.getAtt(stack, id, 'Arn')),
        versioned: obj(p.VersioningConfiguration).Status === 'Enabled',
        objectLock: p.ObjectLockEnabled === true,
      };
      spec.buckets.push(bucket);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::SNS::Topic')) {
      const topic: TopicSpec = {
        id: `${stack.stackName}/${id}`,
        topicName: r.physicalName(stack, id),
        arn: String(r.ref(stack, id)),
      };
      spec.topics.push(topic);
      for (const sub of (props(id, res).Subscription ?? []) as Record<string, Json>[]) {
        spec.subscriptions.push({
          topicArn: topic.arn,
          protocol: String(sub.Protocol),
          endpoint: String(sub.Endpoint),
        });
      }
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::SQS::Queue')) {
      const p = props(id, res);
      const redrive = obj(p.RedrivePolicy);
      const queue: QueueSpec = {
        id: `${stack.stackName}/${id}`,
        queueName: r.physicalName(stack, id),
        arn: String(r.getAtt(stack, id, 'Arn')),
        ...(typeof redrive.deadLetterTargetArn === 'string'
          ? { deadLetterTargetArn: redrive.deadLetterTargetArn }
          : {}),
        ...(redrive.maxReceiveCount !== undefined ? { maxReceiveCount: Number(redrive.maxReceiveCount) } : {}),
        ...(p.VisibilityTimeout !== undefined ? { visibilityTimeoutSeconds: Number(p.VisibilityTimeout) } : {}),
      };
      spec.queues.push(queue);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::SNS::Subscription')) {
      const p = props(id, res);
      const sub: SubscriptionSpec = {
        topicArn: String(p.TopicArn),
        protocol: String(p.Protocol),
        endpoint: String(p.Endpoint),
        ...(p.FilterPolicy
          ? { filterPolicy: obj(typeof p.FilterPolicy === 'string' ? JSON.parse(p.FilterPolicy) : p.FilterPolicy) }
          : {}),
        ...(p.FilterPolicyScope
          ? { filterPolicyScope: p.FilterPolicyScope as SubscriptionSpec['filterPolicyScope'] }
          : {}),
        ...(p.RawMessageDelivery !== undefined
          ? { rawMessageDelivery: p.RawMessageDelivery === true || p.RawMessageDelivery === 'true' }
          : {}),
      };
      spec.subscriptions.push(sub);
    }

    // functions that only serve CloudFormation custom resources run at deploy time (copying the web build, emptying
    // a bucket): nothing to run on the laptop, where the platform does that work itself
    const deployTime = new Set(
      Object.values(stack.template.Resources ?? {})
        .filter((res) => res.Type.startsWith('Custom::') || res.Type === 'AWS::CloudFormation::CustomResource')
        .map((res) => findGetAttTarget(obj(res.Properties).ServiceToken))
        .filter((id): id is string => id !== undefined),
    );
    for (const [id, res] of resourcesOf(stack, 'AWS::Lambda::Function')) {
      if (deployTime.has(id)) continue;
      const p = props(id, res);
      const where = r.where(stack, id);
      const assetPath = res.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') {
        throw new TemplateError(
          `${where}: no bundled asset (aws:asset:path); inline or container code cannot run locally`,
        );
      }
      const environment: Record<string, string> = {};
      for (const [k, v] of Object.entries(obj(obj(p.Environment).Variables)))
        environment[k] = r.asString(v, `${where} env ${k}`);
      const name = r.physicalName(stack, id);
      const fn: FunctionSpec = {
        id: `${stack.stackName}/${id}`,
        stackName: stack.stackName,
        logicalId: id,
        functionName: name,
        arn: String(r.getAtt(stack, id, 'Arn')),
        handler: String(p.Handler ?? 'index.handler'),
        assetDir: join(cdkOut, assetPath),
        environment,
        timeoutSeconds: Number(p.Timeout ?? 3),
        memoryMb: Number(p.MemorySize ?? 128),
        path: String(res.Metadata?.['aws:cdk:path'] ?? id),
      };
      spec.functions.push(fn);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::Lambda::EventInvokeConfig')) {
      const p = props(id, res);
      const fnName = String(p.FunctionName);
      const onFailure = obj(obj(p.DestinationConfig).OnFailure).Destination;
      const config: AsyncInvokeSpec = {
        functionArn: fnName.startsWith('arn:') ? fnName : arn('lambda', `function:${fnName}`),
        maximumRetryAttempts: p.MaximumRetryAttempts === undefined ? 2 : Number(p.MaximumRetryAttempts),
        ...(typeof onFailure === 'string' ? { onFailure } : {}),
      };
      if (config.onFailure && !config.onFailure.startsWith(`arn:${LOCAL_PARTITION}:sqs:`)) {
        throw new TemplateError(
          `${r.where(stack, id)}: only SQS on-failure destinations run locally (got ${onFailure})`,
        );
      }
      asyncInvokeConfigs.push(config);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::Lambda::EventSourceMapping')) {
      const p = props(id, res);
      const source = String(p.EventSourceArn ?? '');
      if (!source.startsWith(`arn:${LOCAL_PARTITION}:sqs:`)) {
        throw new TemplateError(`${r.where(stack, id)}: only SQS event sources run locally (got ${source})`);
      }
      const fnName = String(p.FunctionName);
      const mapping: EventSourceMappingSpec = {
        functionArn: fnName.startsWith('arn:') ? fnName : arn('lambda', `function:${fnName}`),
        queueArn: source,
        batchSize: Number(p.BatchSize ?? 10),
        reportBatchItemFailures: ((p.FunctionResponseTypes ?? []) as Json[]).includes('ReportBatchItemFailures'),
      };
      spec.eventSourceMappings.push(mapping);
    }

    const integrations = new Map(
      resourcesOf(stack, 'AWS::ApiGatewayV2::Integration').map(([id, res]) => [id, props(id, res)]),
    );
    const authorizers = new Map(
      resourcesOf(stack, 'AWS::ApiGatewayV2::Authorizer').map(([id, res]) => [id, props(id, res)]),
    );
    for (const [id, res] of resourcesOf(stack, 'AWS::ApiGatewayV2::Api')) {
      const apiId = r.physicalName(stack, id);
      const stages = resourcesOf(stack, 'AWS::ApiGatewayV2::Stage')
        .map(([sid, s]) => props(sid, s))
        .filter((s) => s.ApiId === apiId);
      const stage = stages.find((s) => s.StageName === '$default') ?? stages[0];
      const defaults = obj(stage?.DefaultRouteSettings);
      const api: ApiSpec = {
        apiId,
        name: String(props(id, res).Name ?? id),
        ...(defaults.ThrottlingRateLimit !== undefined || defaults.ThrottlingBurstLimit !== undefined
          ? {
              throttle: {
                rateLimit: Number(defaults.ThrottlingRateLimit),
                burstLimit: Number(defaults.ThrottlingBurstLimit),
              },
            }
          : {}),
        stages: stages.map((s) => String(s.StageName)).filter((name) => name !== '$default'),
        routes: [],
      };
      spec.apis.push(api);
    }
    for (const [id, res] of resourcesOf(stack, 'AWS::ApiGatewayV2::Route')) {
      const raw = obj(res.Properties);
      const p = props(id, res);
      const where = r.where(stack, id);
      const api = spec.apis.find((a) => a.apiId === p.ApiId);
      if (!api) throw new TemplateError(`${where}: route of an API that is not in the assembly`);
      const targetRef = obj(obj(raw.Target)['Fn::Join'] as Json);
      const integrationId = findRef(raw.Target) ?? findRef(targetRef);
      const integration = integrationId ? integrations.get(integrationId) : undefined;
      if (integration?.IntegrationType !== 'AWS_PROXY') {
        throw new TemplateError(`${where}: only Lambda proxy integrations run locally`);
      }
      if (integration.PayloadFormatVersion !== '2.0')
        throw new TemplateError(`${where}: only payload format 2.0 is emulated`);
      const authType = String(p.AuthorizationType ?? 'NONE');
      if (authType !== 'NONE' && authType !== 'JWT')
        throw new TemplateError(`${where}: authorization ${authType} is not emulated`);
      const authorizerId = findRef(raw.AuthorizerId);
      const authorizer = authorizerId ? authorizers.get(authorizerId) : undefined;
      const jwt = obj(authorizer?.JwtConfiguration);
      const route: RouteSpec = {
        apiId: api.apiId,
        routeKey: String(p.RouteKey),
        functionArn: String(integration.IntegrationUri),
        authorizationType: authType,
        ...(authType === 'JWT' && authorizer
          ? {
              authorizer: {
                name: String(authorizer.Name),
                issuer: String(jwt.Issuer),
                audience: ((jwt.Audience ?? []) as Json[]).map(String),
                identitySource: ((authorizer.IdentitySource ?? []) as Json[]).map(String),
              },
            }
          : {}),
        ...(Array.isArray(p.AuthorizationScopes) ? { authorizationScopes: p.AuthorizationScopes.map(String) } : {}),
      };
      api.routes.push(route);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::IoT::TopicRule')) {
      const where = r.where(stack, id);
      const payload = obj(props(id, res).TopicRulePayload);
      if (payload.RuleDisabled === true) continue;
      const rule: TopicRuleSpec = {
        ruleName: r.physicalName(stack, id),
        sql: String(payload.Sql),
        sqlVersion: String(payload.AwsIotSqlVersion ?? '2015-10-08'),
        actions: ((payload.Actions ?? []) as Json[]).map((a) => ruleAction(obj(a), where)),
        ...(payload.ErrorAction ? { errorAction: ruleAction(obj(payload.ErrorAction), where) } : {}),
      };
      spec.topicRules.push(rule);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::IoT::Policy')) {
      const raw = props(id, res).PolicyDocument;
      const document: unknown = typeof raw === 'string' ? JSON.parse(raw) : obj(raw);
      spec.iotPolicies?.push({ policyName: r.physicalName(stack, id), document: document as IotPolicyDocument });
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::StepFunctions::StateMachine')) {
      const where = r.where(stack, id);
      const p = props(id, res);
      let definition: Record<string, unknown>;
      if (typeof p.DefinitionString === 'string')
        definition = JSON.parse(p.DefinitionString) as Record<string, unknown>;
      else if (p.Definition) definition = obj(p.Definition) as Record<string, unknown>;
      else throw new TemplateError(`${where}: state machine without an inline definition`);
      const subs = obj(p.DefinitionSubstitutions);
      if (Object.keys(subs).length > 0) {
        let text = JSON.stringify(definition);
        for (const [k, v] of Object.entries(subs)) text = text.replaceAll(`\${${k}}`, r.asString(v, where));
        definition = JSON.parse(text) as Record<string, unknown>;
      }
      if (definition.QueryLanguage === 'JSONata')
        throw new TemplateError(`${where}: JSONata state machines are not emulated; use JSONPath`);
      const machine: StateMachineSpec = {
        id: `${stack.stackName}/${id}`,
        name: r.physicalName(stack, id),
        arn: String(r.getAtt(stack, id, 'Arn')),
        definition,
        type: p.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
      };
      spec.stateMachines.push(machine);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::Events::Rule')) {
      const p = props(id, res);
      if (typeof p.ScheduleExpression !== 'string' || p.State === 'DISABLED') continue;
      const schedule: ScheduleSpec = {
        ruleName: r.physicalName(stack, id),
        scheduleExpression: p.ScheduleExpression,
        targets: ((p.Targets ?? []) as Json[])
          .map((t) => obj(t))
          .filter((t) => String(t.Arn).includes(':lambda:'))
          .map((t) => {
            const transformer = obj(t.InputTransformer);
            return {
              functionArn: String(t.Arn),
              ...(t.Input ? { input: JSON.parse(String(t.Input)) as unknown } : {}),
              ...(t.InputTransformer
                ? {
                    inputTransformer: {
                      paths: Object.fromEntries(
                        Object.entries(obj(transformer.InputPathsMap)).map(([k, v]) => [k, String(v)]),
                      ),
                      template: String(transformer.InputTemplate),
                    },
                  }
                : {}),
            };
          }),
      };
      spec.schedules.push(schedule);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::KMS::Key')) {
      const description = obj(res.Properties).Description;
      const key: KeySpec = {
        id: `${stack.stackName}/${id}`,
        keyId: r.physicalName(stack, id),
        arn: String(r.getAtt(stack, id, 'Arn')),
        ...(typeof description === 'string' ? { description } : {}),
      };
      spec.keys?.push(key);
    }

    for (const [id, res] of resourcesOf(stack, 'AWS::ECS::TaskDefinition')) {
      spec.containers?.push(...containerServices(r, stack, id, res));
    }

    // the web hosting's content: the deployed source asset that holds the landing page
    for (const [, res] of resourcesOf(stack, 'Custom::CDKBucketDeployment')) {
      for (const key of (obj(res.Properties).SourceObjectKeys ?? []) as Json[]) {
        const hash = typeof key === 'string' ? key.replace(/\.zip$/, '') : undefined;
        const dir = hash ? join(cdkOut, `asset.${hash}`) : undefined;
        if (dir && existsSync(join(dir, 'index.html'))) spec.webRoot = dir;
      }
    }
  }
  return spec;
}

/** The logical id a `Fn::GetAtt` (a custom resource's ServiceToken) points at. */
function findGetAttTarget(v: Json | undefined): string | undefined {
  const att = obj(v)['Fn::GetAtt'];
  return Array.isArray(att) && typeof att[0] === 'string' ? att[0] : undefined;
}

/** Container services that have a local implementation (by ENVWATCH_SERVICE); any other container is an error. */
const LOCAL_CONTAINER_SERVICES = ['hj212-gateway'] as const;

function containerServices(r: Resolver, stack: StackDoc, id: string, res: Resource): ContainerServiceSpec[] {
  const where = r.where(stack, id);
  const containers = obj(res.Properties).ContainerDefinitions;
  return (Array.isArray(containers) ? containers : []).map((raw) => {
    const c = obj(raw);
    const name = String(c.Name ?? 'container');
    // only what the local implementation needs is resolved (the image, roles and log options have no local meaning)
    const environment: Record<string, string> = {};
    for (const e of (Array.isArray(c.Environment) ? c.Environment : []).map(obj)) {
      environment[String(e.Name)] = r.str(stack, e.Value ?? '', `${where} container ${name} env ${String(e.Name)}`);
    }
    const service = environment.ENVWATCH_SERVICE;
    const known = LOCAL_CONTAINER_SERVICES.find((s) => s === service);
    if (!known) {
      throw new TemplateError(
        `${where}: container ${name} (ENVWATCH_SERVICE=${service ?? 'unset'}) has no local implementation; the platform runs ${LOCAL_CONTAINER_SERVICES.join(', ')}`,
      );
    }
    const tcp = (Array.isArray(c.PortMappings) ? c.PortMappings : [])
      .map(obj)
      .find((m) => m.Protocol === undefined || m.Protocol === 'tcp');
    return {
      id: `${stack.stackName}/${id}/${name}`,
      containerName: name,
      service: known,
      environment,
      ...(tcp?.ContainerPort !== undefined ? { containerPort: Number(tcp.ContainerPort) } : {}),
      path: String(res.Metadata?.['aws:cdk:path'] ?? id),
    };
  });
}

function findRef(v: Json | undefined): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) {
    for (const x of v) {
      const found = findRef(x);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof v.Ref === 'string') return v.Ref;
  for (const x of Object.values(v)) {
    const found = findRef(x);
    if (found) return found;
  }
  return undefined;
}

function ruleAction(a: Record<string, Json>, where: string): RuleActionSpec {
  const [kind, raw] = Object.entries(a)[0] ?? [];
  const p = obj(raw);
  switch (kind) {
    case 'Lambda':
      return { kind: 'lambda', functionArn: String(p.FunctionArn) };
    case 'Sqs': {
      const url = String(p.QueueUrl);
      const name = url.split('/').pop() ?? '';
      return {
        kind: 'sqs',
        queueArn: arn('sqs', name),
        ...(p.UseBase64 !== undefined ? { useBase64: p.UseBase64 === true } : {}),
      };
    }
    case 'Republish':
      return { kind: 'republish', topic: String(p.Topic), ...(p.Qos !== undefined ? { qos: Number(p.Qos) } : {}) };
    case 'Sns':
      return {
        kind: 'sns',
        topicArn: String(p.TargetArn),
        ...(p.MessageFormat ? { messageFormat: p.MessageFormat as 'RAW' | 'JSON' } : {}),
      };
    default:
      throw new TemplateError(
        `${where}: IoT rule action ${kind} is not supported by the local platform (lambda, sqs, republish, sns are)`,
      );
  }
}
