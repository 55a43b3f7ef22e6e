import { resolve } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ENV, type EnvName } from '#shared/config/env-names.ts';
import { bundleHash } from './bundle-hash.ts';
import type { DataTable } from './tables.ts';

/**
 * Every EnvWatch Lambda: Node.js 22 on arm64, an ESM bundle with the AWS SDK and Powertools inside (the deployed SDK is
 * the tested one), source maps, its own log group with retention, X-Ray tracing (active unless `tracing: false`; the
 * Powertools Tracer adds the handler and HTTPS subsegments), and the Powertools service name. `bind*` helpers set the env var and the matching
 * least-privilege grant in one call.
 */
export interface EnvWatchFunctionProps {
  /** folder under functions/, e.g. `registry-api` */
  name: string;
  /** handler file, when it is not functions/<name>/handler.ts (test fixtures) */
  entry?: string;
  stage: string;
  logRetentionDays: number;
  memorySize?: number;
  timeout?: Duration;
  description?: string;
  environment?: Record<string, string>;
  /**
   * X-Ray active tracing (default true). The ingest function, invoked once per device message, is untraced: at the
   * province's rate the sampled traces would cost more than the rest of its observability (docs/decisions.md).
   */
  tracing?: boolean;
}

const TABLE_ACTIONS = {
  read: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:ConditionCheckItem',
    'dynamodb:DescribeTable',
  ],
  readwrite: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:ConditionCheckItem',
    'dynamodb:DescribeTable',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ],
  append: ['dynamodb:PutItem'],
};

const ROOT = resolve(import.meta.dirname, '..', '..');

const BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  sourceMap: true,
  minify: true,
  externalModules: [],
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
};

export class EnvWatchFunction extends Construct {
  public readonly fn: NodejsFunction;
  /** its folder under functions/ (the service name in its logs), e.g. `registry-api` */
  public readonly service: string;

  constructor(scope: Construct, id: string, props: EnvWatchFunctionProps) {
    super(scope, id);
    this.service = props.name;
    const logGroup = new LogGroup(this, 'Logs', {
      retention: retentionFor(props.logRetentionDays),
      removalPolicy: props.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const entry = props.entry ?? resolve(ROOT, 'functions', props.name, 'handler.ts');
    this.fn = new NodejsFunction(this, 'Fn', {
      entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: props.tracing === false ? Tracing.DISABLED : Tracing.ACTIVE,
      logGroup,
      description: props.description ?? `EnvWatch ${props.name}`,
      projectRoot: ROOT,
      depsLockFilePath: resolve(ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [ENV.stage]: props.stage,
        [ENV.serviceName]: props.name,
        // Powertools (shared/observability): log lines' `service`, the metrics' `service` dimension, the X-Ray
        // annotation; handler responses never become X-Ray metadata (a receipt or an identity can be in one)
        [ENV.powertoolsServiceName]: props.name,
        [ENV.tracerCaptureResponse]: 'false',
        [ENV.logLevel]: props.stage === 'prod' ? 'info' : 'debug',
        ...props.environment,
      },
      bundling: { ...BUNDLING, assetHash: bundleHash(entry, BUNDLING) },
    });
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason: 'The brief fixes nodejs22.x (the version the suite is tested with); upgrade deliberately.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "Basic execution only writes to this function's own log group; every data grant is an explicit least-privilege statement.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource but *.',
      },
    );
  }

  /**
   * Table access without wildcards: the table and its named indexes, and the data key's exact KMS actions.
   * `append` may only put new items (the audit trail).
   */
  bindTable(table: DataTable, env: EnvName, access: 'read' | 'readwrite' | 'append' = 'read'): this {
    this.fn.addEnvironment(env, table.table.tableName);
    const actions = TABLE_ACTIONS[access];
    const resources = [table.table.tableArn, ...table.indexes.map((i) => `${table.table.tableArn}/index/${i}`)];
    this.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions,
        resources: access === 'append' ? [table.table.tableArn] : resources,
      }),
    );
    const key = table.table.encryptionKey;
    if (key) {
      const keyActions =
        access === 'read'
          ? ['kms:Decrypt', 'kms:DescribeKey']
          : ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];
      this.fn.addToRolePolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: keyActions, resources: [key.keyArn] }),
      );
    }
    return this;
  }

  bindBucket(bucket: IBucket, env: EnvName, access: 'read' | 'readwrite' = 'read'): this {
    this.fn.addEnvironment(env, bucket.bucketName);
    if (access === 'read') bucket.grantRead(this.fn);
    else bucket.grantReadWrite(this.fn);
    return this;
  }

  /** sns:Publish on the topic, and the exact KMS actions its encryption key needs (grantPublish would add `*`). */
  bindTopic(topic: ITopic, env: EnvName): this {
    this.fn.addEnvironment(env, topic.topicArn);
    this.fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['sns:Publish'], resources: [topic.topicArn] }),
    );
    if (topic.masterKey) {
      this.fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [topic.masterKey.keyArn],
        }),
      );
    }
    return this;
  }

  bindKey(key: IKey, env: EnvName, actions: ('kms:Encrypt' | 'kms:Decrypt' | 'kms:GenerateDataKey')[]): this {
    this.fn.addEnvironment(env, key.keyArn);
    this.fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources: [key.keyArn] }));
    return this;
  }
}

/** The shortest CloudWatch retention that keeps logs at least `days`. */
export function retentionFor(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays)
    .filter((v): v is number => typeof v === 'number' && v > 0)
    .sort((a, b) => a - b);
  const match = allowed.find((d) => d >= days) ?? RetentionDays.TEN_YEARS;
  return match as RetentionDays;
}
