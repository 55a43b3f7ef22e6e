import { beforeEach, describe, expect, it } from 'vitest';
import { GatewayCommand } from '#shared/domain/commands/delivery.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { ConflictError, ValidationError } from '#shared/domain/errors.ts';
import { decodeFrame, encodeEncryptedFrame, encodeSegment } from '#shared/domain/hj212/codec.ts';
import {
  DEFAULT_KEY_SETTINGS,
  type DeviceKeyRing,
  generateKeyText,
  keyProblem,
  keyRequestAnswer,
  pushDue,
} from '#shared/domain/registry/device-keys.ts';
import { answerCommand, KeyLifecycle, keyPushFrame } from '#shared/domain/registry/key-lifecycle.ts';
import { rotateDueKeys } from '#shared/domain/registry/key-rotation-job.ts';
import type { DeviceRegistration, Enterprise, Outlet } from '#shared/domain/registry/model.ts';
import { DEVICES, ENTERPRISES, OUTLETS, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { MemoryChannel, MemoryCommandStore, MemoryDevices } from '../helpers/memory-commands.ts';
import { MemoryKeySealer } from '../helpers/memory-key-sealer.ts';
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
  let channel: MemoryChannel;
  let commandStore: MemoryCommandStore;
  let devices: MemoryDevices;
  let commands: CommandService;
  let now: Date;
  let keys: KeyLifecycle;
  let generated: string[];
  const ring = () => (store.raw('devices', MN) as { sm4?: DeviceKeyRing }).sm4 as DeviceKeyRing;

  beforeEach(async () => {
    store = new MemoryRegistryStore();
    sealer = new MemoryKeySealer();
    now = new Date('2026-03-01T08:00:00.000Z');
    channel = new MemoryChannel();
    commandStore = new MemoryCommandStore();
    devices = new MemoryDevices([{ mn: MN, st: '32', protocol: 'hj212-2025', transport: 'mqtt', status: 'active' }]);
    commands = new CommandService({ devices, store: commandStore, channel, now: () => now.getTime() });
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

  it('pushes a new key to an MQTT device as a 1014 command under the current key, current only on the 9012, the old one kept for the grace window', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const old = Buffer.from(INSTALLER_KEY, 'latin1');
    expect(await keys.pushIfDue(MN, commands)).toBeUndefined();
    const push = await keys.pushIfDue(MN, commands, 'device-request');
    expect(push).toMatchObject({ version: 2, source: 'device-request', command: { cn: '1014', status: 'sent' } });
    // the frame on the device's command topic opens only with the current key and carries the new key
    expect(channel.published.map((p) => p.topic)).toEqual([`envwatch/devices/${MN}/cmd`]);
    const sent = channel.published[0]?.bytes as Buffer;
    expect(decodeFrame(sent).ok).toBe(false);
    expect(sent.includes(Buffer.from((generated[0] as string).slice(-5)))).toBe(false);
    const opened = decodeFrame(sent, { keys: [old] });
    if (!opened.ok) throw new Error(opened.detail);
    expect(opened.packet).toMatchObject({ cn: '1014', mn: MN, qn: push?.qn, flag: 9, encryption: { form: 'binary' } });
    expect(opened.packet.pw).toBeUndefined();
    expect(opened.packet.cp.params.NewSK).toBe(generated[0]);
    expect(opened.packet.cp.params.SKCreateTime).toMatch(/^\d{17}$/);
    // the command is recorded under the push's QN, its CP and audit without the key
    const stored = await commandStore.get(MN, push?.qn as string);
    expect(stored).toMatchObject({ cn: '1014', requestedBy: 'system:key-rotation', route: 'mqtt' });
    expect(JSON.stringify([stored, commandStore.audits])).not.toContain(generated[0]);
    expect(commandStore.audits).toMatchObject([{ action: 'device.command.key-push' }]);
    // pending: not current yet, but it already opens packets (the device may switch before its 9012 arrives)
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'pending']);
    expect(ring().versions[1]).toMatchObject({ pushQn: push?.qn, source: 'device-request' });
    const fresh = Buffer.from(generated[0] as string, 'latin1');
    expect(await keys.openKeys(MN, ring())).toEqual([old, fresh]);
    expect(await keys.confirm(MN, 'another-qn', '1')).toBe(false);
    // the device's 9012, as ingest hands it on: the command executed and the key current
    const at = now.toISOString();
    expect(await answerCommand(commandStore, keys, MN, push?.qn, { cn: '9011', code: 1, at })).toBe(true);
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'pending']);
    expect(await answerCommand(commandStore, keys, MN, push?.qn, { cn: '9012', code: 1, at })).toBe(true);
    expect((await commands.get(MN, push?.qn as string)).status).toBe('executed');
    expect(ring().versions.map((v) => v.status)).toEqual(['previous', 'current']);
    // the gateway sees a TCP device's 9012 too: confirming again changes nothing
    expect(await keys.confirm(MN, push?.qn as string, '1')).toBe(false);
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
    expect(JSON.stringify([store.raw('devices', MN), store.audits])).not.toContain(generated[0]);
  });

  it('sends a TCP device only the key version, which the gateway turns into the frame with the PW', async () => {
    (devices.devices[0] as { transport: string }).transport = 'tcp';
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const push = await keys.rotate(MN, admin, commands);
    expect(push).toMatchObject({ version: 2, source: 'admin', command: { route: 'tcp' } });
    const message = channel.published[0];
    expect(message?.topic).toBe(`envwatch/gateway/cmd/${MN}`);
    expect(message?.payload).not.toContain(generated[0]);
    const c = GatewayCommand.parse(JSON.parse(message?.payload as string));
    expect(c).toMatchObject({ cn: '1014', qn: push.qn, keyPush: { version: 2 }, flag: 9 });
    const frame = (await keys.pushFrame(c, 'the-pw', 'text')) as Buffer;
    expect(frame.toString('latin1')).toContain('{0x');
    const opened = decodeFrame(frame, { keys: [Buffer.from(INSTALLER_KEY, 'latin1')] });
    if (!opened.ok) throw new Error(opened.detail);
    expect(opened.packet).toMatchObject({ pw: 'the-pw', qn: push.qn, encryption: { form: 'text' } });
    expect(opened.packet.cp.params.NewSK).toBe(generated[0]);
    // a message naming another version or QN, or a push no longer pending, writes nothing
    expect(await keys.pushFrame({ ...c, keyPush: { version: 3 } }, 'the-pw', 'binary')).toBeUndefined();
    expect(await keys.pushFrame({ ...c, qn: '20260301160000001' }, 'the-pw', 'binary')).toBeUndefined();
    await keys.confirm(MN, push.qn, '1');
    expect(await keys.pushFrame(c, 'the-pw', 'binary')).toBeUndefined();
    expect(store.audits.at(-2)).toMatchObject({ actor: admin.sub, action: 'registry.device.sm4-key-pushed' });
  });

  it('keeps every character of the new key inside encrypted blocks, whatever the wire form', () => {
    const key = Buffer.from(INSTALLER_KEY, 'latin1');
    for (let i = 0; i < 50; i++) {
      const newKey = generateKeyText();
      const c = { qn: '20260301160000000', st: '32', mn: MN, flag: 9, cp: 'SKCreateTime=20260301160000000' };
      for (const form of ['binary', 'text'] as const) {
        const wire = keyPushFrame(c, newKey, key, form, 'pw').toString('latin1');
        // the CP is 53 characters: 48 encrypted, a 5-character tail in clear, which must not be the key's end
        for (const part of [newKey, newKey.slice(0, 5), newKey.slice(-5)]) expect(wire).not.toContain(part);
        expect(wire).toMatch(/0000&&[0-9A-F]{4}\r\n$/);
      }
    }
  });

  it('marks a refused push failed (9012 ExeRtn≠1) and keeps the current key', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const push = await keys.pushIfDue(MN, commands, 'admin');
    const at = now.toISOString();
    await answerCommand(commandStore, keys, MN, push?.qn, { cn: '9012', code: 5, at });
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'failed']);
    expect((await commands.get(MN, push?.qn as string)).status).toBe('failed');
  });

  it('leaves the command undelivered and the ring unchanged when the record changed meanwhile', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const racing = new CommandService({
      devices,
      store: commandStore,
      channel,
      now: () => now.getTime(),
    });
    const send = racing.send.bind(racing);
    const push = keys.pushIfDue(
      MN,
      {
        send: async (input) => {
          // another writer changes the device between the read and the push
          await keys.pushIfDue(MN, commands, 'admin');
          return send(input);
        },
        resend: racing.resend.bind(racing),
      },
      'device-request',
    );
    await expect(push).rejects.toThrow();
    const listed = await commandStore.list(MN, 10);
    expect(listed.items.map((c) => c.state).sort()).toEqual(['sent', 'undelivered']);
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'pending']);
  });

  it('is due after 90 days, and again when a push stays unconfirmed past the retry interval', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    expect(pushDue(ring(), now, DEFAULT_KEY_SETTINGS)).toBeUndefined();
    expect(pushDue(ring(), new Date(now.getTime() + 90 * DAY), DEFAULT_KEY_SETTINGS)).toBe('scheduled');
    now = new Date(now.getTime() + 90 * DAY);
    const push = await keys.pushIfDue(MN, commands);
    expect(push).toMatchObject({ version: 2, source: 'scheduled' });
    expect(await keys.pushIfDue(MN, commands)).toBeUndefined();
    now = new Date(now.getTime() + DEFAULT_KEY_SETTINGS.pushRetryMinutes * 60_000);
    expect(await keys.pushIfDue(MN, commands)).toMatchObject({ version: 3, source: 'scheduled' });
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'failed', 'pending']);
  });

  it("answers a device's key request with the pending push again (same key, same QN), never a second key, at most once a minute", async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const old = Buffer.from(INSTALLER_KEY, 'latin1');
    const first = await keys.answerRequest(MN, commands);
    expect(first).toMatchObject({ version: 2, source: 'device-request', command: { cn: '1014', status: 'sent' } });
    expect(first?.resent).toBeUndefined();
    // asked again at once: nothing (the push just went out)
    now = new Date(now.getTime() + 10_000);
    expect(await keys.answerRequest(MN, commands)).toBeUndefined();
    // a minute later, with the command past its answer deadline: the same push again, under the same QN
    now = new Date(now.getTime() + DEFAULT_KEY_SETTINGS.resendSeconds * 1000);
    expect((await commands.get(MN, first?.qn as string)).status).toBe('timed_out');
    const again = await keys.answerRequest(MN, commands);
    expect(again).toMatchObject({ version: 2, qn: first?.qn, resent: true, command: { status: 'sent' } });
    expect((await commands.get(MN, first?.qn as string)).status).toBe('sent');
    expect(channel.published).toHaveLength(2);
    const frames = channel.published.map((p) => {
      const opened = decodeFrame(p.bytes as Buffer, { keys: [old] });
      if (!opened.ok) throw new Error(opened.detail);
      return opened.packet;
    });
    expect(frames.map((f) => f.qn)).toEqual([first?.qn, first?.qn]);
    expect(frames.map((f) => f.cp.params.NewSK)).toEqual([generated[0], generated[0]]);
    expect(generated).toHaveLength(1);
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'pending']);
    expect(await commandStore.list(MN, 10)).toMatchObject({ items: [{ qn: first?.qn }] });
    expect(store.audits.map((a) => a.action)).toEqual([
      'registry.device.sm4-key-enrolled',
      'registry.device.sm4-key-pushed',
      'registry.device.sm4-key-resent',
    ]);
    expect(store.audits.at(-1)).toMatchObject({ detail: { version: 2, qn: first?.qn } });
    expect(JSON.stringify([store.raw('devices', MN), store.audits, commandStore.items])).not.toContain(generated[0]);
    // the device's 9012 to the push it got twice makes that key current
    await answerCommand(commandStore, keys, MN, first?.qn, { cn: '9012', code: 1, at: now.toISOString() });
    expect(ring().versions.map((v) => v.status)).toEqual(['previous', 'current']);
  });

  it('mints a key on request at most once an hour and four times a day, through the gateway path (pushIfDue) too', async () => {
    (devices.devices[0] as { transport: string }).transport = 'tcp';
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const confirmLatest = async () => {
      const pending = ring().versions.at(-1);
      expect(pending?.status).toBe('pending');
      await keys.confirm(MN, pending?.pushQn as string, '1');
    };
    const minted: (number | undefined)[] = [];
    for (let i = 0; i < 6; i++) {
      const push = await keys.pushIfDue(MN, commands, 'device-request');
      minted.push(push?.version);
      if (push) await confirmLatest();
      // asked again within the hour: nothing, and nothing pending to send again
      now = new Date(now.getTime() + 59 * 60_000);
      expect(await keys.pushIfDue(MN, commands, 'device-request')).toBeUndefined();
      now = new Date(now.getTime() + 2 * 60_000);
    }
    // six requests an hour apart: four keys (the day's limit), then none until the first is a day old
    expect(minted).toEqual([2, 3, 4, 5, undefined, undefined]);
    expect(keyRequestAnswer(ring(), now, DEFAULT_KEY_SETTINGS)).toEqual({ kind: 'none', why: 'daily-limit' });
    now = new Date(Date.parse(ring().versions[1]?.createdAt as string) + DAY + 1000);
    expect(keyRequestAnswer(ring(), now, DEFAULT_KEY_SETTINGS)).toEqual({ kind: 'new' });
    // over TCP the message names the version only, for the gateway task holding the connection
    expect(channel.published.every((p) => p.topic === `envwatch/gateway/cmd/${MN}`)).toBe(true);
    expect(channel.published.map((p) => JSON.parse(p.payload as string).keyPush.version)).toEqual([2, 3, 4, 5]);
  });

  it('pushes a new key when the pending push it would send again has no open command any more', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const first = await keys.answerRequest(MN, commands);
    // the command was closed (its 9011 refused it) without the key being refused
    await commands.answer(MN, first?.qn, { cn: '9011', code: 2, at: now.toISOString() });
    now = new Date(now.getTime() + 61_000);
    const next = await keys.answerRequest(MN, commands);
    expect(next).toMatchObject({ version: 3, source: 'device-request' });
    expect(next?.qn).not.toBe(first?.qn);
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'failed', 'pending']);
  });

  it('answers no key request of a device that does not encrypt', async () => {
    expect(await keys.answerRequest(MN, commands)).toBeUndefined();
    expect(keyRequestAnswer(undefined, now, DEFAULT_KEY_SETTINGS)).toEqual({ kind: 'none', why: 'not-encrypting' });
    expect(channel.published).toEqual([]);
  });

  it('refuses an on-demand rotation for a device that does not encrypt', async () => {
    await expect(keys.rotate(MN, admin, commands)).rejects.toBeInstanceOf(ConflictError);
    expect(channel.published).toEqual([]);
  });

  it('opens data encrypted under each key of the ring in turn', async () => {
    await keys.enroll(MN, INSTALLER_KEY, admin);
    const seg = encodeSegment({ st: '32', cn: '2051', mn: MN, flag: 8, cp: 'DataTime=20260301160000;w01018-Avg=20' });
    const frame = encodeEncryptedFrame(seg, Buffer.from(INSTALLER_KEY, 'latin1'));
    const r = decodeFrame(frame, { keys: await keys.openKeys(MN, ring()), requireEncryption: true });
    expect(r.ok).toBe(true);
  });
});

describe('rotateDueKeys', () => {
  it('pushes to every encrypting device whose key is due, up to the cap, and defers the rest', async () => {
    const store = new MemoryRegistryStore();
    const sealer = new MemoryKeySealer();
    let now = new Date('2026-01-05T08:00:00.000Z');
    const keys = new KeyLifecycle(store, sealer, () => now);
    const registry = new RegistryService(store, () => now, fastHash, undefined, keys);
    for (const t of TOWNSHIPS) await registry.create('townships', t, admin);
    for (const e of ENTERPRISES) await registry.create('enterprises', e, admin);
    for (const o of OUTLETS) await registry.create('outlets', o, admin);
    const seeded = DEVICES.filter((d) => d.protocol !== 'json-mqtt').slice(0, 4);
    for (const [i, d] of seeded.entries()) {
      // three devices encrypt, one does not
      const body = {
        ...(d as DeviceRegistration),
        password: 'pw-123456',
        ...(i < 3 ? { protocol: 'hj212-2025', sm4Key: generateKeyText() } : {}),
      };
      await registry.create('devices', body as DeviceRegistration, admin);
    }
    const channel = new MemoryChannel();
    const commandStore = new MemoryCommandStore();
    const devices = new MemoryDevices(
      seeded.map((d) => ({
        mn: d.mn,
        st: d.st,
        protocol: 'hj212-2025' as const,
        transport: 'tcp' as const,
        status: 'active' as const,
      })),
    );
    const commands = new CommandService({ devices, store: commandStore, channel, now: () => now.getTime() });
    const deps = { registry: store, lifecycle: keys, commands, settings: DEFAULT_KEY_SETTINGS };
    expect(await rotateDueKeys(deps, now, { maxPushesPerRun: 2 })).toMatchObject({ due: 0, pushed: 0 });
    now = new Date(now.getTime() + 91 * DAY);
    const first = await rotateDueKeys(deps, now, { maxPushesPerRun: 2 });
    expect(first).toMatchObject({ due: 3, pushed: 2, deferred: 1, failed: 0 });
    expect(channel.published).toHaveLength(2);
    const second = await rotateDueKeys(deps, now, { maxPushesPerRun: 2 });
    expect(second).toMatchObject({ due: 1, pushed: 1, deferred: 0 });
    expect(first.pushes.every((p) => p.source === 'scheduled')).toBe(true);
  });
});
