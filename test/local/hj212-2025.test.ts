import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeEncryptedFrame,
  encodeFrame,
  encodeSegment,
  isoToBeijing,
} from '#shared/domain/hj212/codec.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { DEVICES } from '#shared/domain/registry/qingyuan-seed.ts';
import { packetOf, useDeviceLink } from './device-link.ts';
import { apiAs, eventually, usePlatform } from './helpers.ts';

/**
 * An HJ 212-2025 device on the embedded platform, from the real synthesized app: registered through the API with its
 * SM4 key (sealed by the local KMS facade), it sends encrypted minute data over TCP; an administrator asks for a new
 * key, the platform pushes it through the gateway command topic, the device confirms with 9012 and goes on under the new key
 * without a reading lost; heartbeats are answered; a re-sent (RF=1) backlog is stored once.
 */
const MN = '33112600000000000000BW25';
const KEY = 'q7Rk2pXv9LmZ4tBw';
const PW = 'Bw25-2026';

describe('HJ 212-2025 device on the local platform', () => {
  const local = usePlatform('hj212-2025');
  const api = apiAs(local, 'admin-1', ['admin']);
  const link = useDeviceLink(local);

  const base = Date.now() - 3 * 3_600_000;
  const minute = (i: number) => new Date(Math.floor(base / 60_000) * 60_000 + i * 60_000);
  let qn = 0;
  const segment = (cn: string, cp: string, extra: { resent?: boolean; flag?: number } = {}) =>
    encodeSegment({
      qn: isoToBeijing(new Date(base + qn++), true),
      st: '32',
      cn,
      pw: PW,
      mn: MN,
      flag: extra.flag ?? 9,
      ...(extra.resent ? { resent: true } : {}),
      cp,
    });
  const data = (i: number, key: string, extra: { resent?: boolean } = {}) =>
    encodeEncryptedFrame(
      segment('2051', `DataTime=${isoToBeijing(minute(i))};w01018-Avg=${20 + i},w01018-Flag=N`, extra),
      Buffer.from(key, 'latin1'),
    );
  const readings = async () => {
    const from = encodeURIComponent(minute(-1).toISOString());
    const to = encodeURIComponent(minute(60).toISOString());
    const r = await api('GET', `/devices/${MN}/readings?pollutant=w01018&kind=minute&from=${from}&to=${to}&limit=100`);
    return (r.body.items as { values: { avg: number } }[] | undefined) ?? [];
  };

  it('registers a 2025 device with its key, refusing a patterned one', async () => {
    const seed = DEVICES.find((d) => d.mn === '33112600000000000000BW01');
    const device = { ...seed, mn: MN, protocol: 'hj212-2025', password: PW };
    expect((await api('POST', '/registry/devices', { ...device, sm4Key: '0000000000000000' })).status).toBe(400);
    const created = await api('POST', '/registry/devices', { ...device, sm4Key: KEY });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(KEY);
    expect(created.body.item).toMatchObject({
      sm4: { encrypting: true, versions: [{ version: 1, status: 'current' }] },
    });
  });

  it('reads encrypted minute data, and refuses the same data in clear', async () => {
    expect(packetOf((await link.send(data(1, KEY), 1))[0]).cn).toBe('9014');
    const clear = encodeFrame(segment('2051', `DataTime=${isoToBeijing(minute(2))};w01018-Avg=99,w01018-Flag=N`));
    expect(packetOf((await link.send(clear, 1))[0]).cp.params.QnRtn).toBe('2');
    await eventually(async () => ((await readings()).length === 1 ? true : undefined), 15_000, 'the first reading');
  });

  it('answers heartbeats with 9013', async () => {
    const beat = encodeFrame(segment('9015', '').replace('ST=32', 'ST=91'));
    expect(packetOf((await link.send(beat, 1))[0]).cn).toBe('9013');
  });

  it('rotates the key mid-stream on an administrator request without losing a reading', async () => {
    const heard = link.frames.length;
    const asked = await api('POST', `/registry/devices/${MN}/sm4-key/rotation`);
    expect(asked.status).toBe(200);
    // the push is a device command: the gateway task holding the connection writes it at once (with the data acks)
    let push: Hj212Packet | undefined;
    for (let i = 3; push === undefined && i < 20; i++) {
      const replies = await link.send(data(i, KEY), 1);
      await new Promise((r) => setTimeout(r, 1_000));
      // the push may arrive before, between or after the data acks: every frame heard since the request
      const all = [...replies, ...link.frames.slice(heard)];
      const found = all
        .map((f) => decodeFrame(f, { keys: [Buffer.from(KEY, 'latin1')] }))
        .find((r) => r.ok && r.packet.cn === '1014');
      if (found?.ok) push = found.packet;
    }
    expect(push?.cp.params.NewSK).toHaveLength(16);
    const newKey = push?.cp.params.NewSK as string;
    const done = encodeFrame(
      encodeSegment({ qn: push?.qn as string, st: '91', cn: '9012', pw: PW, mn: MN, flag: 8, cp: 'ExeRtn=1' }),
    );
    link.write(done);
    await eventually(
      async () => {
        const d = await api('GET', `/registry/devices/${MN}`);
        const versions = (d.body.item as { sm4: { versions: { status: string }[] } }).sm4.versions;
        return versions.at(-1)?.status === 'current' ? true : undefined;
      },
      15_000,
      'the new key current',
    );
    expect(packetOf((await link.send(data(30, newKey), 1))[0]).cn).toBe('9014');
    // still within the grace window, a packet under the old key is read too
    expect(packetOf((await link.send(data(31, KEY), 1))[0]).cn).toBe('9014');
    const before = (await readings()).length;
    await eventually(async () => ((await readings()).length >= before ? true : undefined), 15_000, 'readings');
    const all = await eventually(
      async () => {
        const r = await readings();
        return r.some((x) => x.values.avg === 50) && r.some((x) => x.values.avg === 51) ? r : undefined;
      },
      15_000,
      'readings under both keys',
    );
    expect(all.map((r) => r.values.avg)).toContain(50);
    // a re-sent backlog (RF=1) of a minute already stored is stored once
    const count = all.length;
    expect(packetOf((await link.send(data(30, newKey, { resent: true }), 1))[0]).cn).toBe('9014');
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await readings()).length).toBe(count);
  });
});
