import type { ProtocolVersion } from '#shared/domain/hj212/types.ts';
import type { StoredDevice } from './model.ts';
import type { RegistryStore } from './store.ts';

/**
 * Records on the device the HJ 212 version of its latest accepted packet when it changes (a logger upgraded in place
 * from 2017 to 2025, or rolled back): the version belongs to each packet, the record says what the device last used.
 * One conditional write with its audit entry per change; nothing when the version is the one recorded.
 */
export async function recordProtocolSeen(
  store: Pick<RegistryStore, 'get' | 'replace'>,
  mn: string,
  version: ProtocolVersion,
  now: Date,
): Promise<boolean> {
  const found = await store.get<StoredDevice>('devices', mn);
  if (!found || found.item.protocolSeen?.version === version) return false;
  const at = now.toISOString();
  const from = found.item.protocolSeen?.version;
  await store.replace(
    'devices',
    mn,
    { ...found.item, protocolSeen: { version, at } },
    { kind: 'enterprises', id: found.item.enterpriseId },
    found.version,
    {
      actor: 'hj212-gateway',
      action: 'registry.device.protocol-seen',
      entity: `devices/${mn}`,
      at,
      detail: { version, ...(from ? { from } : {}) },
    },
  );
  return true;
}
