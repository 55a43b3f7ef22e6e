import { describe, expect, it } from 'vitest';
import { registryCommandDevices } from '#shared/adapters/commands-store.ts';
import { commandFrame } from '#shared/domain/commands/delivery.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { ConflictError, NotFoundError, ValidationError } from '#shared/domain/errors.ts';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import {
  type HardwareIdentity,
  identityFromCp,
  LoggerRegistry,
  loggerAddress,
  type PendingLogger,
} from '#shared/domain/registry/loggers.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import { MemoryChannel, MemoryCommandStore } from '../helpers/memory-commands.ts';
import { MemoryRegistryStore } from '../helpers/memory-registry-store.ts';

const MN = '33112600000000000000LG01';
const IDENTITY: HardwareIdentity = { serial: 'DAQ-2026-0001', cpuid: '0123456789ABCDEF', macs: ['00:11:22:33:44:55'] };
const VIA = { transport: 'tcp', connection: 'c-1' } as const;
const ADMIN = { sub: 'admin-1' };

async function setup(device: Partial<StoredDevice> = {}) {
  let now = new Date('2026-12-06T08:00:00Z');
  const store = new MemoryRegistryStore();
  await store.create(
    'devices',
    MN,
    {
      mn: MN,
      st: '32',
      protocol: 'hj212-2025',
      transport: 'tcp',
      status: 'active',
      enterpriseId: '91331126MA2E000001',
      passwordHash: 'x',
      ...device,
    } as unknown as StoredDevice,
    { kind: 'enterprises', id: '91331126MA2E000001' },
    { actor: 'test', action: 'seed', entity: `devices/${MN}`, at: now.toISOString() },
  );
  const channel = new MemoryChannel();
  const commands = new CommandService({
    devices: registryCommandDevices(store),
    store: new MemoryCommandStore(),
    channel,
    now: () => now.getTime(),
  });
  const loggers = new LoggerRegistry(store, () => now);
  return { store, channel, commands, loggers, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

describe('new data loggers (CN 1001 / 1002)', () => {
  it('reads the standard fields of a 1001 and normalises the MACs', () => {
    expect(
      identityFromCp({ i23005: 'DAQ-1', i23006: 'ab12', i23007: '00-11-22-aa-bb-cc', i23008: '001122AABBCD' }),
    ).toEqual({ serial: 'DAQ-1', cpuid: 'ab12', macs: ['00:11:22:AA:BB:CC', '00:11:22:AA:BB:CD'] });
  });

  it('refuses an identity with a field outside its pattern', () => {
    const ok = { i23005: 'DAQ-1', i23006: 'ab12', i23007: '00:11:22:33:44:55' };
    for (const bad of [
      { ...ok, i23005: '=cmd|calc' },
      { ...ok, i23005: 'A'.repeat(41) },
      { ...ok, i23006: '<script>' },
      { ...ok, i23007: 'not-a-mac' },
      { i23005: 'DAQ-1', i23006: 'ab12' },
      { ...ok, i23005: '' },
    ])
      expect(identityFromCp(bad)).toBeUndefined();
  });

  it('addresses a logger by a hash of its serial, never by what it sent', () => {
    expect(loggerAddress('DAQ-2026-0001')).toMatch(/^HW[0-9A-F]{24}$/);
    expect(loggerAddress('DAQ-2026-0001')).toBe(loggerAddress('DAQ-2026-0001'));
    expect(loggerAddress('DAQ-2026-0002')).not.toBe(loggerAddress('DAQ-2026-0001'));
  });

  it('records a new identity once and refreshes its last sighting at most every 10 minutes', async () => {
    const { store, loggers, advance } = await setup();
    expect(await loggers.seen(IDENTITY, VIA)).toBe('recorded');
    advance(60_000);
    expect(await loggers.seen(IDENTITY, { ...VIA, connection: 'c-2' })).toBe('unchanged');
    advance(10 * 60_000);
    expect(await loggers.seen(IDENTITY, { ...VIA, connection: 'c-3' })).toBe('refreshed');
    const page = await loggers.list(10);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.item).toMatchObject({
      address: loggerAddress(IDENTITY.serial),
      state: 'pending',
      firstSeenAt: '2026-12-06T08:00:00.000Z',
      lastSeenAt: '2026-12-06T08:11:00.000Z',
      via: { connection: 'c-3' },
    });
    expect(store.audits.map((a) => a.action)).toEqual(['seed', 'registry.logger.reported', 'registry.logger.seen']);
  });

  it('keeps the first report when a known serial comes with another CPUID', async () => {
    const { loggers } = await setup();
    await loggers.seen(IDENTITY, VIA);
    expect(await loggers.seen({ ...IDENTITY, cpuid: 'FFFF' }, VIA)).toBe('conflict');
    expect((await loggers.list(10)).items[0]?.item.cpuid).toBe(IDENTITY.cpuid);
  });

  it('sends CN 1002 with the serial to the logger address and marks device and logger assigning', async () => {
    const { store, channel, commands, loggers } = await setup();
    await loggers.seen(IDENTITY, VIA);
    const address = loggerAddress(IDENTITY.serial);
    const { logger, command } = await loggers.assign(address, { mn: MN }, ADMIN, commands);
    expect(logger.item).toMatchObject({ state: 'assigning', mn: MN, assignQn: command.qn, assignedBy: 'admin-1' });
    expect(channel.published).toHaveLength(1);
    const message = JSON.parse(channel.published[0]?.payload ?? '{}');
    expect(channel.published[0]?.topic).toBe(`envwatch/gateway/cmd/${address}`);
    expect(message).toMatchObject({ mn: MN, to: address, cn: '1002', flag: 9, cp: `i23005-Info=${IDENTITY.serial}` });
    const device = await store.get<StoredDevice>('devices', MN);
    expect(device?.item.logger).toMatchObject({
      address,
      serial: IDENTITY.serial,
      state: 'assigning',
      assignQn: command.qn,
    });
    expect(store.audits.map((a) => a.action)).toContain('registry.logger.assigned');
  });

  it('links the logger on its 9012 ExeRtn=1 to that 1002 only', async () => {
    const { store, commands, loggers } = await setup();
    await loggers.seen(IDENTITY, VIA);
    const address = loggerAddress(IDENTITY.serial);
    const { command } = await loggers.assign(address, { mn: MN }, ADMIN, commands);
    expect(await loggers.confirm(MN, '20200101000000000', '1')).toBe(false);
    expect(await loggers.confirm(MN, command.qn, '5')).toBe(false);
    expect(await loggers.confirm(MN, command.qn, '1')).toBe(true);
    expect((await store.get<StoredDevice>('devices', MN))?.item.logger?.state).toBe('linked');
    expect((await store.get<PendingLogger>('loggers', address))?.item).toMatchObject({ state: 'linked', mn: MN });
    await expect(loggers.assign(address, { mn: MN }, ADMIN, commands)).rejects.toThrow(ConflictError);
  });

  it('refuses an MN that is not a registered TCP device, or has another logger', async () => {
    const { commands, loggers, channel } = await setup();
    await loggers.seen(IDENTITY, VIA);
    await loggers.seen({ ...IDENTITY, serial: 'DAQ-2026-0002' }, VIA);
    const address = loggerAddress(IDENTITY.serial);
    await expect(loggers.assign(address, { mn: 'NOSUCHMN' }, ADMIN, commands)).rejects.toThrow(ValidationError);
    await expect(loggers.assign(loggerAddress('never-seen'), { mn: MN }, ADMIN, commands)).rejects.toThrow(
      NotFoundError,
    );
    await loggers.assign(address, { mn: MN }, ADMIN, commands);
    // the same MN again re-sends; another logger for this device is refused
    await loggers.assign(address, { mn: MN }, ADMIN, commands);
    await expect(loggers.assign(loggerAddress('DAQ-2026-0002'), { mn: MN }, ADMIN, commands)).rejects.toThrow(
      ConflictError,
    );
    expect(channel.published).toHaveLength(2);
  });

  it('refuses an MQTT device: it has no logger connection to address', async () => {
    const { commands, loggers } = await setup({ transport: 'mqtt' } as Partial<StoredDevice>);
    await loggers.seen(IDENTITY, VIA);
    await expect(loggers.assign(loggerAddress(IDENTITY.serial), { mn: MN }, ADMIN, commands)).rejects.toThrow(
      ValidationError,
    );
  });

  it('frames the 1002 with the new MN in the header', async () => {
    const { channel, commands, loggers } = await setup();
    await loggers.seen(IDENTITY, VIA);
    await loggers.assign(loggerAddress(IDENTITY.serial), { mn: MN }, ADMIN, commands);
    const decoded = decodeFrame(commandFrame(JSON.parse(channel.published[0]?.payload ?? '{}'), '123456'));
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.packet).toMatchObject({ mn: MN, cn: '1002', pw: '123456', version: '2025' });
    expect(decoded.packet.cp.info).toEqual({ i23005: IDENTITY.serial });
  });
});
