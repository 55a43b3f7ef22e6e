import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLogger } from '#shared/observability/logger.ts';
import { gatewayConfig } from './config.ts';
import { cachedRegistry, dynamoDeviceRegistry } from './registry.ts';
import { startGateway } from './server.ts';

/**
 * Container entry point of the HJ 212 gateway (ECS Fargate). Reads its configuration from the environment (fails
 * fast), builds the real adapters — the registry on DynamoDB behind a TTL cache, IoT Core Basic Ingest through
 * `PublishCommand` — and runs until SIGTERM/SIGINT, when it drains connections (ECS allows `stopTimeout` for that).
 * Clients are `new X({})`: credentials from the task role, endpoints redirectable with AWS_ENDPOINT_URL_DYNAMODB and
 * AWS_ENDPOINT_URL_IOT_DATA_PLANE. Logs and EMF metric lines go to stdout (the awslogs driver ships them).
 */
const write = (line: string) => process.stdout.write(`${line}\n`);
const log = createLogger('hj212-gateway', 'info', write);

async function main() {
  const config = gatewayConfig(process.env);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const iot = new IoTDataPlaneClient({});
  const gateway = await startGateway({
    host: '0.0.0.0',
    port: config.port,
    topicPrefix: config.topicPrefix,
    registry: cachedRegistry(dynamoDeviceRegistry(db, config.registryTable)),
    publish: async (topic, payload) => {
      await iot.send(new PublishCommand({ topic, qos: 1, payload: Buffer.from(payload, 'utf8') }));
    },
    log: write,
    logLevel: config.logLevel,
    limits: config.limits,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    await gateway.stop();
    db.destroy();
    iot.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  log.error('gateway failed to start', { error: err });
  process.exit(1);
});
