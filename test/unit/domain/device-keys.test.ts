import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '#shared/domain/errors.ts';
import { decodeFrame, encodeEncryptedFrame, encodeSegment } from '#shared/domain/hj212/codec.ts';
import {
  DEFAULT_KEY_SETTINGS,
  type DeviceKeyRing,
  generateKeyText,
  keyProblem,
  pushDue,
} from '#shared/domain/registry/device-keys.ts';
import { KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import type { DeviceRegistration, Enterprise, Outlet } from '#shared/domain/registry/model.ts';
import { DEVICES, ENTERPRISES, OUTLETS, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { MemoryDeviceLink, MemoryKeySealer } from '../helpers/memory-key-sealer.ts';
import { MemoryRegistryStore } from '../helpers/memory-registry-store.ts';
import { fastHash } from '../helpers/secrets.ts';

const admin = { sub: 'u-admin-01' };
const MN = '33112600000000000000BW01';
const INSTALLER_KEY = 'q7Rk2pXv9LmZ4tBw';
const DAY = 86_400_000;

describe('keyProblem', () => {
  it('accepts a random key and every generated one', () => {
    expect(keyProblem(INSTALLER_KEY)).toBeUndefined();
    for (let i = 0; i < 200; i++) expect(keyProblem(generateKeyText())).toBeUndefined();
  });

  it.each([
    ['0000000000000000', 'fewer than 8'],
    ['1234567890123456', 'run of consecutive'],
    ['abcdefgh12345678', 'run of consecutive'],
    ['Ab3$Ab3$Ab3$Ab3$', 'fewer than 8'],
    ['q7Rk2pXvq7Rk2pXv', 'repeats'],
    ['msbE74gsiSHSEh5e', 'published'],
    ['short', '16 printable'],
    ['q7Rk2pXv9LmZ4t;w', '16 printable'],
    ['q7Rk2pXv9LmZ4t=w', '16 printable'],
  ])('refuses %s (%s)', (key, why) => {
    expect(keyProblem(key)).toMatch(why);
  });
});

describe('KeyLifecycle', () => {
  let store: MemoryRegistryStore;
  let sealer: MemoryKeySealer;
  let link: MemoryDeviceLink;
  let now: Date;
  let keys: KeyLifecycle;
  let generated: string[];
  const ring = () => (store.raw('devices', MN) as { sm4?: DeviceKeyRing }).sm4 as DeviceKeyRing;

  beforeEach(async () => {
    store = new MemoryRegistryStore();
    sealer = new MemoryKeySealer();
    link = new MemoryDeviceLink();
    now = new Date('2026-03-01T08:00:00.000Z');
    generated = [];
    keys = new KeyLifecycle(
      store,
      sealer,
      () => now,
      DEFAULT_KEY_SETTINGS,
      () => {
        const k = generateKeyText();
        generated.push(k);
        return k;
      },
    );
    const registry = new RegistryService(store, () => now, fastHash);
    const device = { ...(DEVICES.find((d) => d.mn === MN) as DeviceRegistration), password: 'first-pw' };
    for (const t of TOWNSHIPS) await registry.create('townships', t, admin);
    const e = ENTERPRISES.find((x) => x.id === device.enterpriseId) as Enterprise;
    await registry.create('enterprises', e, admin);
    await registry.create('outlets', OUTLETS.find((o) => o.id === device.outletId) as Outlet, admin);
    await registry.create('devices', device, admin);
    store.audits.length = 0;
  });

  it('enrolls the installer key sealed, never in plain, and audits it without the key', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const r = ring();
    expect(r.encrypting).toBe(true);
    expect(r.versions).toMatchObject([{ version: 1, status: 'current', source: 'registration' }]);
    const everything = JSON.stringify([store.raw('devices', MN), store.audits]);
    expect(everything).not.toContain(INSTALLER_KEY);
    expect(store.audits).toMatchObject([
      { actor: admin.sub, action: 'registry.device.sm4-key-enrolled', detail: { version: 1 } },
    ]);
    expect(await keys.openKeys(MN, r)).toEqual([Buffer.from(INSTALLER_KEY, 'latin1')]);
  });

  it('refuses a patterned key at registration and a second enrolment', async () => {
    await expect(keys.enroll(MN, '0000000000000000', admin)).rejects.toBeInstanceOf(ValidationError);
    await keys.enroll(MN, INSTALLER_KEY, admin);
    await expect(keys.enroll(MN, generateKeyText(), admin)).rejects.toBeInstanceOf(ConflictError);
  });

  it('pushes a new key under the current one, makes it current only on the 9012, and keeps the old one for the grace window', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const old = Buffer.from(INSTALLER_KEY, 'latin1');
    expect(await keys.pushIfDue(MN, link)).toBeUndefined();
    const push = await keys.pushIfDue(MN, link, 'device-request');
    expect(push).toMatchObject({ version: 2, delivered: true, source: 'device-request' });
    // the 1014 frame opens only with the current key and carries the new key
    const sent = link.sent[0]?.frame as Buffer;
    expect(decodeFrame(sent).ok).toBe(false);
    const opened = decodeFrame(sent, { keys: [old] });
    if (!opened.ok) throw new Error(opened.detail);
    expect(opened.packet).toMatchObject({ cn: '1014', mn: MN, qn: push?.qn, encryption: { form: 'binary' } });
    expect(opened.packet.cp.params.NewSK).toBe(generated[0]);
    // pending: not current yet, but it already opens packets (the device may switch before its 9012 arrives)
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'pending']);
    const fresh = Buffer.from(generated[0] as string, 'latin1');
    expect(await keys.openKeys(MN, ring())).toEqual([old, fresh]);
    expect(await keys.confirm(MN, 'another-qn', '1')).toBe(false);
    expect(await keys.confirm(MN, push?.qn as string, '1')).toBe(true);
    expect(ring().versions.map((v) => v.status)).toEqual(['previous', 'current']);
    expect(await keys.openKeys(MN, ring())).toEqual([fresh, old]);
    now = new Date(now.getTime() + (DEFAULT_KEY_SETTINGS.graceHours + 1) * 3_600_000);
    expect(await keys.openKeys(MN, ring())).toEqual([fresh]);
    // every past key is kept, sealed
    expect(ring().versions).toHaveLength(2);
    expect(store.audits.map((a) => a.action)).toEqual([
      'registry.device.sm4-key-enrolled',
      'registry.device.sm4-key-pushed',
      'registry.device.sm4-key-activated',
    ]);
    expect(JSON.stringify(store.audits)).not.toContain(generated[0]);
  });

  it('marks a refused push failed and keeps the current key', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const push = await keys.pushIfDue(MN, link, 'admin');
    expect(await keys.confirm(MN, push?.qn as string, '2')).toBe(false);
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'failed']);
  });

  it('is due after 90 days, on an administrator request, and again when a push stays unconfirmed', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    expect(pushDue(ring(), now, DEFAULT_KEY_SETTINGS)).toBeUndefined();
    expect(pushDue(ring(), new Date(now.getTime() + 90 * DAY), DEFAULT_KEY_SETTINGS)).toBe('scheduled');
    await keys.requestRotation(MN, admin);
    expect(pushDue(ring(), now, DEFAULT_KEY_SETTINGS)).toBe('admin');
    link.connected = false;
    const push = await keys.pushIfDue(MN, link);
    expect(push).toMatchObject({ version: 2, delivered: false, source: 'admin' });
    expect(ring().rotationRequestedAt).toBeUndefined();
    expect(await keys.pushIfDue(MN, link)).toBeUndefined();
    now = new Date(now.getTime() + DEFAULT_KEY_SETTINGS.pushRetryMinutes * 60_000);
    link.connected = true;
    expect(await keys.pushIfDue(MN, link)).toMatchObject({ version: 3, delivered: true, source: 'admin' });
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'failed', 'pending']);
  });

  it('opens data encrypted under each key of the ring in turn', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const seg = encodeSegment({ st: '32', cn: '2051', mn: MN, flag: 8, cp: 'DataTime=20260301160000;w01018-Avg=20' });
    const frame = encodeEncryptedFrame(seg, Buffer.from(INSTALLER_KEY, 'latin1'));
    const r = decodeFrame(frame, { keys: await keys.openKeys(MN, ring()), requireEncryption: true });
    expect(r.ok).toBe(true);
  });
});
