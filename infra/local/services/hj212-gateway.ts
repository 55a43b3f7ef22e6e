import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ContainerServiceSpec, LOCAL_REGION, type LocalService } from '#infra/local/spec.ts';
import { COMMAND_FILTER, type CommandFeed } from '../../../gateway/commands.ts';
import { gatewayConfig } from '../../../gateway/config.ts';
import { gatewayKeys } from '../../../gateway/keys.ts';
import { cachedRegistry, dynamoDeviceRegistry, dynamoGatewayLoggers } from '../../../gateway/registry.ts';
import { type Gateway, startGateway } from '../../../gateway/server.ts';
import { localDynamoDbClient } from './dynamodb.ts';

/**
 * Runs the template's HJ 212 gateway container (ECS task definition with ENVWATCH_SERVICE=hj212-gateway) in-process:
 * the same gateway code and the container's own environment (registry table, Basic Ingest topic prefix), with
 * registry lookups against DynamoDB Local and publishes through the local IoT Data Plane facade, which honours
 * `$aws/rules/<rule>/…` Basic Ingest. Differences from the cloud: it listens on the platform's `hj212` port instead of
 * the container port behind an NLB; the registry cache is short (5 s) so devices registered a moment ago connect;
 * its JSON log and metric lines go to `<logDir>/hj212-gateway.log`. Platform commands come through the same topic
 * filter as in the cloud (`envwatch/gateway/cmd/+`), subscribed in-process on the local broker instead of over MQTT.
 */
export interface LocalGatewayService extends LocalService {
  /** tcp://host:port */
  url: string;
  gateway: Gateway;
}

export interface StartLocalGatewayOptions {
  host: string;
  port: number;
  containers: ContainerServiceSpec[];
  dynamodbEndpoint: string;
  iotDataEndpoint: string;
  /** the local broker's in-process subscription, for the gateway's platform commands (gateway/commands.ts) */
  subscribe?: (filter: string, deliver: (topic: string, payload: Buffer) => void) => Promise<() => Promise<void>>;
  /** the local KMS facade (HJ 212-2025 device keys) */
  kmsEndpoint?: string;
  logDir: string;
  log?: (line: string) => void;
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Starts the gateway when the template has one; undefined otherwise. */
export async function startLocalGateway(opts: StartLocalGatewayOptions): Promise<LocalGatewayService | undefined> {
  const specs = opts.containers.filter((c) => c.service === 'hj212-gateway');
  if (specs.length === 0) return undefined;
  if (specs.length > 1) {
    throw new Error(
      `the template has ${specs.length} HJ 212 gateways (${specs.map((s) => s.path).join(', ')}); locally one runs`,
    );
  }
  const spec = specs[0] as ContainerServiceSpec;
  let config: ReturnType<typeof gatewayConfig>;
  try {
    config = gatewayConfig(spec.environment);
  } catch (err) {
    throw new Error(`${spec.path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const db = DynamoDBDocumentClient.from(localDynamoDbClient(opts.dynamodbEndpoint));
  const iot = new IoTDataPlaneClient({ region: LOCAL_REGION, credentials, endpoint: opts.iotDataEndpoint });
  const kms = opts.kmsEndpoint
    ? new KMSClient({ region: LOCAL_REGION, credentials, endpoint: opts.kmsEndpoint })
    : undefined;
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = createWriteStream(join(opts.logDir, 'hj212-gateway.log'), { flags: 'a' });
  const write = (line: string) => logFile.write(`${line}\n`);
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      host: opts.host,
      port: opts.port,
      topicPrefix: config.topicPrefix,
      registry: cachedRegistry(dynamoDeviceRegistry(db, config.registryTable), { ttlMs: 5_000, negativeTtlMs: 2_000 }),
      ...(config.deviceKeys && kms ? { keys: gatewayKeys(db, kms, config.registryTable, config.deviceKeys) } : {}),
      publish: async (topic, payload) => {
        await iot.send(new PublishCommand({ topic, qos: 1, payload: Buffer.from(payload, 'utf8') }));
      },
      log: write,
      logLevel: config.logLevel,
      limits: config.limits,
      ...(config.auditTable ? { loggers: dynamoGatewayLoggers(db, config.registryTable, config.auditTable) } : {}),
      ...(opts.subscribe ? { commands: localCommandFeed(opts.subscribe) } : {}),
    });
  } catch (err) {
    db.destroy();
    iot.destroy();
    kms?.destroy();
    logFile.end();
    throw err;
  }
  const url = `tcp://${opts.host}:${gateway.port}`;
  opts.log?.(`HJ 212 gateway ${url} → ${config.topicPrefix}/<mn> (log: ${join(opts.logDir, 'hj212-gateway.log')})`);
  return {
    name: 'hj212-gateway',
    url,
    gateway,
    stop: async () => {
      await gateway.stop();
      db.destroy();
      iot.destroy();
      kms?.destroy();
      await new Promise<void>((resolve) => logFile.end(() => resolve()));
    },
  };
}

/** The gateway's command feed on the local broker: the same filter, subscribed in-process. */
function localCommandFeed(subscribe: NonNullable<StartLocalGatewayOptions['subscribe']>): CommandFeed {
  let unsubscribe: (() => Promise<void>) | undefined;
  return {
    async start(deliver) {
      unsubscribe = await subscribe(COMMAND_FILTER, deliver);
    },
    async stop() {
      await unsubscribe?.();
    },
  };
}
