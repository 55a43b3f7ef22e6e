import { NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import { pollutant } from '#shared/domain/pollutants.ts';
import { hashSecret } from '#shared/domain/secrets.ts';
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
import type { ListQuery, Page, ParentKey, RegistryKind, RegistryStore, Versioned } from './store.ts';

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
export type { Actor };

export type RegistryEntity = Township | Enterprise | Outlet | Device;

export class RegistryService {
  constructor(
    private readonly store: RegistryStore,
    private readonly now: () => Date = () => new Date(),
    private readonly hash: (secret: string) => Promise<string> = hashSecret,
    private readonly onboarding?: DeviceOnboarding,
  ) {}

  async get(kind: RegistryKind, id: string): Promise<Versioned<RegistryEntity>> {
    const found = await this.store.get<RegistryEntity>(kind, id);
    if (!found) throw new NotFoundError(`${kind} ${id} does not exist`);
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
      const { csr } = input as DeviceRegistration;
      if (this.onboarding && transportOf(device) === 'mqtt') {
        const { device: stored, certificate } = await this.onboarding.register(device, csr, actor);
        return { ...publicView(kind, stored), certificate };
      }
      if (csr !== undefined)
        throw new ValidationError('certificates are issued through the registry API', [
          { field: 'body.csr', message: 'not accepted here' },
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
      throw new ValidationError('the id in the path and the body differ', [
        { field: 'body.id', message: `must be ${id}` },
      ]);
    }
    const existing = await this.store.get<RegistryEntity | StoredDevice>(kind, id);
    if (!existing) throw new NotFoundError(`${kind} ${id} does not exist`);
    if (expectedVersion !== undefined && expectedVersion !== existing.version) {
      throw new PreconditionFailedError(`${kind} ${id} is at version ${existing.version}, not ${expectedVersion}`);
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
      throw new ValidationError(`${field} refers to a missing ${kind} entry`, [
        { field, message: `${kind} ${id} does not exist` },
      ]);
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
        const { password, csr: _csr, ...fields } = input as DeviceRegistration;
        const previous = existing as StoredDevice | undefined;
        const device: Device = {
          ...fields,
          transport: transportOf(fields),
          ...(previous?.iot ? { iot: previous.iot } : {}),
        };
        const outlet = await this.requireExisting<Outlet>('outlets', device.outletId, 'body.outletId');
        if (outlet.enterpriseId !== device.enterpriseId) {
          throw new ValidationError('the outlet belongs to another enterprise', [
            { field: 'body.outletId', message: `outlet ${outlet.id} belongs to ${outlet.enterpriseId}` },
          ]);
        }
        const wrongMedium = device.pollutants
          .map((code, i) => ({ code, i, medium: pollutant(code)?.medium }))
          .filter((p) => p.medium !== undefined && p.medium !== outlet.medium);
        if (wrongMedium.length > 0) {
          throw new ValidationError(
            'pollutants do not match the outlet medium',
            wrongMedium.map((p) => ({
              field: `body.pollutants.${p.i}`,
              message: `${p.code} is a ${p.medium} code; outlet ${outlet.id} is ${outlet.medium}`,
            })),
          );
        }
        const previousHash = (existing as StoredDevice | undefined)?.passwordHash;
        if (!password && !previousHash) {
          throw new ValidationError('a new device needs its access password', [
            { field: 'body.password', message: 'required' },
          ]);
        }
        const passwordHash = password ? await this.hash(password) : (previousHash as string);
        return {
          id: device.mn,
          item: { ...device, passwordHash },
          parent: { kind: 'enterprises', id: device.enterpriseId },
        };
      }
    }
  }
}

export function idOf(kind: RegistryKind, item: RegistryEntity | DeviceInput): string {
  return kind === 'devices' ? (item as Device).mn : (item as { id: string }).id;
}

function publicView<T>(kind: RegistryKind, v: Versioned<T>): Versioned<T> {
  if (kind !== 'devices') return v;
  const { passwordHash: _hidden, ...rest } = v.item as T & { passwordHash?: string };
  return { ...v, item: rest as T };
}
