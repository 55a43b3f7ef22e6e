import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WEB_API_STAGE } from '#infra/constructs/http-api.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { ENV } from '#shared/config/env-names.ts';
import { seedRegistry } from '#shared/domain/registry/seed.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { consoleFallback } from '#web/cache.ts';
import { asyncInvoker } from './async-invoke.ts';
import { loadOrCreateKeys } from './jwt.ts';
import { LambdaRuntime } from './lambda-runtime.ts';
import { localPages, webConfig } from './pages.ts';
import { freePorts, type PlatformPorts } from './ports.ts';
import { ensureTables, localDynamoDbClient, startDynamoDb } from './services/dynamodb.ts';
import { startLocalGateway } from './services/hj212-gateway.ts';
import { startHttpGateway } from './services/http-gateway.ts';
import { startIot } from './services/iot.ts';
import { startKms } from './services/kms.ts';
import { startMessaging } from './services/messaging.ts';
import { startOidc } from './services/oidc.ts';
import { LOCAL_S3_SDK_ENV, startS3 } from './services/s3.ts';
import { startScheduler } from './services/scheduler.ts';
import { startStepFunctions } from './services/stepfunctions.ts';
import { LOCAL_REGION, type LocalService, type PlatformSpec, scheduledOnly } from './spec.ts';
import { deriveSpec } from './template.ts';

/**
 * The embedded local platform: everything derived from a synthesized cloud assembly, started in dependency order,
 * stopped in reverse. Data lives under `dataDir`, so a restart loses nothing.
 */
export interface PlatformOptions {
  cdkOut: string;
  dataDir: string;
  host?: string;
  /** fixed ports; free ones when omitted */
  ports?: PlatformPorts;
  /** seed the Qingyuan registry when the template has a registry table (default true) */
  seed?: boolean;
  /** divide workflow waits and timeouts (tests) */
  timeScale?: number;
  /**
   * the Step Functions maximum execution time in seconds (default one year, as a Standard workflow on AWS): an
   * execution running longer ends TIMED_OUT with `States.Timeout`; tests shorten it
   */
  maxExecutionSeconds?: number;
  /** static web root served at / (default: the web hosting's built site from the assembly) */
  webDir?: string;
  /**
   * Also listen for plain MQTT without authentication, for debugging (`npm start -- --plain-mqtt`). Off by default:
   * IoT Core has no plain MQTT, and devices connect over TLS with their certificate.
   */
  plainMqtt?: boolean;
  /**
   * warm execution environments (worker threads) per function, at most (default 4): Lambda scales a function out
   * much further; locally each one is a worker thread on the same cores (`ENVWATCH_LAMBDA_CONCURRENCY` for `npm start`)
   */
  lambdaConcurrency?: number;
  /**
   * The nice value of the batch jobs' workers (functions only schedules invoke; default 10, 0 = as every function):
   * `ENVWATCH_LAMBDA_BACKGROUND_NICE` for `npm start`. See LambdaRuntimeOptions.background.
   */
  backgroundNice?: number;
  /**
   * DynamoDB Local keeps its tables in memory, lost at stop (default: on disk under dataDir, synced on every write,
   * which caps the local pipeline's messages per second: bench ingestCpu). Load runs (`npm start -- --in-memory`).
   */
  dynamodbInMemory?: boolean;
  log?: (line: string) => void;
}

export interface Endpoints {
  web: string;
  api: string;
  /** the issuer the template names (tokens from `npm run token`) and the local OIDC provider that stands in for it */
  auth: { issuer: string; audience: string; oidc: string };
  /** MQTT over TLS with client certificates, `mqtts://host:port` (devices connect here, as to IoT Core) */
  mqtts: string;
  /** the local CA's certificate (PEM file): what MQTT clients trust to verify the broker */
  mqttCa: string;
  /** plain MQTT without authentication: only with `plainMqtt` (debugging) */
  mqtt?: string;
  /** the IoT control plane (things, certificates, policies), AWS_ENDPOINT_URL_IOT */
  iot: string;
  iotData: string;
  /** HJ 212 TCP gateway, `tcp://host:port`, when the template has one */
  hj212?: string;
  dynamodb: string;
  s3: string;
  kms: string;
  sns: string;
  sqs: string;
  stepfunctions: string;
  pages: { overview: string; messages: string; executions: string; schedules: string };
  dataDir: string;
  logs: string;
  startedAt: string;
}

export interface Platform {
  endpoints: Endpoints;
  spec: PlatformSpec;
  runtime: LambdaRuntime;
  /** environment that points AWS SDK clients (and the CLI) at the local stand-ins */
  sdkEnv: Record<string, string>;
  stop(): Promise<void>;
}

export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const ports = opts.ports ?? (await freePorts(host));
  const url = (port: number) => `http://${host}:${port}`;
  const base = {
    http: url(ports.http),
    sqs: url(ports.messaging),
  };
  const spec = deriveSpec(opts.cdkOut, base);

  const started: LocalService[] = [];
  const stopAll = async () => {
    for (const s of [...started].reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log(`stopping ${s.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  try {
    const dynamodb = await startDynamoDb({
      host,
      port: ports.dynamodb,
      dataDir,
      log,
      ...(opts.dynamodbInMemory ? { inMemory: true } : {}),
    });
    started.push(dynamodb);
    await ensureTables(dynamodb.endpoint, spec.tables, log);

    const s3 = await startS3({ host, port: ports.s3, dataDir, buckets: spec.buckets, log });
    started.push(s3);

    const kms = await startKms({ host, port: ports.kms, dataDir, keys: spec.keys ?? [], log });
    started.push(kms);

    const sdkEnv: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ENDPOINT_URL_SNS: url(ports.messaging),
      AWS_ENDPOINT_URL_SQS: url(ports.messaging),
      AWS_ENDPOINT_URL_SFN: url(ports.stepfunctions),
      AWS_ENDPOINT_URL_IOT_DATA_PLANE: url(ports.iotData),
      AWS_ENDPOINT_URL_IOT: url(ports.iot),
      AWS_S3_FORCE_PATH_STYLE: 'true',
      ENVWATCH_LOCAL: 'true',
      // the same bundles as in AWS, but no X-Ray daemon here: the Powertools Tracer stays off
      [ENV.traceEnabled]: 'false',
      ...LOCAL_S3_SDK_ENV,
    };
    const logs = join(dataDir, 'logs');
    const runtime = new LambdaRuntime({
      functions: spec.functions,
      baseEnv: sdkEnv,
      logDir: logs,
      ...(opts.lambdaConcurrency !== undefined ? { maxConcurrency: opts.lambdaConcurrency } : {}),
      background: scheduledOnly(spec),
      ...(opts.backgroundNice !== undefined ? { backgroundNice: opts.backgroundNice } : {}),
    });
    started.push({ name: 'lambda', stop: () => runtime.stop() });
    const invoke = runtime.invoke;

    const messaging = await startMessaging({
      host,
      port: ports.messaging,
      dataDir,
      topics: spec.topics,
      queues: spec.queues,
      subscriptions: spec.subscriptions,
      eventSourceMappings: spec.eventSourceMappings,
      invoke,
      log,
    });
    started.push(messaging);

    const stepfunctions = await startStepFunctions({
      host,
      port: ports.stepfunctions,
      dataDir,
      stateMachines: spec.stateMachines,
      invoke,
      awsEndpoints: { sns: messaging.endpoint, sqs: messaging.endpoint, dynamodb: dynamodb.endpoint },
      ...(opts.timeScale ? { timeScale: opts.timeScale } : {}),
      ...(opts.maxExecutionSeconds ? { maxExecutionSeconds: opts.maxExecutionSeconds } : {}),
      log,
    });
    started.push(stepfunctions);

    // IoT rules invoke Lambda asynchronously: retries and on-failure destinations as the template configures them
    const asyncInvoke = asyncInvoker({
      configs: spec.asyncInvokeConfigs ?? [],
      invoke,
      sqsEndpoint: messaging.endpoint,
      log,
    });
    started.push({ name: 'lambda-async', stop: () => asyncInvoke.close() });

    const iot = await startIot({
      host,
      ...(opts.plainMqtt ? { mqttPort: ports.mqtt } : {}),
      identity: { mqttsPort: ports.mqtts, controlPlanePort: ports.iot, dataDir, policies: spec.iotPolicies ?? [] },
      dataPlanePort: ports.iotData,
      rules: spec.topicRules,
      invoke: asyncInvoke.invoke,
      awsEndpoints: { sqs: messaging.endpoint, sns: messaging.endpoint },
      log,
    });
    started.push(iot);

    const hj212 = await startLocalGateway({
      host,
      port: ports.hj212,
      containers: spec.containers ?? [],
      dynamodbEndpoint: dynamodb.endpoint,
      iotDataEndpoint: iot.dataPlaneEndpoint,
      subscribe: (filter, deliver) => iot.subscribe(filter, deliver),
      kmsEndpoint: kms.endpoint,
      logDir: join(dataDir, 'logs'),
      log,
    });
    if (hj212) started.push(hj212);

    const scheduler = startScheduler({
      schedules: spec.schedules,
      invoke,
      ...(opts.timeScale ? { timeScale: opts.timeScale } : {}),
      log,
    });
    started.push(scheduler);

    const firstAuth = spec.apis.flatMap((a) => a.routes).find((r) => r.authorizer)?.authorizer;
    const auth = {
      issuer: firstAuth?.issuer ?? `${url(ports.http)}/_local/auth`,
      audience: firstAuth?.audience[0] ?? 'envwatch-console',
    };
    let endpoints: Endpoints | undefined;
    const jwtKeys = await loadOrCreateKeys(dataDir);
    const webDir = opts.webDir ?? spec.webRoot;
    const oidc = await startOidc({
      host,
      port: ports.oidc,
      keys: jwtKeys,
      audience: auth.audience,
      webOrigin: url(ports.http),
      log,
    });
    started.push(oidc);
    const gateway = await startHttpGateway({
      host,
      port: ports.http,
      apis: spec.apis,
      invoke,
      jwtKeys,
      localIssuer: oidc.issuer,
      ...(webDir ? { staticDirs: [{ prefix: '/', dir: webDir }], staticRewrite: consoleFallback } : {}),
      extraHandlers: [
        localPages({ endpoints: () => ({ ...endpoints }), messaging, stepfunctions, scheduler, lambdas: runtime }),
        webConfig({
          apiBase: `/${WEB_API_STAGE}`,
          login: { issuer: oidc.issuer, clientId: oidc.clientId },
          routerMode: 'history',
        }),
      ],
      log,
    });
    started.push(gateway);

    const ready: Endpoints = {
      web: `${gateway.url}/`,
      api: gateway.url,
      auth: { ...auth, oidc: oidc.issuer },
      mqtts: iot.mqttsUrl as string,
      mqttCa: iot.caFile as string,
      ...(iot.mqttUrl ? { mqtt: iot.mqttUrl } : {}),
      iot: iot.controlPlaneEndpoint as string,
      iotData: iot.dataPlaneEndpoint,
      ...(hj212 ? { hj212: hj212.url } : {}),
      dynamodb: dynamodb.endpoint,
      s3: s3.endpoint,
      kms: kms.endpoint,
      sns: messaging.endpoint,
      sqs: messaging.endpoint,
      stepfunctions: stepfunctions.endpoint,
      pages: {
        overview: `${gateway.url}/_local/`,
        messages: `${gateway.url}/_local/messages`,
        executions: `${gateway.url}/_local/executions`,
        schedules: `${gateway.url}/_local/schedules`,
      },
      dataDir,
      logs,
      startedAt: new Date().toISOString(),
    };
    endpoints = ready;

    if (opts.seed !== false) await seed(spec, dynamodb.endpoint, log);
    writeFileSync(join(dataDir, 'endpoints.json'), `${JSON.stringify(ready, null, 2)}\n`);

    return { endpoints: ready, spec, runtime, sdkEnv, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Seeds the registry when the template wires a function to registry and audit tables. */
async function seed(spec: PlatformSpec, endpoint: string, log: (l: string) => void): Promise<void> {
  const env = spec.functions.map((f) => f.environment).find((e) => e[ENV.registryTable] && e[ENV.auditTable]);
  if (!env) return;
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(endpoint), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const registry = new RegistryService(
    new DynamoRegistryStore(db, env[ENV.registryTable] as string, env[ENV.auditTable] as string),
  );
  const { created, kept } = await seedRegistry(registry);
  log(`registry seed: ${created} created, ${kept} already present`);
  db.destroy();
}
