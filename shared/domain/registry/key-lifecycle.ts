import type { GatewayCommand, PreparedDelivery } from '#shared/domain/commands/delivery.ts';
import { type CommandAnswer, qnAt } from '#shared/domain/commands/model.ts';
import type { CommandStore } from '#shared/domain/commands/ports.ts';
import { type CommandView, recordAnswer, type SendCommand } from '#shared/domain/commands/use-cases.ts';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import { encodeEncryptedFrame, encodeSegment } from '#shared/domain/hj212/codec.ts';
import { SM4_BLOCK } from '#shared/domain/hj212/sm4.ts';
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
  keyRequestAnswer,
  pendingOf,
  pushDue,
  type SealedKeyVersion,
} from './device-keys.ts';
import type { StoredDevice } from './model.ts';
import type { AuditEntry, RegistryStore, Versioned } from './store.ts';

/**
 * The key lifecycle of HJ 212-2025 devices (device-keys.ts; docs/devices.md §2.2). Every change is written to the
 * device record with its audit entry in one transaction (the registry store), conditional on the record's version, so
 * two writers handling one device cannot both rotate it. Keys travel only sealed (KeySealer: KMS) in records and
 * audit entries name versions, never key material.
 *
 *  - enroll: the installer's key at registration (patterned or fixed keys refused) becomes version 1, current.
 *  - push: a new key, generated here and sealed, sent as a device command (CN 1014, the device-command capability:
 *    a command with its QN, audited, over the device's route). Once the command is stored with its QN the key is
 *    recorded `pending` under that QN, and then the frame goes out: to an MQTT device the whole frame, encrypted here
 *    under its current key; to a TCP device a message naming the key version only, which the gateway task holding the
 *    connection turns into the frame (pushFrame: it adds the PW and encrypts). A device's own key request (from the
 *    gateway for TCP, from ingest for MQTT: answerRequest, which sends a pending push again rather than a new key and
 *    limits new keys per device on the record), the 90-day job and an administrator's request all come here.
 *  - confirm: the device's 9012 for that QN makes the pending key current (ExeRtn=1) and the old one `previous`,
 *    which opens packets for the grace window and archived packets forever; another ExeRtn marks the push failed.
 *  - openKeys: the keys that open the device's packets now, in order (decryptionOrder), opened by the sealer.
 *
 * The new key is written first in the CP (`NewSK=…,SKCreateTime=…`, 53 characters): SM4 here leaves a tail shorter
 * than a block in clear, and `SKCreateTime=…,NewSK=…` would leave the key's last 5 characters there.
 */
export interface KeySealer {
  /** seals the key bytes under the device-key KMS key, bound to the device and version (encryption context) */
  seal(mn: string, version: number, key: Uint8Array): Promise<string>;
  open(mn: string, version: number, sealed: string): Promise<Uint8Array>;
}

/** The device-command capability as key pushes use it (CommandService). */
export interface KeyCommands {
  send(input: SendCommand): Promise<CommandView>;
  /** the same command sent again under its QN (CommandService.resend); undefined when there is none to resend */
  resend(mn: string, qn: string, prepare: SendCommand['prepare']): Promise<CommandView | undefined>;
}

export interface KeyActor {
  sub: string;
}

/** A push made or, on a device's request while one was pending, sent again (`resent`, same key and QN). */
export type KeyPush = { version: number; qn: string; source: KeySource; command: CommandView; resent?: true };

/** The SM4 wire form a key push is written in (docs/devices.md §2.1): the device's own, else raw ciphertext bytes. */
export type WireForm = 'binary' | 'text';

/**
 * The CN 1014 frame that gives a device its new key (HJ 212-2025 §6.4.3): the CP `NewSK=<key>,SKCreateTime=<time>`
 * SM4-encrypted under the device's current key, the key wholly inside encrypted blocks. `pw` over TCP only.
 */
export function keyPushFrame(
  c: Pick<GatewayCommand, 'qn' | 'st' | 'mn' | 'flag' | 'cp'>,
  newKey: string,
  currentKey: Uint8Array,
  form: WireForm,
  pw?: string,
): Buffer {
  const cp = `NewSK=${newKey},${c.cp}`;
  const keyEnd = 'NewSK='.length + newKey.length;
  if (cp.length - (cp.length % SM4_BLOCK) < keyEnd) throw new RangeError('the key would not be wholly encrypted');
  const segment = encodeSegment({
    qn: c.qn,
    st: c.st,
    cn: '1014',
    ...(pw !== undefined ? { pw } : {}),
    mn: c.mn,
    flag: c.flag,
    cp,
  });
  return encodeEncryptedFrame(segment, currentKey, form);
}

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

  /** An administrator's rotation now, through the same push as the schedule's (409 when the device does not encrypt). */
  async rotate(mn: string, actor: KeyActor, commands: KeyCommands, form?: WireForm): Promise<KeyPush> {
    const found = await this.device(mn);
    if (!found.item.sm4?.encrypting || !currentOf(found.item.sm4))
      throw new ConflictError(`device ${mn} does not encrypt (设备 ${mn} 未启用加密传输)`);
    return this.push(found, 'admin', actor, commands, form);
  }

  /**
   * Pushes a new key when one is due (pushDue: 90 days, an unconfirmed push past the retry interval, an older
   * administrator request) or `force` names why (a device's own request). Undefined when nothing is due.
   */
  async pushIfDue(
    mn: string,
    commands: KeyCommands,
    force?: KeySource,
    actor: KeyActor = { sub: 'system:key-rotation' },
    form?: WireForm,
  ): Promise<KeyPush | undefined> {
    if (force === 'device-request') return this.answerRequest(mn, commands, actor, form);
    const found = await this.device(mn);
    const ring = found.item.sm4;
    if (!ring?.encrypting || !currentOf(ring)) return undefined;
    const source = force ?? pushDue(ring, this.now(), this.settings);
    if (!source) return undefined;
    return this.push(found, source, actor, commands, form);
  }

  /**
   * A device's own key request (CN 1014 without NewSK), from the gateway (TCP) or ingest (MQTT), judged on the record
   * (keyRequestAnswer): a push still pending is sent again, same key and QN (its command resent); otherwise a new key
   * is pushed unless the device's requests made one too recently or too often today. Undefined when nothing is sent.
   */
  async answerRequest(
    mn: string,
    commands: KeyCommands,
    actor: KeyActor = { sub: 'system:key-rotation' },
    form?: WireForm,
  ): Promise<KeyPush | undefined> {
    const found = await this.device(mn);
    const answer = keyRequestAnswer(found.item.sm4, this.now(), this.settings);
    if (answer.kind === 'none') return undefined;
    if (answer.kind === 'resend') {
      const again = await this.resend(found, answer.pending, actor, commands, form);
      if (again) return again;
      // the pending push's command is gone or final: a new key replaces it
      const reread = await this.device(mn);
      if (!reread.item.sm4?.encrypting || !currentOf(reread.item.sm4)) return undefined;
      return this.push(reread, 'device-request', actor, commands, form);
    }
    return this.push(found, 'device-request', actor, commands, form);
  }

  /**
   * The pending push sent again: its `resentAt` and an audit entry written first (conditional on the record's version,
   * so two requests handled at once send it once), then its command resent with the same key under the current one.
   */
  private async resend(
    found: Versioned<DeviceWithKeys>,
    pending: SealedKeyVersion,
    actor: KeyActor,
    commands: KeyCommands,
    form: WireForm = 'binary',
  ): Promise<KeyPush | undefined> {
    const mn = found.item.mn;
    const ring = found.item.sm4 as DeviceKeyRing;
    const current = currentOf(ring) as SealedKeyVersion;
    const qn = pending.pushQn;
    if (qn === undefined) return undefined;
    const at = this.now().toISOString();
    const versions = ring.versions.map((v) => (v.version === pending.version ? { ...v, resentAt: at } : v));
    await this.write(found, { ...ring, versions }, actor, 'registry.device.sm4-key-resent', {
      version: pending.version,
      qn,
    });
    const prepare = async (c: GatewayCommand, route: 'tcp' | 'mqtt'): Promise<PreparedDelivery> => {
      if (route === 'tcp') return { keyPush: { version: pending.version } };
      const [newKey, currentKey] = await Promise.all([
        this.sealer.open(mn, pending.version, pending.sealed),
        this.sealer.open(mn, current.version, current.sealed),
      ]);
      return { frame: keyPushFrame(c, Buffer.from(newKey).toString('latin1'), currentKey, form) };
    };
    const command = await commands.resend(mn, qn, prepare);
    if (!command) return undefined;
    return { version: pending.version, qn, source: pending.source, command, resent: true };
  }

  /**
   * The push: a fresh key sealed as the next version; the CN 1014 command stored (its QN fixed), then the key recorded
   * `pending` under that QN (an older unconfirmed push becomes `failed`), then the frame prepared for the route and
   * published. A record changed meanwhile (another push) leaves the command `undelivered` and throws 412.
   */
  private async push(
    found: Versioned<DeviceWithKeys>,
    source: KeySource,
    actor: KeyActor,
    commands: KeyCommands,
    form: WireForm = 'binary',
  ): Promise<KeyPush> {
    const mn = found.item.mn;
    const ring = found.item.sm4 as DeviceKeyRing;
    const current = currentOf(ring) as SealedKeyVersion;
    const created = this.now();
    const text = this.newKey();
    const version = Math.max(...ring.versions.map((v) => v.version)) + 1;
    const sealed = await this.sealer.seal(mn, version, keyBytes(text));
    let qn = '';
    const prepare = async (c: GatewayCommand, route: 'tcp' | 'mqtt'): Promise<PreparedDelivery> => {
      qn = c.qn;
      const at = this.now().toISOString();
      const versions: SealedKeyVersion[] = ring.versions.map((v) =>
        v.status === 'pending' ? { ...v, status: 'failed' } : v,
      );
      versions.push({ version, sealed, status: 'pending', source, createdAt: at, pushQn: c.qn, pushedAt: at });
      const { rotationRequestedAt: _r, rotationRequestedBy: _b, ...rest } = ring;
      await this.write(found, { ...rest, versions }, actor, 'registry.device.sm4-key-pushed', {
        version,
        source,
        qn: c.qn,
      });
      if (route === 'tcp') return { keyPush: { version } };
      const currentKey = await this.sealer.open(mn, current.version, current.sealed);
      return { frame: keyPushFrame(c, text, currentKey, form) };
    };
    const command = await commands.send({
      mn,
      cn: '1014',
      cp: `SKCreateTime=${qnAt(created.getTime())}`,
      requestedBy: actor.sub,
      action: 'device.command.key-push',
      version: '2025',
      prepare,
    });
    return { version, qn: qn || command.qn, source, command };
  }

  /**
   * The frame of a key push a gateway task was asked to write (GatewayCommand.keyPush) on the connection where the
   * device logged in with `pw`: the pending version of that QN opened, encrypted under the current key. Undefined when
   * the push is no longer pending (confirmed, refused or replaced by a newer one): nothing is written.
   */
  async pushFrame(c: GatewayCommand, pw: string, form: WireForm = 'binary'): Promise<Buffer | undefined> {
    const found = await this.store.get<DeviceWithKeys>('devices', c.mn);
    const ring = found?.item.sm4;
    const pending = pendingOf(ring);
    const current = currentOf(ring);
    if (!pending || !current || pending.version !== c.keyPush?.version || pending.pushQn !== c.qn) return undefined;
    const [newKey, currentKey] = await Promise.all([
      this.sealer.open(c.mn, pending.version, pending.sealed),
      this.sealer.open(c.mn, current.version, current.sealed),
    ]);
    return keyPushFrame(c, Buffer.from(newKey).toString('latin1'), currentKey, form, pw);
  }

  /**
   * The device's 9012 to a key push: ExeRtn=1 makes the pushed key current. False when the QN is no pending push
   * (already confirmed: the gateway and ingest both see a TCP device's 9012). Read again once when another writer
   * changed the record meanwhile.
   */
  async confirm(mn: string, qn: string, exeRtn: string): Promise<boolean> {
    try {
      return await this.confirmOnce(mn, qn, exeRtn);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      return this.confirmOnce(mn, qn, exeRtn);
    }
  }

  private async confirmOnce(mn: string, qn: string, exeRtn: string): Promise<boolean> {
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
      { sub: 'system:key-rotation' },
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

/**
 * A device's 9011 / 9012 recorded against the platform's command its QN names (recordAnswer); a 9012 to a key push
 * (CN 1014) also confirms or refuses the pushed key (KeyLifecycle.confirm). Ingest wires this, so an MQTT device's
 * 9012 makes its key current; a TCP device's is seen by the gateway first, and confirming twice changes nothing.
 */
export async function answerCommand(
  commands: Pick<CommandStore, 'get' | 'update'>,
  keys: Pick<KeyLifecycle, 'confirm'> | undefined,
  mn: string,
  qn: string | undefined,
  answer: CommandAnswer,
): Promise<boolean> {
  const recorded = await recordAnswer(commands, mn, qn, answer);
  if (!recorded || !keys || qn === undefined || answer.cn !== '9012') return recorded;
  const command = await commands.get(mn, qn);
  if (command?.cn === '1014') await keys.confirm(mn, qn, String(answer.code));
  return recorded;
}
