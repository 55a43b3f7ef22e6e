import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { KMSClient } from '@aws-sdk/client-kms';
import { IotCommandChannel } from '#shared/adapters/command-channel.ts';
import { DynamoCommandStore, registryCommandDevices } from '#shared/adapters/commands-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import type { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { DEFAULT_KEY_SETTINGS } from '#shared/domain/registry/device-keys.ts';
import { KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';

/**
 * Key pushes from a Lambda (the registry API's on-demand rotation, the scheduled rotation job): the key lifecycle on
 * the registry store with the device-key KMS key (Encrypt to seal a new key, Decrypt to encrypt an MQTT device's push
 * under its current key), and the device-command path (commands on the readings table, IoT Data Plane publish).
 * `now` fixes the clock (the scheduled event's time).
 */
export function keyPushServices(
  store: DynamoRegistryStore,
  tables: { readings: string; audit: string },
  deviceKeysKey: string,
  now?: () => Date,
): { lifecycle: KeyLifecycle; commands: CommandService } {
  const lifecycle = new KeyLifecycle(
    store,
    new KmsKeySealer(new KMSClient({}), deviceKeysKey),
    now,
    DEFAULT_KEY_SETTINGS,
  );
  const commands = new CommandService({
    devices: registryCommandDevices(store),
    store: new DynamoCommandStore(dynamo, tables),
    channel: new IotCommandChannel(new IoTDataPlaneClient({})),
    ...(now ? { now: () => now().getTime() } : {}),
  });
  return { lifecycle, commands };
}
