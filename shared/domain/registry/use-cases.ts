import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import { pollutant } from '#shared/domain/pollutants.ts';
import { hashSecret } from '#shared/domain/secrets.ts';
import { DEFAULT_KEY_SETTINGS, ringView } from './device-keys.ts';
import type { KeyLifecycle } from './key-lifecycle.ts';
import {
  type Device,
  type DeviceInput,
  type DeviceRegistration,
  type Enterprise,
  type IssuedCertificate,
  type Outlet,
  type StoredDevice,
  type Township,
  transportOf,
} from './model.ts';
import type { Actor, DeviceOnboarding } from './onboarding.ts';
import {
  type ListQuery,
  type Page,
  type ParentKey,
  REGISTRY_KIND_LABELS,
  type RegistryKind,
  type RegistryStore,
  type Versioned,
} from './store.ts';

/**
 * Registry use-cases. Each create or replace:
 *  1. checks the references (an enterprise's township, an outlet's enterprise, a device's outlet) exist and agree;
 *  2. derives stored fields (a device's password hash, kept when no new password is given; its transport; its IoT
 *     record, which only onboarding changes);
 *  3. writes the item and its audit entry in one transaction (the store does that).
 * With `onboarding` (the registry API), an MQTT device is registered with its first certificate, and a replace that
 * retires a device or moves it off MQTT deactivates and detaches its certificates first (onboarding.ts). Without it
 * (the seed), an MQTT device is stored without a certificate and gets one through the API.
 * Reads never return a device's password hash.
 */
const MEDIUM_ZH: Record<string, string> = { water: '废水', air: '废气' };

export type { Actor };

export type RegistryEntity = Township | Enterprise | Outlet | Device;

export class RegistryService {
  constructor(
    private readonly store: RegistryStore,
    private readonly now: () => Date = () => new Date(),
    private readonly hash: (secret: string) => Promise<string> = hashSecret,
    private readonly onboarding?: DeviceOnboarding,
    private readonly keys?: KeyLifecycle,
  ) {}

  async get(kind: RegistryKind, id: string): Promise<Versioned<RegistryEntity>> {
    const found = await this.store.get<RegistryEntity>(kind, id);
    if (!found) throw new NotFoundError(`${kind} ${id} does not exist (${REGISTRY_KIND_LABELS[kind]} ${id} 不存在)`);
    return publicView(kind, found);
  }

  async list(kind: RegistryKind, query: ListQuery): Promise<Page<Versioned<RegistryEntity>>> {
    const page = await this.store.list<RegistryEntity>(kind, query);
    return { ...page, items: page.items.map((v) => publicView(kind, v)) };
  }

  /** The stored device, hash included: for the HJ 212 gateway's authentication only, never for an API answer. */
  async deviceForAuthentication(mn: string): Promise<StoredDevice | undefined> {
    return (await this.store.get<StoredDevice>('devices', mn))?.item;
  }

  async create(
    kind: RegistryKind,
    input: RegistryEntity | DeviceRegistration,
    actor: Actor,
  ): Promise<Versioned<RegistryEntity> & { certificate?: IssuedCertificate }> {
    const { id, item, parent } = await this.prepare(kind, input, undefined);
    if (kind === 'devices') {
      const device = item as StoredDevice;
      const { csr, sm4Key } = input as DeviceRegistration;
      if (sm4Key !== undefined) {
        // HJ 212-2025 encryption: the installer's key, checked and sealed before anything is stored
        if (!this.keys)
          throw new ValidationError('SM4 keys are entered through the registry API (SM4 密钥须经名录接口录入)', [
            { field: 'body.sm4Key', message: 'not accepted here', messageZh: '此处不接受密钥' },
          ]);
        device.sm4 = await this.keys.initialRing(device.mn, sm4Key);
      }
      if (this.onboarding && transportOf(device) === 'mqtt') {
        const { device: stored, certificate } = await this.onboarding.register(device, csr, actor);
        return { ...publicView(kind, stored), certificate };
      }
      if (csr !== undefined)
        throw new ValidationError('certificates are issued through the registry API (证书须经名录接口签发)', [
          { field: 'body.csr', message: 'not accepted here', messageZh: '此处不接受证书签名请求' },
        ]);
    }
    const created = await this.store.create(kind, id, item, parent, this.audit(actor, 'registry.create', kind, id));
    return publicView(kind, created);
  }

  async replace(
    kind: RegistryKind,
    id: string,
    input: RegistryEntity | DeviceInput,
    expectedVersion: number | undefined,
    actor: Actor,
  ) {
    if (idOf(kind, input) !== id) {
      throw new ValidationError('the id in the path and the body differ (路径与请求内容中的编号不一致)', [
        { field: 'body.id', message: `must be ${id}`, messageZh: `应为 ${id}（与路径中的编号一致）` },
      ]);
    }
    const existing = await this.store.get<RegistryEntity | StoredDevice>(kind, id);
    if (!existing) throw new NotFoundError(`${kind} ${id} does not exist (${REGISTRY_KIND_LABELS[kind]} ${id} 不存在)`);
    if (expectedVersion !== undefined && expectedVersion !== existing.version) {
      throw new PreconditionFailedError(
        `${kind} ${id} is at version ${existing.version}, not ${expectedVersion} (已被他人修改：当前版本 ${existing.version}，而非 ${expectedVersion})`,
      );
    }
    const { item, parent } = await this.prepare(kind, input, existing.item);
    if (kind === 'devices' && this.onboarding) {
      const device = item as StoredDevice;
      const iot = await this.onboarding.retireForReplace(device, device.iot, actor);
      if (iot) device.iot = iot;
    }
    const replaced = await this.store.replace(
      kind,
      id,
      item,
      parent,
      expectedVersion,
      this.audit(actor, 'registry.replace', kind, id),
    );
    return publicView(kind, replaced);
  }

  private audit(actor: Actor, action: string, kind: RegistryKind, id: string) {
    return { actor: actor.sub, action, entity: `${kind}/${id}`, at: this.now().toISOString() };
  }

  private async requireExisting<T>(kind: RegistryKind, id: string, field: string): Promise<T> {
    const found = await this.store.get<T>(kind, id);
    if (!found)
      throw new ValidationError(
        `${field} refers to a missing ${kind} entry (所引用的${REGISTRY_KIND_LABELS[kind]}不存在)`,
        [{ field, message: `${kind} ${id} does not exist`, messageZh: `${REGISTRY_KIND_LABELS[kind]} ${id} 不存在` }],
      );
    return found.item;
  }

  private async prepare(
    kind: RegistryKind,
    input: RegistryEntity | DeviceRegistration,
    existing: RegistryEntity | StoredDevice | undefined,
  ): Promise<{ id: string; item: RegistryEntity | StoredDevice; parent: ParentKey | undefined }> {
    switch (kind) {
      case 'townships': {
        const t = input as Township;
        return { id: t.id, item: t, parent: undefined };
      }
      case 'enterprises': {
        const e = input as Enterprise;
        await this.requireExisting('townships', e.townshipId, 'body.townshipId');
        return { id: e.id, item: e, parent: { kind: 'townships', id: e.townshipId } };
      }
      case 'outlets': {
        const o = input as Outlet;
        await this.requireExisting('enterprises', o.enterpriseId, 'body.enterpriseId');
        return { id: o.id, item: o, parent: { kind: 'enterprises', id: o.enterpriseId } };
      }
      case 'devices': {
        const {
          password,
          csr: _csr,
          sm4Key: _key,
          sm4: _view,
          protocolSeen: _seen,
          logger: _logger,
          ...fields
        } = input as DeviceRegistration & Pick<Device, 'sm4' | 'protocolSeen' | 'logger'>;
        const previous = existing as StoredDevice | undefined;
        const device: StoredDevice = {
          ...fields,
          transport: transportOf(fields),
          ...(previous?.iot ? { iot: previous.iot } : {}),
          // set by the platform only: the keys (key-lifecycle.ts) and the version last seen are kept as they are
          ...(previous?.sm4 ? { sm4: previous.sm4 } : {}),
          ...(previous?.protocolSeen ? { protocolSeen: previous.protocolSeen } : {}),
          ...(previous?.logger ? { logger: previous.logger } : {}),
          passwordHash: '',
        };
        const outlet = await this.requireExisting<Outlet>('outlets', device.outletId, 'body.outletId');
        if (outlet.enterpriseId !== device.enterpriseId) {
          throw new ValidationError('the outlet belongs to another enterprise (排放口属于其他单位)', [
            {
              field: 'body.outletId',
              message: `outlet ${outlet.id} belongs to ${outlet.enterpriseId}`,
              messageZh: `排放口 ${outlet.id} 属于单位 ${outlet.enterpriseId}`,
            },
          ]);
        }
        const wrongMedium = device.pollutants
          .map((code, i) => ({ code, i, medium: pollutant(code)?.medium }))
          .filter((p) => p.medium !== undefined && p.medium !== outlet.medium);
        if (wrongMedium.length > 0) {
          throw new ValidationError(
            'pollutants do not match the outlet medium (监测因子与排放口类型不符)',
            wrongMedium.map((p) => ({
              field: `body.pollutants.${p.i}`,
              message: `${p.code} is a ${p.medium} code; outlet ${outlet.id} is ${outlet.medium}`,
              messageZh: `${p.code} 是${MEDIUM_ZH[p.medium as string] ?? p.medium}因子，排放口 ${outlet.id} 是${MEDIUM_ZH[outlet.medium]}排放口`,
            })),
          );
        }
        const previousHash = (existing as StoredDevice | undefined)?.passwordHash;
        if (!password && !previousHash) {
          throw new ValidationError('a new device needs its access password (新设备须设置接入密码)', [
            { field: 'body.password', message: 'required', messageZh: '必填：新设备须设置接入密码' },
          ]);
        }
        const passwordHash = password ? await this.hash(password) : (previousHash as string);
        return {
          id: device.mn,
          item: { ...device, passwordHash },
          parent: { kind: 'enterprises', id: device.enterpriseId },
        };
      }
      case 'loggers':
        // pending loggers are written by the gateway and the assignment only (loggers.ts)
        throw new ConflictError('pending loggers are reported by the loggers themselves (待分配数采仪由设备自行上报)');
    }
  }
}

export function idOf(kind: RegistryKind, item: RegistryEntity | DeviceInput): string {
  return kind === 'devices' ? (item as Device).mn : (item as { id: string }).id;
}

function publicView<T>(kind: RegistryKind, v: Versioned<T>): Versioned<T> {
  if (kind !== 'devices') return v;
  const { passwordHash: _hidden, sm4, ...rest } = v.item as T & Pick<StoredDevice, 'passwordHash' | 'sm4'>;
  const keys = ringView(sm4, DEFAULT_KEY_SETTINGS);
  return { ...v, item: (keys ? { ...rest, sm4: keys } : rest) as T };
}
