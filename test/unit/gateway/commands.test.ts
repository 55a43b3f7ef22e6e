import { afterEach, describe, expect, it } from 'vitest';
import { GATEWAY_COMMAND_PREFIX, outgoing } from '#shared/domain/commands/delivery.ts';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import type { CommandFeed } from '../../../gateway/commands.ts';
import { cnOf, device, type Harness, MN_A, MN_B, PASSWORD, startHarness, until, upload } from './harness.ts';

/**
 * Platform commands through the gateway: several tasks (each a gateway with its own feed on one shared bus, as IoT
 * Core's `envwatch/gateway/cmd/+` would be) and the one holding the device's connection writes the command.
 */
class Bus {
  private readonly subscribers = new Set<(topic: string, payload: Buffer) => void | Promise<void>>();
  feed(): CommandFeed {
    let mine: ((topic: string, payload: Buffer) => void | Promise<void>) | undefined;
    return {
      start: async (deliver) => {
        mine = deliver;
        this.subscribers.add(deliver);
      },
      stop: async () => {
        if (mine) this.subscribers.delete(mine);
      },
    };
  }
  publish(topic: string, payload: string | Uint8Array): void {
    for (const s of this.subscribers) void s(topic, Buffer.from(payload));
  }
}

const command = (mn: string, qn: string, cn = '3022', cp = 'PolId=w01018') =>
  outgoing('tcp', { mn, qn, st: '32', cn, flag: 9, cp });

describe('gateway commands', () => {
  const started: Harness[] = [];
  afterEach(async () => {
    for (const h of started.splice(0)) await h.gateway.stop();
  });

  it('writes a command only on the task holding the device, with the PW it logged in with', async () => {
    const bus = new Bus();
    const a = await startHarness({ commands: bus.feed() });
    const b = await startHarness({ commands: bus.feed() });
    started.push(a, b);
    const onB = await device(b.gateway.port);
    onB.send(upload(MN_A));
    await until(() => onB.replies.length === 1, 'the data ack');

    const { topic, payload } = command(MN_A, '20261206090000000');
    bus.publish(topic, payload);
    await until(() => onB.replies.length === 2, 'the command');
    const frame = decodeFrame(`${onB.replies[1]}\r\n`);
    if (!frame.ok) throw new Error(frame.reason);
    expect(frame.packet).toMatchObject({ qn: '20261206090000000', cn: '3022', pw: PASSWORD, mn: MN_A, ack: true });
    expect(b.gateway.stats().counters['commands.delivered']).toBe(1);
    expect(a.gateway.stats().counters['commands.notHere']).toBe(1);

    // the device answers 9011 and 9012: handed on like any packet, and not acknowledged (replies never are)
    onB.send(upload(MN_A, { qn: '20261206090000000', cn: '9011', cp: 'QnRtn=1', flag: 8 }));
    onB.send(upload(MN_A, { qn: '20261206090000000', cn: '9012', cp: 'ExeRtn=1', flag: 8 }));
    await until(() => b.published.length === 3, 'the answers published');
    expect(b.published.slice(1).map((p) => cnOf(p.bytes.toString()))).toEqual(['9011', '9012']);
    expect(onB.replies).toHaveLength(2);
    onB.end();
  });

  it('stops writing to a device once its connection is gone, and refuses a message that is not a command', async () => {
    const bus = new Bus();
    const h = await startHarness({ commands: bus.feed() });
    started.push(h);
    const d = await device(h.gateway.port);
    d.send(upload(MN_B));
    await until(() => d.replies.length === 1, 'the data ack');
    d.end();
    await d.closed;
    await until(() => h.gateway.stats().connections === 0, 'the connection closed');
    const { topic, payload } = command(MN_B, '20261206090000001');
    bus.publish(topic, payload);
    bus.publish(`${GATEWAY_COMMAND_PREFIX}/${MN_B}`, '{"mn":"__proto__"}');
    bus.publish(`${GATEWAY_COMMAND_PREFIX}/${MN_A}`, command(MN_B, '20261206090000002').payload);
    const counters = h.gateway.stats().counters;
    expect(counters['commands.delivered']).toBeUndefined();
    expect(counters['commands.notHere']).toBe(1);
    expect(counters['commands.invalid']).toBe(2);
  });
});
