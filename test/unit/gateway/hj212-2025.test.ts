import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayCommand } from '#shared/domain/commands/delivery.ts';
import type { CommandChannel } from '#shared/domain/commands/ports.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import {
  decodeFrame,
  encodeEncryptedFrame,
  encodeFrame,
  encodePacket,
  encodeSegment,
} from '#shared/domain/hj212/codec.ts';
import { FrameStream } from '#shared/domain/hj212/frame-stream.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { DEFAULT_KEY_SETTINGS, type DeviceKeyRing } from '#shared/domain/registry/device-keys.ts';
import { KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import type { DeviceRegistration, Enterprise, Outlet, StoredDevice } from '#shared/domain/registry/model.ts';
import { recordProtocolSeen } from '#shared/domain/registry/protocol-seen.ts';
import { DEVICES, ENTERPRISES, OUTLETS, TOWNSHIPS } from '#shared/domain/registry/qingyuan-seed.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { verifySecret } from '#shared/domain/secrets.ts';
import { type Gateway, startGateway } from '../../../gateway/server.ts';
import { MemoryChannel, MemoryCommandStore, MemoryDevices } from '../helpers/memory-commands.ts';
import { MemoryKeySealer } from '../helpers/memory-key-sealer.ts';
import { MemoryRegistryStore } from '../helpers/memory-registry-store.ts';
import { fastHash } from '../helpers/secrets.ts';
import { PREFIX, until } from './harness.ts';

/**
 * The gateway with HJ 212-2025 devices: encrypted data opened with the device's keys, refusals archived with their
 * reason, heartbeats, the device's key request answered with a pushed key, the 9012 that makes it current.
 */
const admin = { sub: 'u-admin-01' };
const MN = '33112600000000000000BW01';
const KEY = 'q7Rk2pXv9LmZ4tBw';
const PW = 'first-pw';

interface Client {
  socket: Socket;
  frames: Buffer[];
  send: (b: string | Buffer) => void;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const stream = new FrameStream();
  const frames: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const item of stream.push(chunk)) if (item.kind === 'frame') frames.push(Buffer.from(item.bytes));
  });
  return { socket, frames, send: (b) => socket.write(b) };
}

const packetOf = (frame: Buffer | undefined, keys?: Uint8Array[]): Hj212Packet => {
  const r = decodeFrame(frame ?? Buffer.alloc(0), keys ? { keys } : undefined);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.packet;
};

let qn = 0;
const data = (key: string | undefined, cp = 'DataTime=20260301120000;w01018-Avg=42.5,w01018-Flag=N', cn = '2051') => {
  const segment = encodeSegment({
    qn: `20260301120000${String(qn++ % 1000).padStart(3, '0')}`,
    st: '32',
    cn,
    pw: PW,
    mn: MN,
    flag: 9,
    cp,
  });
  return key === undefined ? encodeFrame(segment) : encodeEncryptedFrame(segment, Buffer.from(key));
};

describe('gateway with HJ 212-2025 devices', () => {
  let store: MemoryRegistryStore;
  let keys: KeyLifecycle;
  let gateway: Gateway;
  let commandStore: MemoryCommandStore;
  let devices: MemoryDevices;
  /** the gateway's command feed: what the platform publishes on `envwatch/gateway/cmd/<MN>` goes here */
  let feed: (topic: string, payload: Buffer) => void | Promise<void>;
  let published: { reason?: string; accepted: boolean; raw: Buffer; mn: string }[];
  let c: Client;
  const ring = () => (store.raw('devices', MN) as StoredDevice).sm4 as DeviceKeyRing;

  beforeEach(async () => {
    store = new MemoryRegistryStore();
    const sealer = new MemoryKeySealer();
    const now = () => new Date();
    keys = new KeyLifecycle(store, sealer, now, DEFAULT_KEY_SETTINGS);
    const registry = new RegistryService(store, now, fastHash, undefined, keys);
    commandStore = new MemoryCommandStore();
    devices = new MemoryDevices([{ mn: MN, st: '32', protocol: 'hj212-2025', transport: 'tcp', status: 'active' }]);
    const service = (channel: CommandChannel) => new CommandService({ devices, store: commandStore, channel });
    const device = DEVICES.find((d) => d.mn === MN) as DeviceRegistration;
    for (const t of TOWNSHIPS) await registry.create('townships', t, admin);
    await registry.create('enterprises', ENTERPRISES.find((e) => e.id === device.enterpriseId) as Enterprise, admin);
    await registry.create('outlets', OUTLETS.find((o) => o.id === device.outletId) as Outlet, admin);
    await registry.create('devices', { ...device, protocol: 'hj212-2025', password: PW, sm4Key: KEY }, admin);
    published = [];
    gateway = await startGateway({
      port: 0,
      topicPrefix: PREFIX,
      metricsIntervalMs: 0,
      registry: { deviceForAuthentication: async (mn) => (await store.get<StoredDevice>('devices', mn))?.item },
      keys: {
        open: (d) => keys.openKeys(d.mn, d.sm4),
        pushIfDue: (mn, channel, force, form) => keys.pushIfDue(mn, service(channel), force, undefined, form),
        pushFrame: (cmd, pw, form) => keys.pushFrame(cmd, pw, form),
        confirm: (mn, q, exe) => keys.confirm(mn, q, exe),
        settings: DEFAULT_KEY_SETTINGS,
        recordProtocol: (mn, version) => recordProtocolSeen(store, mn, version, new Date()),
      },
      verify: verifySecret,
      commands: {
        start: async (deliver) => {
          feed = deliver;
        },
        stop: async () => {},
      },
      publish: async (_topic, payload) => {
        const e = JSON.parse(payload) as { reason?: string; accepted: boolean; raw: string; mn: string };
        published.push({ ...e, raw: Buffer.from(e.raw, 'base64') });
      },
    });
    c = await client(gateway.port);
  });

  afterEach(async () => {
    c.socket.destroy();
    await gateway.stop();
  });

  it('registers the installer key sealed and shows only its state', async () => {
    expect(ring().versions).toMatchObject([{ version: 1, status: 'current' }]);
    expect(JSON.stringify(store.raw('devices', MN))).not.toContain(KEY);
    const shown = await new RegistryService(store).get('devices', MN);
    expect(JSON.stringify(shown)).not.toContain(ring().versions[0]?.sealed);
    expect(shown.item).toMatchObject({ sm4: { encrypting: true, versions: [{ version: 1, status: 'current' }] } });
  });

  it('opens encrypted minute data, acknowledges it and publishes the bytes as received', async () => {
    const frame = data(KEY);
    c.send(frame);
    await until(() => c.frames.length === 1, '9014');
    expect(packetOf(c.frames[0]).cn).toBe('9014');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ accepted: true, mn: MN });
    expect(published[0]?.raw.equals(frame as Buffer)).toBe(true);
    // the registry records the version the device last used, once per change
    await until(() => (store.raw('devices', MN) as StoredDevice).protocolSeen !== undefined, 'protocolSeen');
    expect((store.raw('devices', MN) as StoredDevice).protocolSeen?.version).toBe('2025');
    c.send(encodeFrame(encodeSegment({ st: '32', cn: '1011', pw: PW, mn: MN, flag: 5, cp: '' })));
    await until(() => (store.raw('devices', MN) as StoredDevice).protocolSeen?.version === '2017', '2017 seen');
    expect(store.audits.filter((a) => a.action === 'registry.device.protocol-seen')).toHaveLength(2);
  });

  it('refuses data in clear and data under a wrong key, archiving each with its reason', async () => {
    c.send(data(undefined));
    c.send(data('Zx8Wq3Lp5Rt7Vn2K'));
    await until(() => c.frames.length === 2, 'two replies');
    expect(c.frames.map((f) => packetOf(f).cp.params.QnRtn)).toEqual(['2', '9']);
    expect(published.map((p) => [p.accepted, p.reason])).toEqual([
      [false, 'plaintext-refused'],
      [false, 'decrypt-failed'],
    ]);
  });

  it('answers a heartbeat with 9013 when asked and publishes nothing', async () => {
    c.send(encodePacket({ qn: '20260301120000999', st: '91', cn: '9015', pw: PW, mn: MN, flag: 9, cp: '' }));
    c.send(encodePacket({ qn: '20260301120001000', st: '91', cn: '9015', pw: PW, mn: MN, flag: 8, cp: '' }));
    await until(() => c.frames.length === 1, '9013');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.frames).toHaveLength(1);
    expect(packetOf(c.frames[0])).toMatchObject({ cn: '9013', qn: '20260301120000999' });
    expect(published).toEqual([]);
  });

  it("answers the device's key request with 9013 and a new key, current once the device's 9012 arrives", async () => {
    const request = data(KEY, `SKCreateTime=20260301120000000`, '1014');
    c.send(request);
    await until(() => c.frames.length === 2, '9013 and the 1014 push');
    expect(packetOf(c.frames[0]).cn).toBe('9013');
    const push = packetOf(c.frames[1], [Buffer.from(KEY)]);
    expect(push).toMatchObject({ cn: '1014', mn: MN, encryption: { form: 'binary', key: 0 } });
    const newKey = push.cp.params.NewSK as string;
    expect(newKey).toHaveLength(16);
    expect(ring().versions.map((v) => v.status)).toEqual(['current', 'pending']);
    // the device switches at once: its data under the new key is read even before its 9012
    c.send(data(newKey));
    await until(() => published.length === 2, 'data under the new key');
    expect(published[1]?.accepted).toBe(true);
    c.send(encodePacket({ qn: push.qn, st: '91', cn: '9012', pw: PW, mn: MN, flag: 8, cp: 'ExeRtn=1' }));
    await until(() => ring().versions[1]?.status === 'current', 'the new key current');
    expect(ring().versions.map((v) => v.status)).toEqual(['previous', 'current']);
    // a packet still under the old key, within the grace window, is read too
    c.send(data(KEY));
    c.send(data(newKey));
    await until(() => published.length === 5, 'both');
    expect(published.slice(3).map((p) => p.accepted)).toEqual([true, true]);
    expect(store.audits.map((a) => a.action)).toContain('registry.device.sm4-key-activated');
  });

  it('records the pushed key as a 1014 command with its QN, the key never in the command', async () => {
    c.send(data(KEY, 'SKCreateTime=20260301120000000', '1014'));
    await until(() => c.frames.length === 2, '9013 and the 1014 push');
    const push = packetOf(c.frames[1], [Buffer.from(KEY)]);
    const command = await commandStore.get(MN, push.qn as string);
    expect(command).toMatchObject({ cn: '1014', route: 'tcp', state: 'sent', requestedBy: 'system:key-rotation' });
    expect(push.pw).toBe(PW);
    expect(JSON.stringify([command, commandStore.audits])).not.toContain(push.cp.params.NewSK as string);
    expect(ring().versions.at(-1)).toMatchObject({ status: 'pending', source: 'device-request', pushQn: push.qn });
  });

  it("writes the platform's key push on the device's connection, in the device's wire form, with its PW", async () => {
    // the device speaks the {0x..} text form
    const text = encodeEncryptedFrame(
      encodeSegment({
        qn: '20260301120500000',
        st: '32',
        cn: '2051',
        pw: PW,
        mn: MN,
        flag: 9,
        cp: 'DataTime=20260301120500;w01018-Avg=1,w01018-Flag=N',
      }),
      Buffer.from(KEY),
      'text',
    );
    c.send(text);
    await until(() => c.frames.length === 1, '9014');
    // the platform (the registry API, the rotation job) publishes on the gateway's command topic
    const platform = new MemoryChannel();
    platform.onPublish = (topic, payload) => feed(topic, payload);
    const push = await keys.rotate(MN, admin, new CommandService({ devices, store: commandStore, channel: platform }));
    expect(platform.published[0]?.payload).not.toContain('NewSK');
    expect(GatewayCommand.parse(JSON.parse(platform.published[0]?.payload as string)).keyPush).toEqual({ version: 2 });
    await until(() => c.frames.length === 2, 'the push');
    expect(c.frames[1]?.toString('latin1')).toContain('{0x');
    const frame = packetOf(c.frames[1], [Buffer.from(KEY)]);
    expect(frame).toMatchObject({ cn: '1014', qn: push.qn, pw: PW, encryption: { form: 'text' } });
    const newKey = frame.cp.params.NewSK as string;
    // a message whose push is no longer pending (sent again, stale) writes nothing
    c.send(encodePacket({ qn: push.qn, st: '91', cn: '9012', pw: PW, mn: MN, flag: 8, cp: 'ExeRtn=1' }));
    await until(() => ring().versions[1]?.status === 'current', 'the new key current');
    await feed(platform.published[0]?.topic as string, platform.published[0]?.bytes as Buffer);
    c.send(data(newKey));
    await until(() => c.frames.length === 3, '9014 under the new key');
    expect(packetOf(c.frames[2]).cn).toBe('9014');
    expect(gateway.stats().counters['commands.keyPushStale']).toBe(1);
  });
});

describe('gateway with an HJ 212-2025 device whose key is due', () => {
  it('pushes a due key (90 days) when the device next sends', async () => {
    {
      const store = new MemoryRegistryStore();
      const sealer = new MemoryKeySealer();
      const keys = new KeyLifecycle(store, sealer);
      // registered 91 days ago: the key is due
      const then = () => new Date(Date.now() - 91 * 86_400_000);
      const registry = new RegistryService(store, then, fastHash, undefined, new KeyLifecycle(store, sealer, then));
      const device = DEVICES.find((d) => d.mn === MN) as DeviceRegistration;
      for (const t of TOWNSHIPS) await registry.create('townships', t, admin);
      await registry.create('enterprises', ENTERPRISES.find((e) => e.id === device.enterpriseId) as Enterprise, admin);
      await registry.create('outlets', OUTLETS.find((o) => o.id === device.outletId) as Outlet, admin);
      await registry.create('devices', { ...device, protocol: 'hj212-2025', password: PW, sm4Key: KEY }, admin);
      const commandStore = new MemoryCommandStore();
      const devices = new MemoryDevices([
        { mn: MN, st: '32', protocol: 'hj212-2025', transport: 'tcp', status: 'active' },
      ]);
      const gateway = await startGateway({
        port: 0,
        topicPrefix: PREFIX,
        metricsIntervalMs: 0,
        registry: { deviceForAuthentication: async (mn) => (await store.get<StoredDevice>('devices', mn))?.item },
        keys: {
          open: (d) => keys.openKeys(d.mn, d.sm4),
          pushIfDue: (mn, channel, force, form) =>
            keys.pushIfDue(mn, new CommandService({ devices, store: commandStore, channel }), force, undefined, form),
          pushFrame: (cmd, pw, form) => keys.pushFrame(cmd, pw, form),
          confirm: (mn, q, exe) => keys.confirm(mn, q, exe),
          settings: DEFAULT_KEY_SETTINGS,
        },
        verify: verifySecret,
        publish: async () => {},
      });
      const c = await client(gateway.port);
      try {
        c.send(data(KEY));
        await until(() => c.frames.length === 2, '9014 and the push');
        expect(packetOf(c.frames[1], [Buffer.from(KEY)]).cn).toBe('1014');
        const ring = (store.raw('devices', MN) as StoredDevice).sm4 as DeviceKeyRing;
        expect(ring.versions.at(-1)).toMatchObject({ status: 'pending', source: 'scheduled' });
      } finally {
        c.socket.destroy();
        await gateway.stop();
      }
    }
  });
});
