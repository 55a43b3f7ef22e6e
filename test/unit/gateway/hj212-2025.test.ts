import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
  let published: { reason?: string; accepted: boolean; raw: Buffer; mn: string }[];
  let c: Client;
  const ring = () => (store.raw('devices', MN) as StoredDevice).sm4 as DeviceKeyRing;

  beforeEach(async () => {
    store = new MemoryRegistryStore();
    const sealer = new MemoryKeySealer();
    keys = new KeyLifecycle(store, sealer, () => new Date(), DEFAULT_KEY_SETTINGS);
    const registry = new RegistryService(store, () => new Date(), fastHash, undefined, keys);
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
        pushIfDue: (mn, link, force) => keys.pushIfDue(mn, link, force),
        confirm: (mn, q, exe) => keys.confirm(mn, q, exe),
        settings: DEFAULT_KEY_SETTINGS,
        recordProtocol: (mn, version) => recordProtocolSeen(store, mn, version, new Date()),
      },
      verify: verifySecret,
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

  it('pushes a key an administrator asked for when the device next sends', async () => {
    await keys.requestRotation(MN, admin);
    c.send(data(KEY));
    await until(() => c.frames.length === 2, '9014 and the push');
    expect(packetOf(c.frames[1], [Buffer.from(KEY)]).cn).toBe('1014');
    expect(ring().versions.at(-1)).toMatchObject({ status: 'pending', source: 'admin' });
  });
});
