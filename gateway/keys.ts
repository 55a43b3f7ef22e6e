import type { KMSClient } from '@aws-sdk/client-kms';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CachingKeyOpener, KmsKeySealer } from '#shared/adapters/kms-key-sealer.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { DEFAULT_KEY_SETTINGS } from '#shared/domain/registry/device-keys.ts';
import { KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import { recordProtocolSeen } from '#shared/domain/registry/protocol-seen.ts';
import type { GatewayKeys } from './connection.ts';

/**
 * The gateway's HJ 212-2025 keys: the registry's key lifecycle (pushes and confirmations written to the device record
 * with their audit entries) over DynamoDB, keys sealed and opened by KMS, opened keys cached in memory for an hour.
 */
export function gatewayKeys(
  db: DynamoDBDocumentClient,
  kms: KMSClient,
  registryTable: string,
  deviceKeys: { keyId: string; auditTable: string },
): GatewayKeys {
  const sealer = new KmsKeySealer(kms, deviceKeys.keyId);
  const store = new DynamoRegistryStore(db, registryTable, deviceKeys.auditTable);
  const lifecycle = new KeyLifecycle(store, sealer);
  const opener = new CachingKeyOpener(sealer, DEFAULT_KEY_SETTINGS);
  return {
    open: (device) => opener.open(device),
    pushIfDue: (mn, link, force) => lifecycle.pushIfDue(mn, link, force),
    confirm: (mn, qn, exeRtn) => lifecycle.confirm(mn, qn, exeRtn),
    settings: DEFAULT_KEY_SETTINGS,
    recordProtocol: (mn, version) => recordProtocolSeen(store, mn, version, new Date()),
  };
}
