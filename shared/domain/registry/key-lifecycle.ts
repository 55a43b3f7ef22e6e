import { ConflictError, NotFoundError, ValidationError } from '#shared/domain/errors.ts';
import { encodeEncryptedFrame, encodeSegment, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import {
  currentOf,
  DEFAULT_KEY_SETTINGS,
  type DeviceKeyRing,
  decryptionOrder,
  generateKeyText,
  type KeySettings,
  type KeySource,
  keyBytes,
  keyProblem,
  pendingOf,
  pushDue,
  type SealedKeyVersion,
} from './device-keys.ts';
import type { StoredDevice } from './model.ts';
import type { AuditEntry, RegistryStore, Versioned } from './store.ts';

/**
 * The key lifecycle of HJ 212-2025 devices (device-keys.ts; docs/devices.md §2.2). Every change is written to the
 * device record with its audit entry in one transaction (the registry store), conditional on the record's version, so
 * two gateways handling one device cannot both rotate it. Keys travel only sealed (KeySealer: KMS) in records and
 * audit entries name versions, never key material.
 *
 *  - enroll: the installer's key at registration (patterned or fixed keys refused) becomes version 1, current.
 *  - push: a new key, generated here, stored `pending` with the QN of its CN 1014 and then sent to the device
 *    encrypted under its current key (DeviceLink); a device's own key request (CN 1014 F→H), the 90-day schedule and an
 *    administrator's request all come here.
 *  - confirm: the device's 9012 for that QN makes the pending key current (ExeRtn=1) and the old one `previous`,
 *    which opens packets for the grace window and archived packets forever; another ExeRtn marks the push failed.
 *  - requestRotation: an administrator asks for a new key now; the gateway pushes it when it next hears from the device.
 *  - openKeys: the keys that open the device's packets now, in order (decryptionOrder), opened by the sealer.
 */
export interface KeySealer {
  /** seals the key bytes under the device-key KMS key, bound to the device and version (encryption context) */
  seal(mn: string, version: number, key: Uint8Array): Promise<string>;
  open(mn: string, version: number, sealed: string): Promise<Uint8Array>;
}

/** Sends a frame to the device now; false when it cannot be reached (not connected here). */
export interface DeviceLink {
  sendToDevice(mn: string, frame: Buffer): Promise<boolean>;
}

export interface KeyActor {
  sub: string;
}

export type KeyPush = { version: number; qn: string; delivered: boolean; source: KeySource };

type DeviceWithKeys = StoredDevice;

export class KeyLifecycle {
  constructor(
    private readonly store: Pick<RegistryStore, 'get' | 'replace'>,
    private readonly sealer: KeySealer,
    private readonly now: () => Date = () => new Date(),
    private readonly settings: KeySettings = DEFAULT_KEY_SETTINGS,
    private readonly newKey: () => string = generateKeyText,
  ) {}

  /**
   * The ring of a device registered as encrypting, from the installer's key: refused when patterned or fixed
   * (keyProblem), else sealed as version 1, current. The registry stores it with the device (RegistryService.create).
   */
  async initialRing(mn: string, keyText: string): Promise<DeviceKeyRing> {
    const problem = keyProblem(keyText);
    if (problem) {
      const [en, zh] = [problem.replace(/ \(.*$/, ''), problem.replace(/^.*\((.*)\)$/, '$1')];
      throw new ValidationError(problem, [{ field: 'body.sm4Key', message: en, messageZh: zh }]);
    }
    const at = this.now().toISOString();
    const sealed = await this.sealer.seal(mn, 1, keyBytes(keyText));
    return {
      encrypting: true,
      versions: [{ version: 1, sealed, status: 'current', source: 'registration', createdAt: at, activatedAt: at }],
    };
  }

  /** The installer's key for a registered device that will encrypt from now on: version 1, current. */
  async enroll(mn: string, keyText: string, actor: KeyActor): Promise<void> {
    const found = await this.device(mn);
    const ring = await this.initialRing(mn, keyText);
    if (currentOf(found.item.sm4))
      throw new ConflictError(
        `device ${mn} has a key already; a new one comes by rotation (设备 ${mn} 已有密钥，须经密钥轮换更新)`,
      );
    await this.write(found, ring, actor, 'registry.device.sm4-key-enrolled', { version: 1 });
  }

  /** An administrator asks for a new key; the gateway pushes it when it next hears from the device. */
  async requestRotation(mn: string, actor: KeyActor): Promise<DeviceKeyRing> {
    const found = await this.device(mn);
    const ring = found.item.sm4;
    if (!ring?.encrypting || !currentOf(ring))
      throw new ConflictError(`device ${mn} does not encrypt (设备 ${mn} 未启用加密传输)`);
    const next: DeviceKeyRing = {
      ...ring,
      rotationRequestedAt: this.now().toISOString(),
      rotationRequestedBy: actor.sub,
    };
    await this.write(found, next, actor, 'registry.device.sm4-rotation-requested', {});
    return next;
  }

  /**
   * Pushes a new key when one is due (pushDue) or `force` names why (a device's own request): stored pending first,
   * then the CN 1014 frame sent encrypted under the current key. Undefined when nothing is due.
   */
  async pushIfDue(mn: string, link: DeviceLink, force?: KeySource): Promise<KeyPush | undefined> {
    const found = await this.device(mn);
    const ring = found.item.sm4;
    const current = currentOf(ring);
    if (!ring?.encrypting || !current) return undefined;
    const now = this.now();
    const source = force ?? pushDue(ring, now, this.settings);
    if (!source) return undefined;
    const at = now.toISOString();
    const qn = isoToBeijing(now, true);
    const text = this.newKey();
    const version = Math.max(...ring.versions.map((v) => v.version)) + 1;
    const sealed = await this.sealer.seal(mn, version, keyBytes(text));
    const versions: SealedKeyVersion[] = ring.versions.map((v) =>
      v.status === 'pending' ? { ...v, status: 'failed' } : v,
    );
    versions.push({ version, sealed, status: 'pending', source, createdAt: at, pushQn: qn, pushedAt: at });
    const { rotationRequestedAt: _r, rotationRequestedBy: _b, ...rest } = ring;
    await this.write(found, { ...rest, versions }, { sub: 'hj212-gateway' }, 'registry.device.sm4-key-pushed', {
      version,
      source,
      qn,
    });
    const currentKey = await this.sealer.open(mn, current.version, current.sealed);
    const segment = encodeSegment({
      qn,
      st: found.item.st,
      cn: '1014',
      mn,
      flag: 9,
      cp: `SKCreateTime=${qn},NewSK=${text}`,
    });
    const delivered = await link.sendToDevice(mn, encodeEncryptedFrame(segment, currentKey));
    return { version, qn, delivered, source };
  }

  /** The device's 9012 to a key push: ExeRtn=1 makes the pushed key current. False when the QN is no pending push. */
  async confirm(mn: string, qn: string, exeRtn: string): Promise<boolean> {
    const found = await this.device(mn);
    const ring = found.item.sm4;
    const pending = pendingOf(ring);
    if (!ring || !pending || pending.pushQn !== qn) return false;
    const at = this.now().toISOString();
    const ok = exeRtn === '1';
    const versions = ring.versions.map((v): SealedKeyVersion => {
      if (v.version === pending.version)
        return ok ? { ...v, status: 'current', activatedAt: at } : { ...v, status: 'failed' };
      if (ok && v.status === 'current') return { ...v, status: 'previous', supersededAt: at };
      return v;
    });
    await this.write(
      found,
      { ...ring, versions },
      { sub: 'hj212-gateway' },
      ok ? 'registry.device.sm4-key-activated' : 'registry.device.sm4-key-refused',
      { version: pending.version, exeRtn },
    );
    return ok;
  }

  /** The keys that open this device's packets now, in order; empty for a device that does not encrypt. */
  async openKeys(mn: string, ring: DeviceKeyRing | undefined): Promise<Uint8Array[]> {
    if (!ring) return [];
    const order = decryptionOrder(ring, this.now(), this.settings);
    return Promise.all(order.map((v) => this.sealer.open(mn, v.version, v.sealed)));
  }

  private async device(mn: string): Promise<Versioned<DeviceWithKeys>> {
    const found = await this.store.get<DeviceWithKeys>('devices', mn);
    if (!found) throw new NotFoundError(`device ${mn} does not exist (监测设备 ${mn} 不存在)`);
    return found;
  }

  private async write(
    found: Versioned<DeviceWithKeys>,
    ring: DeviceKeyRing,
    actor: KeyActor,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const mn = found.item.mn;
    const audit: AuditEntry = {
      actor: actor.sub,
      action,
      entity: `devices/${mn}`,
      at: this.now().toISOString(),
      detail,
    };
    await this.store.replace(
      'devices',
      mn,
      { ...found.item, sm4: ring },
      { kind: 'enterprises', id: found.item.enterpriseId },
      found.version,
      audit,
    );
  }
}
