import { afterEach, describe, expect, it } from 'vitest';
import { registryCommandDevices } from '#shared/adapters/commands-store.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { decodeFrame, encodePacket } from '#shared/domain/hj212/codec.ts';
import { LoggerRegistry, loggerAddress, type PendingLogger } from '#shared/domain/registry/loggers.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import type { CommandFeed } from '../../../gateway/commands.ts';
import { MemoryChannel, MemoryCommandStore } from '../helpers/memory-commands.ts';
import { MemoryRegistryStore } from '../helpers/memory-registry-store.ts';
import { cnOf, device, type Harness, MN_A, PASSWORD, startHarness, until, upload } from './harness.ts';

/** Two gateway tasks on one command bus (as IoT Core's `envwatch/gateway/cmd/+`). */
class Bus {
  private readonly subscribers = new Set<(topic: string, payload: Buffer) => void | Promise<void>>();
  feed(): CommandFeed {
    return {
      start: async (deliver) => {
        this.subscribers.add(deliver);
      },
      stop: async () => {},
    };
  }
  async publish(topic: string, payload: Buffer): Promise<void> {
    for (const s of this.subscribers) await s(topic, payload);
  }
}

const SERIAL = 'DAQ-2026-0001';
const report = (cp: string, flag = 9) =>
  encodePacket({ qn: '20261206080000000', st: '91', cn: '1001', pw: PASSWORD, mn: '', flag, cp });
const IDENTITY_CP = `i23005-Info=${SERIAL};i23006-Info=0123456789ABCDEF;i23007-Info=00:11:22:33:44:55`;

async function platform() {
  const store = new MemoryRegistryStore();
  await store.create(
    'devices',
    MN_A,
    {
      mn: MN_A,
      st: '32',
      protocol: 'hj212-2025',
      transport: 'tcp',
      status: 'active',
      enterpriseId: 'E',
    } as unknown as StoredDevice,
    { kind: 'enterprises', id: 'E' },
    { actor: 'test', action: 'seed', entity: `devices/${MN_A}`, at: '2026-12-06T00:00:00.000Z' },
  );
  return { store, loggers: new LoggerRegistry(store) };
}

describe('gateway new loggers (CN 1001 / 1002)', () => {
  const started: Harness[] = [];
  afterEach(async () => {
    for (const h of started.splice(0)) await h.gateway.stop();
  });

  it('records a 1001 without MN, writes the 1002 on the task holding the logger, and links on its 9012', async () => {
    const bus = new Bus();
    const { store, loggers } = await platform();
    const a = await startHarness({ commands: bus.feed(), loggers });
    const b = await startHarness({ commands: bus.feed(), loggers });
    started.push(a, b);
    const logger = await device(b.gateway.port);
    logger.send(report(IDENTITY_CP));
    await until(() => logger.replies.length === 1, 'the 9013');
    expect(cnOf(logger.replies[0] ?? '')).toBe('9013');
    const address = loggerAddress(SERIAL);
    expect((await store.get<PendingLogger>('loggers', address))?.item).toMatchObject({
      state: 'pending',
      serial: SERIAL,
    });
    // nothing of an unauthenticated report is published to ingestion
    expect(b.published).toHaveLength(0);

    const channel = new MemoryChannel();
    channel.onPublish = (topic, payload) => bus.publish(topic, payload);
    const commands = new CommandService({
      devices: registryCommandDevices(store),
      store: new MemoryCommandStore(),
      channel,
    });
    const { command } = await loggers.assign(address, { mn: MN_A }, { sub: 'admin' }, commands);
    await until(() => logger.replies.length === 2, 'the 1002');
    const frame = decodeFrame(`${logger.replies[1]}\r\n`);
    if (!frame.ok) throw new Error(frame.reason);
    expect(frame.packet).toMatchObject({ cn: '1002', mn: MN_A, pw: PASSWORD, qn: command.qn, ack: true });
    expect(frame.packet.cp.info).toEqual({ i23005: SERIAL });
    expect(a.gateway.stats().counters['commands.notHere']).toBe(1);

    // the logger takes its MN: answers under it (its PW is the device's), then sends data that is accepted
    logger.send(upload(MN_A, { qn: command.qn, cn: '9011', cp: 'QnRtn=1', flag: 8 }));
    logger.send(upload(MN_A, { qn: command.qn, cn: '9012', cp: 'ExeRtn=1', flag: 8 }));
    await until(() => b.gateway.stats().counters['loggers.linked'] === 1, 'the link');
    expect((await store.get<StoredDevice>('devices', MN_A))?.item.logger?.state).toBe('linked');
    logger.send(upload(MN_A));
    await until(() => logger.replies.length === 3, 'the data ack');
    expect(cnOf(logger.replies[2] ?? '')).toBe('9014');
    logger.end();
  });

  it('refuses a report with a field outside its pattern, and more loggers than a connection may report', async () => {
    const { store, loggers } = await platform();
    const h = await startHarness({ loggers, limits: { maxLoggersPerConnection: 1 } });
    started.push(h);
    const d = await device(h.gateway.port);
    d.send(report('i23005-Info==HYPERLINK("x");i23006-Info=01;i23007-Info=00:11:22:33:44:55'));
    d.send(report(IDENTITY_CP));
    d.send(report(IDENTITY_CP.replace(SERIAL, 'DAQ-2026-0002')));
    await until(() => h.gateway.stats().counters['loggers.overConnectionLimit'] === 1, 'the limit');
    const counters = h.gateway.stats().counters;
    expect(counters['loggers.invalid']).toBe(1);
    expect(counters['loggers.recorded']).toBe(1);
    expect(d.replies.map(cnOf)).toEqual(['9013']);
    expect((await store.list('loggers', { limit: 10 })).items).toHaveLength(1);
    d.end();
  });

  it('writes a repeated report to the registry once per interval and within the task budget', async () => {
    const { loggers } = await platform();
    let seen = 0;
    const counting = {
      seen: (...args: Parameters<LoggerRegistry['seen']>) => {
        seen++;
        return loggers.seen(...args);
      },
      confirm: loggers.confirm.bind(loggers),
    };
    const h = await startHarness({ loggers: counting, limits: { loggerReportsPerMinute: 1 } });
    started.push(h);
    const d = await device(h.gateway.port);
    for (let i = 0; i < 3; i++) d.send(report(IDENTITY_CP));
    await until(() => d.replies.length === 3, 'three 9013');
    const other = await device(h.gateway.port);
    other.send(report(IDENTITY_CP.replace(SERIAL, 'DAQ-2026-0002')));
    await until(() => h.gateway.stats().counters['loggers.overTaskLimit'] === 1, 'the task budget');
    expect(seen).toBe(1);
    d.end();
    other.end();
  });
});
