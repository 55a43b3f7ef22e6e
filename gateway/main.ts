import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeEndpointCommand, IoTClient } from '@aws-sdk/client-iot';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLogger } from '#shared/observability/logger.ts';
import type { CommandFeed } from './commands.ts';
import { gatewayConfig } from './config.ts';
import { iotCommandFeed } from './iot-feed.ts';
import { gatewayKeys } from './keys.ts';
import { cachedRegistry, dynamoDeviceRegistry, dynamoGatewayLoggers } from './registry.ts';
import { startGateway } from './server.ts';

/**
 * Container entry point of the HJ 212 gateway (ECS Fargate). Reads its configuration from the environment (fails
 * fast), builds the real adapters — the registry on DynamoDB behind a TTL cache, IoT Core Basic Ingest through
 * `PublishCommand`, the command feed on IoT Core (iot-feed.ts) — and runs until SIGTERM/SIGINT, when it drains
 * connections (ECS allows `stopTimeout` for that).
 * Clients are `new X({})`: credentials from the task role, endpoints redirectable with AWS_ENDPOINT_URL_DYNAMODB and
 * AWS_ENDPOINT_URL_IOT_DATA_PLANE. Logs and EMF metric lines go to stdout (the awslogs driver ships them).
 */
const write = (line: string) => process.stdout.write(`${line}\n`);
const log = createLogger('hj212-gateway', 'info', write);

async function main() {
  const config = gatewayConfig(process.env);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const iot = new IoTDataPlaneClient({});
  const commands = await commandFeed(iot);
  const kms = new KMSClient({});
  const gateway = await startGateway({
    host: '0.0.0.0',
    port: config.port,
    topicPrefix: config.topicPrefix,
    registry: cachedRegistry(dynamoDeviceRegistry(db, config.registryTable)),
    ...(config.deviceKeys ? { keys: gatewayKeys(db, kms, config.registryTable, config.deviceKeys) } : {}),
    publish: async (topic, payload) => {
      await iot.send(new PublishCommand({ topic, qos: 1, payload: Buffer.from(payload, 'utf8') }));
    },
    log: write,
    logLevel: config.logLevel,
    limits: config.limits,
    ...(config.auditTable ? { loggers: dynamoGatewayLoggers(db, config.registryTable, config.auditTable) } : {}),
    ...(commands ? { commands } : {}),
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await gateway.stop();
    db.destroy();
    iot.destroy();
    kms.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * Platform commands for the devices connected to this task (commands.ts), over MQTT to the account's IoT Core ATS
 * endpoint with the task role's credentials. Without it the gateway still carries data: a failure here is logged.
 */
async function commandFeed(iot: IoTDataPlaneClient): Promise<CommandFeed | undefined> {
  const control = new IoTClient({});
  try {
    const out = await control.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));
    if (!out.endpointAddress) throw new Error('no iot:Data-ATS endpoint');
    return iotCommandFeed({
      endpoint: out.endpointAddress,
      region: await iot.config.region(),
      credentials: () => iot.config.credentials(),
      logger: log,
    });
  } catch (err) {
    log.error('command feed unavailable: commands will not reach devices on this task', { error: err });
    return undefined;
  } finally {
    control.destroy();
  }
}

main().catch((err: unknown) => {
  log.error('gateway failed to start', { error: err });
  process.exit(1);
});
