import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '#shared/domain/errors.ts';
import type { DeviceIot, DeviceRegistration, Enterprise, Outlet, StoredDevice } from '#shared/domain/registry/model.ts';
import {
  DeviceOnboarding,
  KEEP_INACTIVE,
  markRetired,
  OnboardingIncompleteError,
} from '#shared/domain/registry/onboarding.ts';
import { DEVICES, ENTERPRISES, FUNGI, OUTLETS, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { FAKE_CSR, FAKE_PRIVATE_KEY, MemoryIot, REFUSED_CSR } from '../helpers/memory-iot.ts';
import { MemoryRegistryStore } from '../helpers/memory-registry-store.ts';
import { fastHash } from '../helpers/secrets.ts';

const admin = { sub: 'u-admin-01' };
const NOW = new Date('2026-03-01T08:00:00.000Z');
const POLICY = 'envwatch-test-device';
const MN = '33112600000000000000FW01';
const mqttDevice = { ...(DEVICES.find((d) => d.mn === MN) as DeviceRegistration), password: 'first-pw' };
const tcpDevice = {
  ...(DEVICES.find((d) => d.mn === '33112600000000000000BW01') as DeviceRegistration),
  password: 'first-pw',
};

async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('device onboarding', () => {
  let store: MemoryRegistryStore;
  let iot: MemoryIot;
  let onboarding: DeviceOnboarding;
  let registry: RegistryService;

  const stored = () => store.raw('devices', MN) as StoredDevice;
  const certs = () => stored().iot?.certificates ?? [];

  beforeEach(async () => {
    store = new MemoryRegistryStore();
    iot = new MemoryIot();
    onboarding = new DeviceOnboarding(store, iot, POLICY, () => NOW);
    registry = new RegistryService(store, () => NOW, fastHash, onboarding);
    const plain = new RegistryService(store, () => NOW, fastHash);
    for (const t of TOWNSHIPS.filter((t) => ['zhukou', 'huangtian'].includes(t.id)))
      await plain.create('townships', t, admin);
    for (const e of ENTERPRISES.filter((e) => ['zhukou', 'huangtian'].includes(e.townshipId)))
      await plain.create('enterprises', e as Enterprise, admin);
    for (const o of OUTLETS.filter((o) => [FUNGI, tcpDevice.enterpriseId].includes(o.enterpriseId)))
      await plain.create('outlets', o as Outlet, admin);
    store.audits.length = 0;
  });

  it('registers an MQTT device: thing, inactive certificate, device stored pending, policy, thing attachment, activation', async () => {
    const out = await registry.create('devices', mqttDevice, admin);

    expect(iot.calls.map((c) => [c.method, ...c.args.map(String)])).toEqual([
      ['ensureThing', MN],
      ['createCertificate', 'undefined'],
      ['attachPolicy', POLICY, certs()[0]?.certificateArn],
      ['attachThingPrincipal', MN, certs()[0]?.certificateArn],
      ['setCertificateStatus', certs()[0]?.certificateId, 'ACTIVE'],
    ]);
    expect(out.certificate).toMatchObject({
      thingName: MN,
      certificateId: certs()[0]?.certificateId,
      keySource: 'generated',
      privateKey: FAKE_PRIVATE_KEY,
      policyName: POLICY,
    });
    expect(out.item).toMatchObject({ mn: MN, transport: 'mqtt', iot: { thingName: MN } });
    expect(certs()).toEqual([
      expect.objectContaining({ status: 'active', keySource: 'generated', activatedAt: NOW.toISOString() }),
    ]);
    expect(iot.usable(MN)).toEqual([certs()[0]?.certificateId]);
    expect(out.item).not.toHaveProperty('passwordHash');
  });

  it('never stores or audits the private key IoT Core generated', async () => {
    await registry.create('devices', mqttDevice, admin);

    const everything = JSON.stringify({ rows: [...store.rows.values()], audits: store.audits });
    expect(everything).not.toContain('PRIVATE KEY');
    expect(everything).not.toContain(FAKE_PRIVATE_KEY.split('\n')[1]);
  });

  it('audits every IoT Core step and every change of the device record, naming the actor and the certificate', async () => {
    await registry.create('devices', mqttDevice, admin);

    const id = certs()[0]?.certificateId;
    expect(store.audits.map((a) => a.action)).toEqual([
      'registry.device.thing-ensured',
      'registry.device.certificate-created',
      'registry.create',
      'registry.device.policy-attached',
      'registry.device.thing-attached',
      'registry.device.certificate-activated',
      'registry.device.onboarded',
    ]);
    for (const a of store.audits) expect(a).toMatchObject({ actor: admin.sub, entity: `devices/${MN}` });
    expect(store.audits.find((a) => a.action === 'registry.device.policy-attached')?.detail).toEqual({
      certificateId: id,
      policyName: POLICY,
    });
  });

  it('issues the certificate from the CSR the installer supplies, and then answers without a private key', async () => {
    const out = await registry.create('devices', { ...mqttDevice, csr: FAKE_CSR }, admin);

    expect(iot.calls[1]).toEqual({ method: 'createCertificate', args: [FAKE_CSR] });
    expect(out.certificate?.keySource).toBe('csr');
    expect(out.certificate).not.toHaveProperty('privateKey');
    expect(certs()[0]?.keySource).toBe('csr');
  });

  it('stores nothing when IoT Core refuses the CSR, and names body.csr', async () => {
    const err = await thrown(() => registry.create('devices', { ...mqttDevice, csr: REFUSED_CSR }, admin));

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['body.csr']);
    expect(store.raw('devices', MN)).toBeUndefined();
    expect(iot.methods()).toEqual(['ensureThing', 'createCertificate']);
  });

  it('registers a TCP device without touching IoT Core, and refuses a CSR for it', async () => {
    const out = await registry.create('devices', tcpDevice, admin);

    expect(out.item).toMatchObject({ transport: 'tcp' });
    expect(out).not.toHaveProperty('certificate');
    expect(iot.calls).toEqual([]);
    await expect(
      registry.create('devices', { ...tcpDevice, mn: '33112600000000000000BW09', csr: FAKE_CSR }, admin),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('answers 503 and leaves the certificate pending when IoT Core fails half-way; the same request again completes it', async () => {
    iot.failNext('attachThingPrincipal');

    const err = await thrown(() => registry.create('devices', mqttDevice, admin));

    expect(err).toBeInstanceOf(OnboardingIncompleteError);
    expect((err as OnboardingIncompleteError).status).toBe(503);
    expect((err as Error).message).toContain('ThrottlingException');
    expect(certs().map((c) => c.status)).toEqual(['pending']);
    const first = certs()[0]?.certificateId as string;
    expect(iot.usable(MN)).toEqual([]);

    iot.calls.length = 0;
    const out = await registry.create('devices', mqttDevice, admin);

    expect(iot.calls.slice(0, 3).map((c) => [c.method, String(c.args[0])])).toEqual([
      ['setCertificateStatus', first],
      ['detachThingPrincipal', MN],
      ['detachPolicy', POLICY],
    ]);
    expect(certs().map((c) => [c.certificateId === first, c.status, c.retiredBecause])).toEqual([
      [true, 'inactive', 'incomplete'],
      [false, 'active', undefined],
    ]);
    expect(iot.usable(MN)).toEqual([out.certificate?.certificateId]);
    expect(iot.certificates.get(first)).toMatchObject({ status: 'INACTIVE', things: new Set(), policies: new Set() });
  });

  it('completes an onboarding whose activation succeeded but whose record did not, deactivating that certificate', async () => {
    await registry.create('devices', mqttDevice, admin);
    const first = certs()[0]?.certificateId as string;
    // as if the process died between UpdateCertificate ACTIVE and the record: IoT has it active, the record pending
    const device = stored();
    const iotRecord = device.iot as DeviceIot;
    const row = store.rows.get(`devices#${MN}`);
    if (!row) throw new Error('no device row');
    row.value.item = {
      ...device,
      iot: { ...iotRecord, certificates: iotRecord.certificates.map((c) => ({ ...c, status: 'pending' as const })) },
    };

    const out = await onboarding.issue(MN, {}, admin);

    expect(iot.certificates.get(first)?.status).toBe('INACTIVE');
    expect(iot.usable(MN)).toEqual([out.certificate.certificateId]);
  });

  it('refuses to register an onboarded device again, or the same MN with other fields', async () => {
    await registry.create('devices', mqttDevice, admin);
    await expect(registry.create('devices', mqttDevice, admin)).rejects.toBeInstanceOf(ConflictError);

    iot.failNext('setCertificateStatus');
    const other = { ...mqttDevice, mn: '33112600000000000000FW02' };
    await expect(registry.create('devices', other, admin)).rejects.toBeInstanceOf(OnboardingIncompleteError);
    await expect(registry.create('devices', { ...other, model: '另一型号' }, admin)).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('refuses a second certificate without rotate, and with rotate activates the new one before retiring the old', async () => {
    const first = await registry.create('devices', mqttDevice, admin);
    await expect(onboarding.issue(MN, {}, admin)).rejects.toBeInstanceOf(ConflictError);

    iot.calls.length = 0;
    const second = await onboarding.issue(MN, { rotate: true, csr: FAKE_CSR }, admin);

    const oldId = first.certificate?.certificateId as string;
    const activated = iot.calls.findIndex(
      (c) => c.method === 'setCertificateStatus' && c.args[0] === second.certificate.certificateId,
    );
    const deactivated = iot.calls.findIndex((c) => c.method === 'setCertificateStatus' && c.args[0] === oldId);
    expect(activated).toBeGreaterThan(-1);
    expect(deactivated).toBeGreaterThan(activated);
    expect(certs().map((c) => [c.certificateId, c.status, c.retiredBecause])).toEqual([
      [oldId, 'inactive', 'rotated'],
      [second.certificate.certificateId, 'active', undefined],
    ]);
    expect(iot.usable(MN)).toEqual([second.certificate.certificateId]);
    expect(second.device.item.iot?.certificates).toEqual(certs());
  });

  it('issues the first certificate of an MQTT device stored without one (the seed)', async () => {
    await new RegistryService(store, () => NOW, fastHash).create('devices', mqttDevice, admin);
    expect(stored()).toMatchObject({ transport: 'mqtt' });
    expect(stored().iot).toBeUndefined();

    const out = await onboarding.issue(MN, {}, admin);

    expect(out.certificate.privateKey).toBe(FAKE_PRIVATE_KEY);
    expect(certs().map((c) => c.status)).toEqual(['active']);
  });

  it('refuses a certificate for a TCP device and for a retired one', async () => {
    await registry.create('devices', tcpDevice, admin);
    await expect(onboarding.issue(tcpDevice.mn, {}, admin)).rejects.toThrow(/connects over tcp/);

    await registry.create('devices', mqttDevice, admin);
    await onboarding.decommission(MN, admin);
    await expect(onboarding.issue(MN, {}, admin)).rejects.toThrow(/is retired/);
  });

  it('decommissions: deactivates, detaches the thing, detaches the policy, then records the device retired', async () => {
    const { certificate } = await registry.create('devices', mqttDevice, admin);
    iot.calls.length = 0;
    store.audits.length = 0;

    const out = await onboarding.decommission(MN, admin);

    const id = certificate?.certificateId as string;
    expect(iot.calls).toEqual([
      { method: 'setCertificateStatus', args: [id, 'INACTIVE'] },
      { method: 'detachThingPrincipal', args: [MN, certificate?.certificateArn] },
      { method: 'detachPolicy', args: [POLICY, certificate?.certificateArn] },
    ]);
    expect(out.item.status).toBe('retired');
    expect(certs()).toEqual([
      expect.objectContaining({ status: 'inactive', retiredBecause: 'decommissioned', retiredAt: NOW.toISOString() }),
    ]);
    expect(iot.usable(MN)).toEqual([]);
    expect(store.audits.map((a) => a.action)).toEqual([
      'registry.device.certificate-deactivated',
      'registry.device.thing-detached',
      'registry.device.policy-detached',
      'registry.device.decommissioned',
    ]);
  });

  it('leaves the record as it was when decommissioning fails half-way, and a retry completes it; again it is a no-op', async () => {
    await registry.create('devices', mqttDevice, admin);
    iot.failNext('detachPolicy');

    await expect(onboarding.decommission(MN, admin)).rejects.toThrow('slow down');
    expect(stored().status).toBe('active');
    expect(certs().map((c) => c.status)).toEqual(['active']);

    await onboarding.decommission(MN, admin);
    expect(stored().status).toBe('retired');
    expect(iot.usable(MN)).toEqual([]);

    iot.calls.length = 0;
    const again = await onboarding.decommission(MN, admin);
    expect(iot.calls).toEqual([]);
    expect(again.item.status).toBe('retired');
  });

  it('retires the certificates when a replace sets the device retired or moves it to tcp', async () => {
    const created = await registry.create('devices', mqttDevice, admin);
    const { password: _p, csr: _c, ...fields } = mqttDevice;

    const replaced = await registry.replace('devices', MN, { ...fields, status: 'retired' }, created.version, admin);

    expect(replaced.item).toMatchObject({ status: 'retired' });
    expect(certs().map((c) => [c.status, c.retiredBecause])).toEqual([['inactive', 'decommissioned']]);
    expect(iot.usable(MN)).toEqual([]);

    const hj212 = { ...fields, protocol: 'hj212-2017' as const, mn: '33112600000000000000FW03' };
    const second = await registry.create('devices', { ...hj212, transport: 'mqtt', password: 'first-pw' }, admin);
    await registry.replace('devices', hj212.mn, { ...hj212, transport: 'tcp' }, undefined, admin);
    const after = (store.raw('devices', hj212.mn) as StoredDevice).iot?.certificates ?? [];
    expect(after.map((c) => [c.status, c.retiredBecause])).toEqual([['inactive', 'transport-changed']]);
    expect(iot.usable(hj212.mn)).toEqual([]);
    expect(second.certificate).toBeDefined();
  });

  it('keeps the IoT record across a replace that the caller cannot set', async () => {
    const created = await registry.create('devices', mqttDevice, admin);
    const { password: _p, csr: _c, ...fields } = mqttDevice;

    await registry.replace('devices', MN, { ...fields, model: '新型号' } as never, created.version, admin);

    expect(stored().model).toBe('新型号');
    expect(certs().map((c) => c.status)).toEqual(['active']);
  });
});

describe('markRetired', () => {
  it(`keeps the last ${KEEP_INACTIVE} inactive certificates and every live one`, () => {
    const cert = (n: number, status: 'active' | 'inactive') => ({
      certificateId: String(n).padStart(64, '0'),
      certificateArn: `arn:aws:iot:us-east-1:0:cert/${n}`,
      status,
      keySource: 'generated' as const,
      createdAt: NOW.toISOString(),
    });
    const iot: DeviceIot = {
      thingName: MN,
      certificates: [...Array.from({ length: 6 }, (_, i) => cert(i, 'inactive')), cert(6, 'active'), cert(7, 'active')],
    };

    const out = markRetired(iot, [cert(6, 'active').certificateId], 'rotated', NOW.toISOString());

    expect(out.certificates.map((c) => [Number(c.certificateId), c.status])).toEqual([
      [2, 'inactive'],
      [3, 'inactive'],
      [4, 'inactive'],
      [5, 'inactive'],
      [6, 'inactive'],
      [7, 'active'],
    ]);
  });
});
