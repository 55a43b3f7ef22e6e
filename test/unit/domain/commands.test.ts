import { beforeEach, describe, expect, it } from 'vitest';
import { commandFrame, GatewayCommand } from '#shared/domain/commands/delivery.ts';
import { CommandRequest } from '#shared/domain/commands/model.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { ConflictError, NotFoundError } from '#shared/domain/errors.ts';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import { MemoryChannel, MemoryCommandStore, MemoryDevices } from '../helpers/memory-commands.ts';

const TCP = '33112600000000000000BW01';
const MQTT = '33112600000000000000PA01';
const JSON_DEVICE = '33112600000000000000FW01';
const T0 = Date.parse('2026-12-06T01:00:00.000Z'); // 09:00 Beijing

describe('CommandService', () => {
  let store: MemoryCommandStore;
  let channel: MemoryChannel;
  let now: number;
  let service: CommandService;

  beforeEach(() => {
    store = new MemoryCommandStore();
    channel = new MemoryChannel();
    now = T0;
    service = new CommandService({
      devices: new MemoryDevices([
        { mn: TCP, st: '32', protocol: 'hj212-2017', transport: 'tcp', status: 'active' },
        { mn: MQTT, st: '31', protocol: 'hj212-2017', transport: 'mqtt', status: 'active' },
        { mn: JSON_DEVICE, st: '32', protocol: 'json-mqtt', transport: 'mqtt', status: 'active' },
        { mn: 'RETIRED1', st: '32', protocol: 'hj212-2017', transport: 'tcp', status: 'retired' },
      ]),
      store,
      channel,
      now: () => now,
    });
  });

  it('sends a 2025 calibration to the gateway topic of a TCP device, stored as sent and audited', async () => {
    const body = CommandRequest.parse({ cn: '3011', polId: 'w01018', calibrationType: 'span' });
    const c = await service.request('duty-1', TCP, body);
    expect(c).toMatchObject({ qn: '20261206090000000', cn: '3011', flag: 9, route: 'tcp', status: 'sent' });
    expect(c.cp).toBe('PolId=w01018,CalibrationType=1');
    expect(channel.published).toHaveLength(1);
    const { topic, payload } = channel.published[0] as { topic: string; payload: string };
    expect(topic).toBe(`envwatch/gateway/cmd/${TCP}`);
    const message = GatewayCommand.parse(JSON.parse(payload));
    const frame = decodeFrame(commandFrame(message, '123456'));
    if (!frame.ok) throw new Error(frame.reason);
    expect(frame.packet).toMatchObject({
      qn: c.qn,
      st: '32',
      cn: '3011',
      pw: '123456',
      mn: TCP,
      version: '2025',
      ack: true,
    });
    expect(store.audits).toEqual([
      expect.objectContaining({ actor: 'duty-1', action: 'device.command', entity: `device#${TCP}` }),
    ]);
  });

  it('publishes the HJ 212 frame itself, without PW, on an MQTT device command topic', async () => {
    await service.request('duty-1', MQTT, { cn: '3022', polId: 'a21026' });
    const { topic, payload } = channel.published[0] as { topic: string; payload: string };
    expect(topic).toBe(`envwatch/devices/${MQTT}/cmd`);
    const frame = decodeFrame(payload);
    if (!frame.ok) throw new Error(frame.reason);
    expect(frame.packet).toMatchObject({ st: '31', cn: '3022', mn: MQTT, flag: 9 });
    expect(frame.packet.pw).toBeUndefined();
    expect(frame.packet.cp.params).toMatchObject({ PolId: 'a21026' });
  });

  it('gives two commands of one millisecond different QNs', async () => {
    const a = await service.request('duty-1', TCP, { cn: '3024', polId: 'w01018' });
    const b = await service.request('duty-1', TCP, { cn: '3022', polId: 'w01018' });
    expect(a.qn).toBe('20261206090000000');
    expect(b.qn).toBe('20261206090000001');
  });

  it('moves a command on with its answers: 9011 QnRtn=1 acknowledged, 9012 ExeRtn=1 executed', async () => {
    const c = await service.request('duty-1', TCP, { cn: '3022', polId: 'w01018' });
    const at = new Date(T0 + 2000).toISOString();
    expect(await service.answer(TCP, c.qn, { cn: '9011', code: 1, at })).toBe(true);
    expect((await service.get(TCP, c.qn)).status).toBe('acknowledged');
    expect(await service.answer(TCP, c.qn, { cn: '9012', code: 1, at })).toBe(true);
    const done = await service.get(TCP, c.qn);
    expect(done.status).toBe('executed');
    expect(done.answers.map((a) => [a.cn, a.code])).toEqual([
      ['9011', 1],
      ['9012', 1],
    ]);
  });

  it('fails a command on a refusal or a failed execution and says why', async () => {
    const a = await service.request('duty-1', TCP, { cn: '3022', polId: 'w01018' });
    await service.answer(TCP, a.qn, { cn: '9011', code: 3, at: new Date(T0).toISOString() });
    expect(await service.get(TCP, a.qn)).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('QnRtn=3'),
    });
    const b = await service.request('duty-1', TCP, { cn: '3024', polId: 'w01018' });
    await service.answer(TCP, b.qn, { cn: '9011', code: 1, at: new Date(T0).toISOString() });
    await service.answer(TCP, b.qn, { cn: '9012', code: 5, at: new Date(T0).toISOString() });
    expect(await service.get(TCP, b.qn)).toMatchObject({ status: 'failed', reason: expect.stringContaining('busy') });
  });

  it('reads as timed out when no answer came in time, and a late answer still counts', async () => {
    const c = await service.request('duty-1', TCP, { cn: '3022', polId: 'w01018' });
    now = T0 + 61_000;
    expect((await service.get(TCP, c.qn)).status).toBe('timed_out');
    await service.answer(TCP, c.qn, { cn: '9011', code: 1, at: new Date(now).toISOString() });
    expect((await service.get(TCP, c.qn)).status).toBe('acknowledged');
    now = T0 + 31 * 60_000;
    expect((await service.get(TCP, c.qn)).status).toBe('timed_out');
  });

  it('ignores answers to QNs the platform did not send', async () => {
    expect(await service.answer(TCP, '20261206090000999', { cn: '9011', code: 1, at: '2026-12-06T01:00:00Z' })).toBe(
      false,
    );
    expect(await service.answer(TCP, undefined, { cn: '9011', code: 1, at: '2026-12-06T01:00:00Z' })).toBe(false);
  });

  it('keeps a command that could not be published as undelivered', async () => {
    channel.failing = true;
    const c = await service.request('duty-1', TCP, { cn: '3022', polId: 'w01018' });
    expect(c.status).toBe('undelivered');
    expect((await service.get(TCP, c.qn)).status).toBe('undelivered');
  });

  it('sends any CP for another capability, and never stores a pushed key', async () => {
    const c = await service.send({
      mn: TCP,
      cn: '1014',
      cp: 'SKCreateTime=20261206090000000,NewSK=A1b2C3d4E5f6G7h8',
      requestedBy: 'system:key-rotation',
      action: 'device.key.push',
    });
    expect(c.flag).toBe(9);
    expect(c.cp).toBe('SKCreateTime=20261206090000000,NewSK=(redacted)');
    expect(JSON.stringify([...store.items.values(), ...store.audits])).not.toContain('A1b2C3d4E5f6G7h8');
    expect(GatewayCommand.parse(JSON.parse(channel.published[0]?.payload ?? '')).cp).toContain(
      'NewSK=A1b2C3d4E5f6G7h8',
    );
  });

  it('refuses unknown, retired and JSON devices, and a CP that would break the frame', async () => {
    await expect(service.request('duty-1', 'NOPE', { cn: '3022', polId: 'w01018' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(service.request('duty-1', 'RETIRED1', { cn: '3022', polId: 'w01018' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(service.request('duty-1', JSON_DEVICE, { cn: '3022', polId: 'w01018' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(service.send({ mn: TCP, cn: '3020', cp: 'a&&b', requestedBy: 'x' })).rejects.toThrow(/&&/);
    expect(channel.published).toEqual([]);
  });

  it('refuses an official request that is not one of 3011, 3022, 3024 or lacks what it needs', () => {
    expect(CommandRequest.safeParse({ cn: '1014', polId: 'w01018' }).success).toBe(false);
    expect(CommandRequest.safeParse({ cn: '3011', polId: 'w01018' }).success).toBe(false);
    expect(CommandRequest.safeParse({ cn: '3022', polId: '__proto__' }).success).toBe(false);
  });
});
