import {
  ConflictError,
  DomainError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { type CreatedCertificate, CsrRejectedError, type IotControlPlane } from './iot-port.ts';
import {
  type DeviceCertificate,
  type DeviceIot,
  type IssuedCertificate,
  type StoredDevice,
  transportOf,
} from './model.ts';
import type { AuditEntry, RegistryStore, Versioned } from './store.ts';

/**
 * Device onboarding: an MQTT device's IoT Core identity (docs/devices.md). Its thing is named by the MN; each
 * certificate is recorded on the device (id and ARN, never the key) and walks pending → active → (retiring →) inactive.
 *
 * Issuing a certificate, in an order that a repeated request completes whatever an interrupted one left:
 *  1. read the device and decide (planIssue): refuse, or which certificates to retire first and which the new one replaces;
 *  2. retire the leftovers of an interrupted attempt (pending, retiring): deactivate, detach thing, detach policy;
 *  3. CreateThing (idempotent) and a new certificate, INACTIVE (a refused CSR stops here with a 400: nothing attached
 *     or stored), then record it on the device as pending before anything is attached to it;
 *  4. AttachPolicy (the device policy), AttachThingPrincipal (exclusive), UpdateCertificate ACTIVE;
 *  5. record it active (a replaced one becomes retiring in the same write), then retire the replaced ones.
 * A failure after step 3 leaves a pending certificate on the device, visible in every read, and answers 503: the same
 * request again retires it and issues a fresh one. Only a failure between creating the certificate and recording it
 * leaves a certificate IoT Core knows and the registry does not: INACTIVE, attached to nothing, so it can never connect.
 * Every IoT Core call is audited as it succeeds; every change of the device record carries its own audit entry.
 */
export interface Actor {
  sub: string;
}

/** The answer to a successful issue: the device as now stored, and the certificate (with the key, once). */
export interface Onboarded {
  device: Versioned<StoredDevice>;
  certificate: IssuedCertificate;
}

/** An IoT Core call failed after the device record changed: the same request again completes the onboarding. */
export class OnboardingIncompleteError extends DomainError {
  readonly status = 503;
  readonly slug = 'onboarding-incomplete';
  readonly titleZh = '设备接入未完成，请重试';
  readonly titleEn = 'Device onboarding incomplete; retry';
  constructor(message: string) {
    super(message);
    this.name = 'OnboardingIncompleteError';
  }
}

export type RetireReason = NonNullable<DeviceCertificate['retiredBecause']>;

/** How many inactive certificates a device record keeps; the audit trail has every one. */
export const KEEP_INACTIVE = 5;

/** Certificates that IoT Core may still accept or that still hang on the thing or the policy. */
export function liveCertificates(iot: DeviceIot | undefined): DeviceCertificate[] {
  return (iot?.certificates ?? []).filter((c) => c.status !== 'inactive');
}

export interface IssuePlan {
  /** pending or retiring certificates of an interrupted attempt: retired before a new one is made */
  leftovers: DeviceCertificate[];
  /** the active certificate(s) the new one replaces (a rotation) */
  replaced: DeviceCertificate[];
}

/** Decides whether a certificate may be issued for `device` and what happens to the ones it has. Pure. */
export function planIssue(device: StoredDevice, rotate: boolean): IssuePlan {
  if (transportOf(device) !== 'mqtt') {
    throw new ConflictError(
      `device ${device.mn} connects over tcp; set its transport to mqtt before issuing a certificate (设备 ${device.mn} 经 TCP 接入，须先将接入方式改为 mqtt 再签发证书)`,
    );
  }
  if (device.status === 'retired') {
    throw new ConflictError(
      `device ${device.mn} is retired; set its status to active before issuing a certificate (设备 ${device.mn} 已停用，须先恢复启用再签发证书)`,
    );
  }
  const certificates = device.iot?.certificates ?? [];
  const replaced = certificates.filter((c) => c.status === 'active');
  if (replaced.length > 0 && !rotate) {
    throw new ConflictError(
      `device ${device.mn} already has an active certificate (${replaced.map((c) => c.certificateId).join(', ')}); ask for rotate to replace it (设备已有有效证书，如需更换请选择轮换)`,
    );
  }
  return { leftovers: certificates.filter((c) => c.status === 'pending' || c.status === 'retiring'), replaced };
}

/** `iot` with the certificates `ids` marked inactive for `reason`, keeping the last KEEP_INACTIVE inactive ones. Pure. */
export function markRetired(iot: DeviceIot, ids: readonly string[], reason: RetireReason, at: string): DeviceIot {
  const certificates = iot.certificates.map((c) =>
    ids.includes(c.certificateId) && c.status !== 'inactive'
      ? { ...c, status: 'inactive' as const, retiredAt: at, retiredBecause: reason }
      : c,
  );
  const inactive = certificates.filter((c) => c.status === 'inactive');
  const dropped = new Set(inactive.slice(0, Math.max(0, inactive.length - KEEP_INACTIVE)));
  return { ...iot, certificates: certificates.filter((c) => !dropped.has(c)) };
}

const parentOf = (d: StoredDevice) => ({ kind: 'enterprises' as const, id: d.enterpriseId });

export class DeviceOnboarding {
  constructor(
    private readonly store: RegistryStore,
    private readonly iot: IotControlPlane,
    /** the device IoT policy every certificate gets (infra/constructs/iot-device-policy.ts) */
    private readonly policyName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Registers a new MQTT device with its first certificate: the thing and the certificate are made before the device is
   * stored, so a refused CSR stores nothing; the device is stored with the certificate pending, then onboarded (steps 4–5).
   * Repeating the registration of a device whose onboarding did not complete (same fields, no active certificate)
   * completes it instead of answering 409.
   */
  async register(device: StoredDevice, csr: string | undefined, actor: Actor): Promise<Onboarded> {
    const mn = device.mn;
    const existing = await this.store.get<StoredDevice>('devices', mn);
    if (existing) {
      if (
        !sameRegistration(existing.item, device) ||
        liveCertificates(existing.item.iot).some((c) => c.status === 'active')
      )
        throw new ConflictError(`devices ${mn} already exists (设备 ${mn} 已存在)`);
      return this.issue(mn, { ...(csr ? { csr } : {}) }, actor);
    }
    const created = await this.createCertificate(mn, csr, actor);
    const pending = this.pendingRecord(created, csr);
    const stored = await this.store.create(
      'devices',
      mn,
      { ...device, iot: { thingName: mn, certificates: [pending] } },
      parentOf(device),
      this.audit(actor, 'registry.create', mn, { certificateId: created.certificateId }),
    );
    return this.activate(stored, created, csr, [], actor);
  }

  /** Issues a certificate for a registered MQTT device: the first one, a rotation (`rotate`), or a retry's. */
  async issue(mn: string, request: { csr?: string; rotate?: boolean }, actor: Actor): Promise<Onboarded> {
    const current = await this.read(mn);
    const plan = planIssue(current.item, request.rotate === true);
    let version = current.version;
    if (plan.leftovers.length > 0) {
      version = (await this.retire(mn, plan.leftovers, 'incomplete', actor)).version;
    }
    const created = await this.createCertificate(mn, request.csr, actor);
    const pending = this.pendingRecord(created, request.csr);
    let recorded: Versioned<StoredDevice>;
    try {
      recorded = await this.record(
        mn,
        actor,
        'registry.device.certificate-recorded',
        { certificateId: created.certificateId },
        (d) => ({ ...d, iot: { thingName: mn, certificates: [...(d.iot?.certificates ?? []), pending] } }),
        version,
      );
    } catch (err) {
      if (err instanceof PreconditionFailedError)
        throw new ConflictError(
          `device ${mn} changed while its certificate was being issued; retry (签发证书期间设备信息已变更，请重试)`,
        );
      throw err;
    }
    return this.activate(recorded, created, request.csr, plan.replaced, actor);
  }

  /**
   * Decommissions a device: every certificate IoT Core may still accept is deactivated and detached (UpdateCertificate
   * INACTIVE, DetachThingPrincipal, DetachPolicy), then the device is recorded retired with them inactive, in one write.
   * The thing stays (its name is the MN). Repeating it is harmless; a failure half-way leaves the record as it was.
   */
  async decommission(mn: string, actor: Actor): Promise<Versioned<StoredDevice>> {
    const current = await this.read(mn);
    const live = liveCertificates(current.item.iot);
    if (current.item.status === 'retired' && live.length === 0) return current;
    await this.retireInIot(mn, live, actor);
    const at = this.now().toISOString();
    const ids = live.map((c) => c.certificateId);
    return this.record(mn, actor, 'registry.device.decommissioned', { certificateIds: ids }, (d) => ({
      ...d,
      status: 'retired',
      ...(d.iot ? { iot: markRetired(d.iot, ids, 'decommissioned', at) } : {}),
    }));
  }

  /**
   * For a replace that retires the device or moves it off MQTT: deactivates and detaches its live certificates in
   * IoT Core and returns the `iot` to store with them inactive (the replace writes it). Otherwise returns `iot` as is.
   */
  async retireForReplace(next: StoredDevice, iot: DeviceIot | undefined, actor: Actor): Promise<DeviceIot | undefined> {
    const live = liveCertificates(iot);
    const reason: RetireReason | undefined =
      next.status === 'retired' ? 'decommissioned' : transportOf(next) !== 'mqtt' ? 'transport-changed' : undefined;
    if (!iot || !reason || live.length === 0) return iot;
    await this.retireInIot(next.mn, live, actor);
    return markRetired(
      iot,
      live.map((c) => c.certificateId),
      reason,
      this.now().toISOString(),
    );
  }

  /** Steps 4–5: attach, activate, record active; then retire what it replaces. */
  private async activate(
    recorded: Versioned<StoredDevice>,
    created: CreatedCertificate,
    csr: string | undefined,
    replaced: DeviceCertificate[],
    actor: Actor,
  ): Promise<Onboarded> {
    const mn = recorded.item.mn;
    const id = created.certificateId;
    const arn = created.certificateArn;
    let device = recorded;
    try {
      await this.step(
        actor,
        mn,
        'registry.device.policy-attached',
        { certificateId: id, policyName: this.policyName },
        () => this.iot.attachPolicy(this.policyName, arn),
      );
      await this.step(actor, mn, 'registry.device.thing-attached', { certificateId: id }, () =>
        this.iot.attachThingPrincipal(mn, arn),
      );
      await this.step(actor, mn, 'registry.device.certificate-activated', { certificateId: id }, () =>
        this.iot.setCertificateStatus(id, 'ACTIVE'),
      );
      const at = this.now().toISOString();
      const replacedIds = replaced.map((c) => c.certificateId);
      device = await this.record(mn, actor, 'registry.device.onboarded', { certificateId: id }, (d) => ({
        ...d,
        iot: {
          thingName: mn,
          certificates: (d.iot?.certificates ?? []).map((c) =>
            c.certificateId === id
              ? { ...c, status: 'active' as const, activatedAt: at }
              : replacedIds.includes(c.certificateId) && c.status === 'active'
                ? { ...c, status: 'retiring' as const }
                : c,
          ),
        },
      }));
      if (replaced.length > 0) device = await this.retire(mn, replaced, 'rotated', actor);
    } catch (err) {
      if (err instanceof DomainError) throw err;
      throw new OnboardingIncompleteError(
        `device ${mn}: IoT Core did not complete onboarding (${errorName(err)}); certificate ${id} is recorded as pending. Repeat the request to complete it`,
      );
    }
    return {
      device,
      certificate: {
        thingName: mn,
        certificateId: id,
        certificateArn: arn,
        certificatePem: created.certificatePem,
        keySource: csr ? 'csr' : 'generated',
        ...(created.keyPair ? { privateKey: created.keyPair.privateKey, publicKey: created.keyPair.publicKey } : {}),
        policyName: this.policyName,
      },
    };
  }

  /** CreateThing, then a new INACTIVE certificate; a refused CSR becomes a 400 on `body.csr`. */
  private async createCertificate(mn: string, csr: string | undefined, actor: Actor): Promise<CreatedCertificate> {
    await this.step(actor, mn, 'registry.device.thing-ensured', { thingName: mn }, () => this.iot.ensureThing(mn));
    let created: CreatedCertificate;
    try {
      created = await this.iot.createCertificate(csr);
    } catch (err) {
      if (err instanceof CsrRejectedError)
        throw new ValidationError('IoT Core refused the certificate signing request', [
          { field: 'body.csr', message: err.message, messageZh: '证书签名请求无效' },
        ]);
      throw err;
    }
    await this.store.audit(
      this.audit(actor, 'registry.device.certificate-created', mn, {
        certificateId: created.certificateId,
        keySource: csr ? 'csr' : 'generated',
      }),
    );
    return created;
  }

  private pendingRecord(created: CreatedCertificate, csr: string | undefined): DeviceCertificate {
    return {
      certificateId: created.certificateId,
      certificateArn: created.certificateArn,
      status: 'pending',
      keySource: csr ? 'csr' : 'generated',
      createdAt: this.now().toISOString(),
    };
  }

  /** Deactivates and detaches `certs` in IoT Core, then records them inactive in one write. */
  private async retire(
    mn: string,
    certs: DeviceCertificate[],
    reason: RetireReason,
    actor: Actor,
  ): Promise<Versioned<StoredDevice>> {
    await this.retireInIot(mn, certs, actor);
    const ids = certs.map((c) => c.certificateId);
    const at = this.now().toISOString();
    return this.record(mn, actor, 'registry.device.certificates-retired', { certificateIds: ids, reason }, (d) => ({
      ...d,
      ...(d.iot ? { iot: markRetired(d.iot, ids, reason, at) } : {}),
    }));
  }

  /** Deactivate first (the device is cut off at once), then detach from the thing and from the policy. */
  private async retireInIot(mn: string, certs: DeviceCertificate[], actor: Actor): Promise<void> {
    for (const c of certs) {
      const detail = { certificateId: c.certificateId };
      await this.step(actor, mn, 'registry.device.certificate-deactivated', detail, () =>
        this.iot.setCertificateStatus(c.certificateId, 'INACTIVE'),
      );
      await this.step(actor, mn, 'registry.device.thing-detached', detail, () =>
        this.iot.detachThingPrincipal(mn, c.certificateArn),
      );
      await this.step(actor, mn, 'registry.device.policy-detached', { ...detail, policyName: this.policyName }, () =>
        this.iot.detachPolicy(this.policyName, c.certificateArn),
      );
    }
  }

  /** One IoT Core call, audited once it succeeded. */
  private async step(
    actor: Actor,
    mn: string,
    action: string,
    detail: Record<string, unknown>,
    call: () => Promise<void>,
  ): Promise<void> {
    await call();
    await this.store.audit(this.audit(actor, action, mn, detail));
  }

  /**
   * Changes the stored device with `change`, re-reading it for each attempt so that a concurrent edit of other fields
   * is kept; with `expectedVersion`, refuses (PreconditionFailedError) when the device moved past it.
   */
  private async record(
    mn: string,
    actor: Actor,
    action: string,
    detail: Record<string, unknown>,
    change: (d: StoredDevice) => StoredDevice,
    expectedVersion?: number,
  ): Promise<Versioned<StoredDevice>> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(mn);
      if (expectedVersion !== undefined && current.version !== expectedVersion)
        throw new PreconditionFailedError(
          `devices ${mn} is at version ${current.version}, not ${expectedVersion} (已被他人修改：当前版本 ${current.version}，而非 ${expectedVersion})`,
        );
      try {
        return await this.store.replace(
          'devices',
          mn,
          change(current.item),
          parentOf(current.item),
          current.version,
          this.audit(actor, action, mn, detail),
        );
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || expectedVersion !== undefined || attempt >= 3) throw err;
      }
    }
  }

  private async read(mn: string): Promise<Versioned<StoredDevice>> {
    const found = await this.store.get<StoredDevice>('devices', mn);
    if (!found) throw new NotFoundError(`devices ${mn} does not exist (设备 ${mn} 不存在)`);
    return found;
  }

  private audit(actor: Actor, action: string, mn: string, detail: Record<string, unknown>): AuditEntry {
    return { actor: actor.sub, action, entity: `devices/${mn}`, at: this.now().toISOString(), detail };
  }
}

/** The same registration: every field but the password hash and the IoT record. */
function sameRegistration(a: StoredDevice, b: StoredDevice): boolean {
  const strip = ({ passwordHash: _p, iot: _i, ...rest }: StoredDevice) => canonical(rest);
  return strip(a) === strip(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The error's class name only (an AWS exception name, say): never its message, which may quote input. */
function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'unknown error';
}
