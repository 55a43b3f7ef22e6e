import type { KMSClient } from '@aws-sdk/client-kms';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoCommandStore, registryCommandDevices } from '#shared/adapters/commands-store.ts';
import { CachingKeyOpener, KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { DEFAULT_KEY_SETTINGS } from '#shared/domain/registry/device-keys.ts';
import { KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import { recordProtocolSeen } from '#shared/domain/registry/protocol-seen.ts';
import type { GatewayKeys } from './connection.ts';

/**
 * The gateway's HJ 212-2025 keys: the registry's key lifecycle (pushes and confirmations written to the device record
 * with their audit entries) over DynamoDB, keys sealed and opened by KMS, opened keys cached in memory for an hour.
 * A push the gateway starts (a device's key request, a due rotation) is a device command like the platform's: stored
 * with its QN on the commands table and handed to this task's command router.
 */
export function gatewayKeys(
  db: DynamoDBDocumentClient,
  kms: KMSClient,
  registryTable: string,
  deviceKeys: { keyId: string; auditTable: string; commandsTable: string },
): GatewayKeys {
  const sealer = new KmsKeySealer(kms, deviceKeys.keyId);
  const store = new DynamoRegistryStore(db, registryTable, deviceKeys.auditTable);
  const lifecycle = new KeyLifecycle(store, sealer);
  const opener = new CachingKeyOpener(sealer, DEFAULT_KEY_SETTINGS);
  const commandStore = new DynamoCommandStore(db, { readings: deviceKeys.commandsTable, audit: deviceKeys.auditTable });
  const devices = registryCommandDevices(store);
  return {
    open: (device) => opener.open(device),
    pushIfDue: (mn, channel, force, form) =>
      lifecycle.pushIfDue(
        mn,
        new CommandService({ devices, store: commandStore, channel }),
        force,
        { sub: 'system:key-rotation' },
        form,
      ),
    pushFrame: (c, pw, form) => lifecycle.pushFrame(c, pw, form),
    confirm: (mn, qn, exeRtn) => lifecycle.confirm(mn, qn, exeRtn),
    settings: DEFAULT_KEY_SETTINGS,
    recordProtocol: (mn, version) => recordProtocolSeen(store, mn, version, new Date()),
  };
}
