import net from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeEncryptedFrame, encodePacket, encodeSegment } from '#shared/domain/hj212/codec.ts';
import { FrameStream } from '#shared/domain/hj212/frame-stream.ts';
import { dataAck, noticeAck, QN_RTN, qnRtn, rejectionReply } from '#shared/domain/hj212/replies.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { JsonTelemetry } from '#shared/domain/ingest/envelope.ts';
import { generateKeyText, keyBytes } from '#shared/domain/registry/device-keys.ts';
import type { DeviceKeyAccess } from '../../../scripts/simulate/credentials.ts';
import { UPGRADED_TO_2025 } from '../../../scripts/simulate/devices.ts';
import { runSimulation, type SimSummary, type Simulation } from '../../../scripts/simulate/runner.ts';
import { TcpLink } from '../../../scripts/simulate/tcp-link.ts';

/** The HJ 212-2025 devices' keys as the registry would hand them over: one installer key each, kept in memory. */
function memoryKeys(): DeviceKeyAccess & { held: Map<string, Buffer[]>; rotations: string[] } {
  const held = new Map<string, Buffer[]>();
  const rotations: string[] = [];
  return {
    held,
    rotations,
    async keys(device) {
      const keys = held.get(device.mn) ?? [keyBytes(generateKeyText())];
      held.set(device.mn, keys);
      return keys;
    },
    save(device, keys) {
      held.set(device.mn, [...keys]);
    },
    async rotate(device) {
      rotations.push(device.mn);
      return `${device.label}: rotation requested`;
    },
  };
}

/** every key any simulated device holds or held: what the platform would open their packets with */
const everyKey = (k: ReturnType<typeof memoryKeys>) => [...k.held.values()].flat();

/**
 * A stand-in gateway: acknowledges per Flag (9013 for heartbeats), answers bad CRC with QnRtn=9 and unknown MNs with
 * QnRtn=4; opens encrypted packets with `keys()`.
 */
interface FakeGateway {
  port: number;
  packets: Hj212Packet[];
  rejected: string[];
  sockets: Set<net.Socket>;
  server: net.Server;
  /** decides what to do with a decoded packet; default: answer per protocol */
  behaviour: (p: Hj212Packet, socket: net.Socket, seen: number) => void;
  keys: () => Buffer[];
}

async function fakeGateway(): Promise<FakeGateway> {
  const g: FakeGateway = {
    port: 0,
    packets: [],
    rejected: [],
    sockets: new Set(),
    server: net.createServer(),
    behaviour: (p, socket) => defaultAnswer(p, socket),
    keys: () => [],
  };
  g.server.on('connection', (socket) => {
    g.sockets.add(socket);
    socket.on('close', () => g.sockets.delete(socket));
    socket.on('error', () => {});
    const stream = new FrameStream();
    socket.on('data', (chunk: Buffer) => {
      for (const item of stream.push(chunk)) {
        if (item.kind !== 'frame') continue;
        // as the gateway does, keys only for the devices that encrypt (a 2017 frame with a bad CRC stays bad-crc)
        const mn = /;MN=([0-9A-Za-z]+);/.exec(item.bytes.toString('latin1'))?.[1] ?? '';
        const encrypting = UPGRADED_TO_2025.includes(mn);
        const r = decodeFrame(item.bytes, encrypting ? { keys: g.keys(), requireEncryption: true } : undefined);
        if (r.ok) {
          g.packets.push(r.packet);
          g.behaviour(r.packet, socket, g.packets.length);
        } else {
          g.rejected.push(r.reason);
          const reply = rejectionReply(r);
          if (reply) socket.write(reply);
        }
      }
    });
  });
  await new Promise<void>((r) => g.server.listen(0, '127.0.0.1', r));
  g.port = (g.server.address() as net.AddressInfo).port;
  return g;
}

function defaultAnswer(p: Hj212Packet, socket: net.Socket): void {
  if (p.mn.includes('SIM')) socket.write(qnRtn(p, QN_RTN.mnError));
  else if (p.cn === '9015' && p.ack) socket.write(noticeAck(p));
  else if (p.ack && !p.cn.startsWith('90')) socket.write(dataAck(p));
}

async function closeGateway(g: FakeGateway): Promise<void> {
  for (const s of g.sockets) s.destroy();
  await new Promise<void>((r) => g.server.close(() => r()));
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('runSimulation', () => {
  let gateway: FakeGateway;
  let broker: Aedes;
  let mqttServer: net.Server;
  let mqttPort = 0;
  const published: { topic: string; payload: string; raw: Buffer }[] = [];
  const sims: Simulation[] = [];

  beforeAll(async () => {
    gateway = await fakeGateway();
    broker = await Aedes.createBroker();
    broker.on('publish', (packet, client) => {
      if (client)
        published.push({ topic: packet.topic, payload: packet.payload.toString(), raw: Buffer.from(packet.payload) });
    });
    mqttServer = net.createServer(broker.handle);
    await new Promise<void>((r) => mqttServer.listen(0, '127.0.0.1', r));
    mqttPort = (mqttServer.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop(0)));
    await closeGateway(gateway);
    await new Promise<void>((r) => mqttServer.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
  });

  it('sends every seeded device over TCP and MQTT, counts acks and rejections, and stops with a summary', async () => {
    const lines: string[] = [];
    const keys = memoryKeys();
    gateway.keys = () => everyKey(keys);
    const sim = runSimulation(
      {
        keys,
        speed: 3600,
        seed: 42,
        start: Date.parse('2026-11-30T09:59:00+08:00'),
        tickMs: 20,
        reportEveryMs: 0,
        includeUnregistered: true,
        extraDevices: 1,
        inject: ['badcrc FA01 2'],
        log: (l) => lines.push(l),
      },
      { hj212: `tcp://127.0.0.1:${gateway.port}`, mqtt: `mqtt://127.0.0.1:${mqttPort}` },
    );
    sims.push(sim);
    expect(sim.devices.map((d) => d.label)).toEqual([
      'BW01',
      'FW01',
      'FA01',
      'PW01',
      'PA01',
      'AB01',
      'GA01',
      'SIM00001',
    ]);
    const byLabel = (s: SimSummary, label: string) => s.devices.find((d) => d.label === label);
    await until('hourly data and acknowledgements from every device', () => {
      const s = sim.stats();
      return (
        gateway.packets.some((p) => p.cn === '2061' && p.mn.endsWith('GA01')) &&
        (byLabel(s, 'FA01')?.rejected ?? 0) >= 2 &&
        (byLabel(s, 'SIM00001')?.rejected ?? 0) >= 1 &&
        (byLabel(s, 'FW01')?.acked ?? 0) > 0 &&
        ['BW01', 'PA01', 'AB01', 'GA01'].every((l) => (byLabel(s, l)?.acked ?? 0) > 0) &&
        gateway.packets.some((p) => p.mn.endsWith('PW01'))
      );
    });
    expect(sim.command('exceed BW01 cod 3')).toMatch(/w01018 at 3 × 100 = 300/);
    expect(sim.command('exceed PA01 nmhc 3')).toMatch(/no limit for a24088/);
    expect(sim.command('badcrc FW01 1')).toMatch(/no CRC/);
    expect(sim.command('gap ZZZZ 5')).toMatch(/no simulated device "ZZZZ"/);
    expect(sim.command('status')).toMatch(/BW01 .*hj212-2017 .*tcp/);
    await until('an exceeding COD value', () =>
      gateway.packets.some((p) => p.mn.endsWith('BW01') && (p.cp.pollutants.w01018?.values.Rtd ?? 0) > 250),
    );

    const summary = await sim.stop();
    const fa = byLabel(summary, 'FA01');
    expect(fa?.rejectReasons).toEqual({ 'QnRtn=9': 2 });
    expect(gateway.rejected.filter((r) => r === 'bad-crc')).toHaveLength(2);
    expect(byLabel(summary, 'SIM00001')?.rejectReasons['QnRtn=4']).toBeGreaterThan(0);
    expect(byLabel(summary, 'SIM00001')?.acked).toBe(0);
    // HJ/T 212-2005: no Flag, so nothing to acknowledge
    expect(byLabel(summary, 'PW01')).toMatchObject({ acked: 0, rejected: 0, failed: 0 });
    const pw = gateway.packets.find((p) => p.mn.endsWith('PW01'));
    expect(pw?.version).toBe('2005');
    expect(pw?.cp.pollutants.w01018?.sentCode).toBe('011');
    // HJ 212-2025 next to 2017: every data packet of AB01 and GA01 arrived SM4-encrypted with Flag=9
    for (const label of ['AB01', 'GA01']) {
      const mine = gateway.packets.filter((p) => p.mn.endsWith(label));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((p) => p.version === '2025' && p.encryption?.form === 'binary')).toBe(true);
    }
    expect(gateway.packets.filter((p) => p.mn.endsWith('BW01')).every((p) => p.version === '2017')).toBe(true);
    // JSON over MQTT, valid per the schema
    const fw = published.filter((m) => m.topic === `envwatch/devices/${byLabel(summary, 'FW01')?.mn}/telemetry`);
    expect(fw.length).toBeGreaterThan(0);
    for (const m of fw) JsonTelemetry.parse(JSON.parse(m.payload));
    expect(summary.totals.sent).toBe(summary.devices.reduce((a, d) => a + d.sent, 0));
    expect(summary.devices.filter((d) => d.failed > 0).map((d) => d.label)).toEqual([]);
    expect(await sim.done).toBe(summary);
    expect(sim.command('status')).toBe('the simulation has stopped');
  });

  it('publishes HJ 212 over MQTT with --mqtt-hj212 and skips nothing, a 2025 device encrypted', async () => {
    const keys = memoryKeys();
    const sim = runSimulation(
      { speed: 600, seed: 1, tickMs: 20, reportEveryMs: 0, mqttHj212: true, only: ['GA01', 'PA01'], keys },
      { mqtt: `mqtt://127.0.0.1:${mqttPort}` },
    );
    sims.push(sim);
    for (const d of sim.devices) {
      const topic = `envwatch/devices/${d.mn}/hj212`;
      await until('an HJ 212 message on the device topic', () => published.some((m) => m.topic === topic));
      const m = published.find((x) => x.topic === topic);
      const r = decodeFrame(m?.raw ?? '', d.label === 'GA01' ? { keys: everyKey(keys) } : undefined);
      expect(r.ok && [r.packet.mn, r.packet.version, r.packet.encryption?.form]).toEqual(
        d.label === 'GA01' ? [d.mn, '2025', 'binary'] : [d.mn, '2017', undefined],
      );
    }
    const s = await sim.stop();
    expect(s.skipped).toEqual([]);
    expect(s.devices.map((d) => d.transport)).toEqual(['mqtt-hj212', 'mqtt-hj212']);
  });

  it('answers a key push over TCP and encrypts with the new key, keeps data through a heartbeat-only quiet period and re-sends it with RF=1', async () => {
    const keys = memoryKeys();
    gateway.keys = () => everyKey(keys);
    const lines: string[] = [];
    const answers: Hj212Packet[] = [];
    const newKey = generateKeyText();
    let pushed = false;
    gateway.behaviour = (p, socket) => {
      if (p.cn === '9011' || p.cn === '9012') answers.push(p);
      if (!pushed && p.cn === '2011' && p.st === '32') {
        pushed = true;
        // the platform's push: CN 1014 encrypted under the device's current key, no PW (docs/devices.md §2.2)
        const segment = encodeSegment({
          qn: '20261206090000000',
          st: '32',
          cn: '1014',
          mn: p.mn,
          flag: 9,
          cp: `SKCreateTime=20261206090000000,NewSK=${newKey}`,
        });
        socket.write(encodeEncryptedFrame(segment, keys.held.get(p.mn)?.[0] as Buffer));
      }
      defaultAnswer(p, socket);
    };
    const sim = runSimulation(
      {
        speed: 600,
        seed: 3,
        start: Date.parse('2026-11-30T09:00:30+08:00'),
        tickMs: 20,
        reportEveryMs: 0,
        heartbeatMs: 50,
        only: ['AB01'],
        keys,
        log: (l) => lines.push(l),
      },
      { hj212: `tcp://127.0.0.1:${gateway.port}` },
    );
    sims.push(sim);
    const mn = sim.devices[0]?.mn as string;
    const mine = () => gateway.packets.filter((p) => p.mn === mn);
    await until('the 9012 answering the push', () => answers.some((a) => a.cn === '9012'));
    expect(answers.map((a) => [a.cn, a.qn, a.cp.params.QnRtn ?? a.cp.params.ExeRtn])).toEqual([
      ['9011', '20261206090000000', '1'],
      ['9012', '20261206090000000', '1'],
    ]);
    expect(keys.held.get(mn)?.[0]?.toString('latin1')).toBe(newKey);
    // after the 9012 every new data packet is opened with the new key (index 0 of what the gateway tries first)
    const after = mine().length;
    await until('data under the new key', () => mine().length > after + 2);
    expect(
      mine()
        .slice(after + 1)
        .every((p) => p.encryption !== undefined),
    ).toBe(true);
    gateway.keys = () => [keyBytes(newKey)];
    const beforeQuiet = mine().length;
    await until('data still opening with only the new key', () => mine().length > beforeQuiet + 1);

    expect(sim.command('quiet AB01 10')).toMatch(/only 9015 heartbeats for 10 simulated minutes/);
    const quietFrom = mine().length;
    await until('the quiet period to end with a re-sent backlog', () => mine().some((p) => p.resent));
    const quiet = mine().slice(quietFrom);
    const firstResent = quiet.findIndex((p) => p.resent);
    // only heartbeats (and perhaps one packet already in flight) until the backlog, then the backlog in time order
    expect(quiet.slice(0, firstResent).filter((p) => p.cn === '9015').length).toBeGreaterThan(1);
    expect(quiet.slice(0, firstResent).filter((p) => p.cn !== '9015').length).toBeLessThanOrEqual(1);
    await until('fresh data after the backlog', () =>
      mine()
        .slice(quietFrom + firstResent)
        .some((p) => !p.resent && p.cn === '2011'),
    );
    const resent = mine().filter((p) => p.resent);
    const times = resent.filter((p) => p.cn === '2011').map((p) => Date.parse(p.cp.dataTime ?? ''));
    expect(times.length).toBeGreaterThanOrEqual(8);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(resent.every((p) => p.version === '2025' && p.encryption !== undefined)).toBe(true);
    const s = await sim.stop(0);
    expect(s.devices[0]).toMatchObject({ keyChanges: 1, protocol: 'hj212-2025' });
    expect(s.devices[0]?.heartbeats).toBeGreaterThan(1);
    expect(s.devices[0]?.resent).toBe(resent.length);
    expect(
      lines.some((l) =>
        /key push CN=1014 \(QN 20261206090000000\) → QnRtn=1, ExeRtn=1; encrypting with the new key/.test(l),
      ),
    ).toBe(true);
    gateway.behaviour = (p, socket) => defaultAnswer(p, socket);
    gateway.keys = () => [];
  });

  it('skips HJ 212-2025 devices without registry access for their keys', async () => {
    const lines: string[] = [];
    const sim = runSimulation(
      { tickMs: 50, reportEveryMs: 0, only: ['AB01', 'BW01'], log: (l) => lines.push(l) },
      { hj212: `tcp://127.0.0.1:${gateway.port}` },
    );
    sims.push(sim);
    expect(sim.devices.map((d) => d.label)).toEqual(['BW01']);
    await sim.stop(0);
    expect(lines).toContain('skipping AB01: HJ 212-2025 devices need the registry for their SM4 keys');
  });

  it('skips TCP devices with a one-line notice when there is no hj212 endpoint', async () => {
    const lines: string[] = [];
    const sim = runSimulation(
      { tickMs: 50, reportEveryMs: 0, log: (l) => lines.push(l) },
      { mqtt: `mqtt://127.0.0.1:${mqttPort}` },
    );
    sims.push(sim);
    expect(sim.devices.map((d) => d.label)).toEqual(['FW01']);
    const s = await sim.stop(0);
    expect(s.skipped).toEqual(['BW01', 'FA01', 'PW01', 'PA01', 'AB01', 'GA01']);
    expect(lines.filter((l) => l.startsWith('skipping'))).toEqual([
      'skipping BW01, FA01, PW01, PA01, AB01, GA01: no hj212 endpoint in endpoints.json (the platform has no HJ 212 gateway yet)',
    ]);
  });

  it('refuses synthetic devices without --include-unregistered and bad --inject commands', () => {
    expect(() => runSimulation({ extraDevices: 3 }, {})).toThrow(/add --include-unregistered/);
    expect(() => runSimulation({ inject: ['exceed BW01'] }, {})).toThrow(
      /--inject "exceed BW01": exceed needs 3 arguments/,
    );
    expect(() => runSimulation({ only: ['XX99'] }, {})).toThrow(/no simulated device "XX99"/);
  });
});

describe('TcpLink', () => {
  let gateway: FakeGateway;
  const links: TcpLink[] = [];
  beforeAll(async () => {
    gateway = await fakeGateway();
  });
  afterAll(async () => {
    await Promise.all(links.map((l) => l.close()));
    await closeGateway(gateway);
  });

  const packet = (qn: string, mn = '33112600000000000000BW01') =>
    encodePacket({ qn, st: '32', cn: '2011', pw: '123456', mn, flag: 5, cp: '' });

  it('re-sends a packet that is not acknowledged in time, then gives up after the retries', async () => {
    let retries = 0;
    const link = new TcpLink({
      host: '127.0.0.1',
      port: gateway.port,
      ackTimeoutMs: 50,
      retries: 3,
      onRetry: () => retries++,
    });
    links.push(link);
    link.start();
    // acknowledge only the second copy of the first packet; never the second packet
    const copies = new Map<string, number>();
    gateway.behaviour = (p, socket) => {
      const n = (copies.get(p.qn ?? '') ?? 0) + 1;
      copies.set(p.qn ?? '', n);
      if (p.qn === '20261130090000001' && n === 2) socket.write(dataAck(p));
    };
    expect(await link.send(packet('20261130090000001'), '20261130090000001', true)).toEqual({ result: 'acked' });
    expect(retries).toBe(1);
    const r = await link.send(packet('20261130090000002'), '20261130090000002', true);
    expect(r.result).toBe('failed');
    expect(copies.get('20261130090000002')).toBe(4);
  });

  it('reconnects after the gateway drops the connection and delivers the packet', async () => {
    const p = packet('20261130090000009');
    let dropped = false;
    gateway.behaviour = (packet, socket) => {
      if (!dropped) {
        dropped = true;
        socket.destroy();
      } else socket.write(dataAck(packet));
    };
    const changes: boolean[] = [];
    const link = new TcpLink({
      host: '127.0.0.1',
      port: gateway.port,
      ackTimeoutMs: 5_000,
      backoffBaseMs: 20,
      onConnectionChange: (up) => changes.push(up),
    });
    links.push(link);
    link.start();
    expect(await link.send(p, '20261130090000009', true)).toEqual({ result: 'acked' });
    expect(changes.slice(0, 3)).toEqual([true, false, true]);
  });
});
