import { describe, expect, it } from 'vitest';
import { encodePacket, isoToBeijing } from '#shared/domain/hj212/codec.ts';
import { DEVICES } from '#shared/domain/registry/qingyuan-seed.ts';
import { useDeviceLink } from './device-link.ts';
import { apiAs, eventually, usePlatform } from './helpers.ts';

/**
 * A new data logger takes its MN on the embedded platform, from the real synthesized app (docs/devices.md §2.4): it
 * reports its hardware identity over TCP with CN 1001 and an empty MN, an administrator sees it pending and assigns the
 * MN of a device registered a moment before, the gateway task holding the logger's connection writes the CN 1002, the
 * logger answers 9011 / 9012 under its new MN and PW (the command is executed, the registry links the identity), and
 * its data under the new MN is accepted.
 */
const MN = '33112600000000000000LG01';
const PW = 'Lg01-2026';
const SERIAL = 'DAQ-2026-0001';

describe('new data logger MN assignment on the local platform', () => {
  const local = usePlatform('logger-mn');
  const api = apiAs(local, 'admin-1', ['admin']);
  const link = useDeviceLink(local);

  const base = Date.now() - 3_600_000;

  it('records a 1001, assigns an MN through the API, sends 1002, links on 9012, then accepts data', async () => {
    const report = encodePacket({
      qn: isoToBeijing(new Date(base), true),
      st: '91',
      cn: '1001',
      pw: PW,
      mn: '',
      flag: 9,
      cp: `i23005-Info=${SERIAL};i23006-Info=0123456789ABCDEF;i23007-Info=00-11-22-33-44-55`,
    });
    // the 9013 to a logger without an MN carries an empty MN (as the standard's example)
    const [ack] = await link.send(report, 1);
    expect(ack?.toString('latin1')).toMatch(/;CN=9013;.*;MN=;/);

    const pending = await api('GET', '/registry/loggers');
    expect(pending.status).toBe(200);
    const items = pending.body.items as { item: { address: string; serial: string; macs: string[]; state: string } }[];
    const logger = items.find((l) => l.item.serial === SERIAL)?.item;
    expect(logger).toMatchObject({ state: 'pending', macs: ['00:11:22:33:44:55'] });

    const seed = DEVICES.find((d) => d.mn === '33112600000000000000BW01');
    const created = await api('POST', '/registry/devices', {
      ...seed,
      mn: MN,
      protocol: 'hj212-2017',
      transport: 'tcp',
      password: PW,
    });
    expect(created.status).toBe(201);
    expect((await api('POST', `/registry/loggers/${logger?.address}/assignment`, { mn: 'NOSUCHMN' })).status).toBe(400);

    const written = link.next(1);
    const assigned = await api('POST', `/registry/loggers/${logger?.address}/assignment`, { mn: MN });
    expect(assigned.status).toBe(201);
    const qn = (assigned.body.command as { qn: string }).qn;
    const command = (await written)[0];
    expect(command).toMatchObject({ cn: '1002', mn: MN, pw: PW, qn, ack: true, version: '2025' });
    expect(command?.cp.info).toEqual({ i23005: SERIAL });

    for (const [cn, cp] of [
      ['9011', 'QnRtn=1'],
      ['9012', 'ExeRtn=1'],
    ] as const)
      link.write(encodePacket({ qn, st: '91', cn, pw: PW, mn: MN, flag: 4, cp }));
    await eventually(
      async () => ((await api('GET', `/devices/${MN}/commands/${qn}`)).body.status === 'executed' ? true : undefined),
      15_000,
      'the 1002 executed',
    );
    const linked = await eventually(
      async () => {
        const d = await api('GET', `/registry/devices/${MN}`);
        const l = (d.body.item as { logger?: { state: string; serial: string } }).logger;
        return l?.state === 'linked' ? l : undefined;
      },
      15_000,
      'the logger linked',
    );
    expect(linked.serial).toBe(SERIAL);

    const acceptance = link.next(1);
    link.write(
      encodePacket({
        qn: isoToBeijing(new Date(base + 1), true),
        st: '32',
        cn: '2051',
        pw: PW,
        mn: MN,
        flag: 5,
        cp: `DataTime=${isoToBeijing(new Date(Math.floor(base / 60_000) * 60_000))};w01018-Avg=21,w01018-Flag=N`,
      }),
    );
    expect((await acceptance)[0]?.cn).toBe('9014');
  });
});
