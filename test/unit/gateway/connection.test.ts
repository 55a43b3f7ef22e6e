import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import {
  cnOf,
  type Device,
  device,
  type Harness,
  MN_A,
  MN_B,
  PREFIX,
  qnRtnOf,
  startHarness,
  until,
  upload,
} from './harness.ts';

/** The gateway's per-connection state machine, over real loopback sockets with a fake registry and publish. */
let h: Harness | undefined;
const devices: Device[] = [];
const open = async (harness: Harness) => {
  const d = await device(harness.gateway.port);
  devices.push(d);
  return d;
};

afterEach(async () => {
  for (const d of devices.splice(0)) d.end();
  await h?.gateway.stop();
  h = undefined;
});

const badCrc = (frame: string) => frame.replace(/[0-9A-F]{4}\r\n$/, (crc) => `${crc === '0000' ? '0001' : '0000'}\r\n`);

describe('gateway connection: authentication', () => {
  it('acknowledges an authenticated A=1 upload with 9014 and publishes the exact bytes', async () => {
    h = await startHarness();
    const d = await open(h);
    const frame = upload(MN_A);
    d.send(frame);
    await until(() => d.replies.length === 1, 'the ack');
    expect(cnOf(d.replies[0] as string)).toBe('9014');
    const ack = decodeFrame(`${d.replies[0]}\r\n`);
    expect(ack.ok && ack.packet.mn).toBe(MN_A);
    expect(h.published).toHaveLength(1);
    const [p] = h.published;
    expect(p?.topic).toBe(`${PREFIX}/${MN_A}`);
    expect(p?.envelope).toMatchObject({ source: 'tcp-gateway', mn: MN_A, accepted: true });
    expect(p?.envelope.clientId).toMatch(/^tcp-/);
    expect(p?.bytes.toString('utf8')).toBe(frame);
  });

  it('verifies the password once per connection and MN, not per packet', async () => {
    h = await startHarness();
    const d = await open(h);
    for (let i = 0; i < 5; i++) d.send(upload(MN_A));
    await until(() => d.replies.length === 5, 'five acks');
    expect(h.verifyCalls()).toBe(1);
    expect(h.gateway.stats().counters['auth.ok']).toBe(1);
  });

  it('answers an unknown MN with QnRtn=4, publishes it as unknown-mn and logs a security event', async () => {
    h = await startHarness();
    const d = await open(h);
    const frame = upload('33112600000000000000FF99');
    d.send(frame);
    await until(() => d.replies.length === 1, 'the reply');
    expect(cnOf(d.replies[0] as string)).toBe('9011');
    expect(qnRtnOf(d.replies[0] as string)).toBe('4');
    expect(h.published[0]?.envelope).toMatchObject({
      accepted: false,
      reason: 'unknown-mn',
      mn: '33112600000000000000FF99',
    });
    expect(h.published[0]?.bytes.toString()).toBe(frame);
    expect(h.logs.some((l) => l.includes('"event":"security"') && l.includes('unknown-mn'))).toBe(true);
    expect(h.gateway.stats().counters['auth.unknown-mn']).toBe(1);
  });

  it('answers a wrong password with QnRtn=3 and closes the connection after three failures', async () => {
    h = await startHarness();
    const d = await open(h);
    for (let i = 0; i < 3; i++) d.send(upload(MN_A, { pw: 'wrong!' }));
    await until(() => d.replies.length === 3, 'three replies');
    expect(d.replies.map(qnRtnOf)).toEqual(['3', '3', '3']);
    await d.closed;
    expect(h.published.map((p) => p.envelope.reason)).toEqual(['auth-failed', 'auth-failed', 'auth-failed']);
    expect(h.logs.some((l) => l.includes('PW does not match'))).toBe(true);
    expect(h.logs.every((l) => !l.includes('wrong!'))).toBe(true);
    expect(h.gateway.stats().counters['disconnect.auth-failures']).toBe(1);
  });

  it('treats a missing PW as an authentication failure', async () => {
    h = await startHarness();
    const d = await open(h);
    d.send(upload(MN_A, { pw: undefined }));
    await until(() => d.replies.length === 1, 'the reply');
    expect(qnRtnOf(d.replies[0] as string)).toBe('3');
    expect(h.published[0]?.envelope.detail).toContain('no PW');
  });

  it('checks a second MN on the same connection with its own password', async () => {
    h = await startHarness();
    const d = await open(h);
    d.send(upload(MN_A));
    d.send(upload(MN_B, { pw: 'nope12' }));
    await until(() => d.replies.length === 2, 'two replies');
    expect(d.replies.map(cnOf)).toEqual(['9014', '9011']);
  });
});

describe('gateway connection: acknowledgements and rejections', () => {
  it('sends 9014 only after the envelope was published', async () => {
    h = await startHarness();
    const d = await open(h);
    d.send(upload(MN_A));
    await until(() => h?.published.length === 1, 'first publish');
    await until(() => d.replies.length === 1, 'first ack');
    h.hold(MN_A);
    d.send(upload(MN_A));
    await new Promise((r) => setTimeout(r, 100));
    expect(d.replies).toHaveLength(1);
    h.release(MN_A);
    await until(() => d.replies.length === 2, 'the ack after release');
    expect(h.published).toHaveLength(2);
  });

  it('does not acknowledge a packet that could not be published', async () => {
    h = await startHarness();
    const d = await open(h);
    d.send(upload(MN_A));
    await until(() => d.replies.length === 1, 'the ack');
    h.failPublishes(true);
    d.send(upload(MN_A));
    await until(() => (h?.gateway.stats().counters['publish.failed'] ?? 0) === 1, 'a failed publish');
    await new Promise((r) => setTimeout(r, 50));
    expect(d.replies).toHaveLength(1);
  });

  it('sends no reply when A=0', async () => {
    h = await startHarness();
    const d = await open(h);
    d.send(upload(MN_A, { flag: 4 }));
    d.send(upload(MN_A, { flag: 5 }));
    await until(() => d.replies.length === 1 && h?.published.length === 2, 'one ack for two packets');
  });

  it('answers a bad CRC with QnRtn=9 and publishes the frame as bad-crc', async () => {
    h = await startHarness();
    const d = await open(h);
    const frame = badCrc(upload(MN_A));
    d.send(frame);
    await until(() => d.replies.length === 1, 'the reply');
    expect(qnRtnOf(d.replies[0] as string)).toBe('9');
    expect(h.published[0]?.envelope).toMatchObject({ accepted: false, reason: 'bad-crc', mn: MN_A });
    expect(h.published[0]?.bytes.toString()).toBe(frame);
  });

  it('handles a frame split across many chunks and several frames in one chunk', async () => {
    h = await startHarness();
    const d = await open(h);
    const one = Buffer.from(upload(MN_A));
    for (let i = 0; i < one.length; i += 7) {
      d.send(one.subarray(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    d.send(upload(MN_A) + upload(MN_A) + upload(MN_A));
    await until(() => d.replies.length === 4, 'four acks');
    expect(h.published.map((p) => p.envelope.accepted)).toEqual([true, true, true, true]);
    expect(h.published[0]?.bytes.equals(one)).toBe(true);
  });

  it('publishes a flood of rejected frames one envelope each only up to the budget, the rest aggregated', async () => {
    h = await startHarness({
      limits: { rejectBurst: 5, rejectPerSecond: 0.001, garbageMinBytes: 1_000_000, garbageFlushMs: 50, sweepMs: 20 },
    });
    const d = await open(h);
    const frames = Array.from({ length: 30 }, () => badCrc(upload(MN_A))).join('');
    d.send(frames);
    await until(() => d.replies.length === 30, 'thirty replies');
    await until(() => h?.published.some((p) => p.envelope.reason === 'garbage') === true, 'the aggregate');
    const reasons = h.published.map((p) => p.envelope.reason);
    expect(reasons.filter((r) => r === 'bad-crc')).toHaveLength(5);
    const aggregate = h.published.find((p) => p.envelope.reason === 'garbage');
    expect(aggregate?.envelope.detail).toContain('rejected frame: bad-crc ×25');
    expect(h.gateway.stats().counters['rejected.bad-crc']).toBe(30);
  });
});

describe('gateway connection: hostile input', () => {
  it('acknowledges and publishes a packet whose codes are object-prototype names, then a following packet', async () => {
    h = await startHarness();
    const d = await open(h);
    const hostile = upload(MN_A, {
      cp: 'DataTime=20260301120000;w01018-Rtd=42.5;__proto__-Rtd=1;constructor-Avg=2;toString-Flag=N;hasOwnProperty=3;SBvalueOf-RS=1',
    });
    const next = upload(MN_A);
    d.send(hostile);
    d.send(next);
    await until(() => d.replies.length === 2, 'two acks');
    expect(d.replies.map(cnOf)).toEqual(['9014', '9014']);
    expect(h.published.map((p) => [p.envelope.accepted, p.bytes.toString()])).toEqual([
      [true, hostile],
      [true, next],
    ]);
    expect(h.gateway.stats().counters['errors.internal']).toBeUndefined();
  });

  it('keeps a valid packet that follows a truncated one in the same chunk, and archives the cut-off bytes', async () => {
    h = await startHarness({ limits: { garbageFlushMs: 50, sweepMs: 20 } });
    const d = await open(h);
    const cut = upload(MN_A).slice(0, 60);
    const valid = upload(MN_A);
    d.send(cut + valid);
    await until(() => d.replies.length === 1, 'the ack');
    expect(cnOf(d.replies[0] as string)).toBe('9014');
    await until(() => h?.published.some((p) => p.envelope.reason === 'garbage') === true, 'the garbage envelope');
    const accepted = h.published.filter((p) => p.envelope.accepted);
    expect(accepted.map((p) => p.bytes.toString())).toEqual([valid]);
    const garbage = h.published.find((p) => p.envelope.reason === 'garbage');
    expect(garbage?.bytes.toString()).toBe(cut);
    expect(garbage?.envelope.detail).toContain('resynchronised at the next frame');
  });
});

describe('gateway connection: split messages', () => {
  const part = (pno: number, qn = '20260301120000500') =>
    upload(MN_A, {
      flag: 7,
      cn: '2061',
      pnum: 2,
      pno,
      qn,
      cp: `DataTime=20260301110000;w0101${pno}-Avg=1.5,w0101${pno}-Flag=N`,
    });

  it('publishes and acknowledges each part, then hands on the reassembled message', async () => {
    h = await startHarness();
    const d = await open(h);
    d.send(part(1));
    d.send(part(2));
    await until(() => d.replies.length === 2 && h?.published.length === 3, 'two acks and three envelopes');
    expect(h.published.map((p) => p.envelope.detail)).toEqual([
      'split part 1/2',
      'split part 2/2, message complete',
      'reassembled from 2 parts',
    ]);
    const whole = h.published[2]?.envelope;
    expect(whole).toMatchObject({ kind: 'split-message', accepted: true, mn: MN_A });
    expect(Buffer.from(String(whole?.raw), 'base64').toString('utf8').split('\n')).toHaveLength(2);
    expect(h.gateway.stats().counters['split.complete']).toBe(1);
  });

  it('reports a split message whose parts do not all arrive in time', async () => {
    h = await startHarness({ limits: { splitTimeoutMs: 100, sweepMs: 20 } });
    const d = await open(h);
    d.send(part(1));
    await until(() => h?.published.some((p) => p.envelope.reason === 'split-incomplete') === true, 'the report');
    const report = h.published.find((p) => p.envelope.reason === 'split-incomplete');
    expect(report?.envelope).toMatchObject({ accepted: false, mn: MN_A, raw: '' });
    expect(report?.envelope.detail).toContain('PNUM=2, received parts 1');
  });
});

describe('gateway connection: limits', () => {
  it('disconnects a garbage flood and keeps serving other connections', async () => {
    h = await startHarness();
    const good = await open(h);
    const bad = await open(h);
    good.send(upload(MN_A));
    await until(() => good.replies.length === 1, 'first ack');
    const junk = Buffer.alloc(8 * 1024, 0x41);
    for (let i = 0; i < 20 && !bad.isClosed(); i++) {
      bad.send(junk);
      await new Promise((r) => setImmediate(r));
    }
    await bad.closed;
    good.send(upload(MN_A));
    await until(() => good.replies.length === 2, 'second ack');
    expect(h.gateway.stats().counters['disconnect.garbage']).toBe(1);
    const garbage = h.published.filter((p) => p.envelope.reason === 'garbage');
    expect(garbage.length).toBeGreaterThanOrEqual(1);
    expect(garbage.length).toBeLessThanOrEqual(3);
    expect(garbage[0]?.envelope).toMatchObject({ mn: 'unknown', accepted: false });
    expect(garbage[0]?.bytes.length).toBeLessThanOrEqual(16 * 1024);
  });

  it('aggregates a little garbage between frames into one envelope attributed to the device', async () => {
    h = await startHarness({ limits: { garbageFlushMs: 50, sweepMs: 20 } });
    const d = await open(h);
    d.send(upload(MN_A));
    await until(() => d.replies.length === 1, 'ack');
    d.send(`noise${upload(MN_A)}more noise\r\n`);
    await until(() => h?.published.some((p) => p.envelope.reason === 'garbage') === true, 'aggregate');
    const g = h.published.find((p) => p.envelope.reason === 'garbage');
    expect(g?.envelope.mn).toBe(MN_A);
    expect(g?.bytes.toString()).toBe('noisemore noise\r\n');
    expect(d.replies).toHaveLength(2);
  });

  it('closes an idle connection', async () => {
    h = await startHarness({ limits: { idleTimeoutMs: 150, sweepMs: 20 } });
    const d = await open(h);
    await d.closed;
    expect(h.gateway.stats().counters['disconnect.idle']).toBe(1);
  });

  it('closes a connection whose frame never ends (slow sender) and archives the partial frame', async () => {
    h = await startHarness({ limits: { frameTimeoutMs: 150, sweepMs: 20 } });
    const d = await open(h);
    d.send(upload(MN_A).slice(0, 40));
    await d.closed;
    expect(h.gateway.stats().counters['disconnect.slow-frame']).toBe(1);
    await until(() => h?.published.some((p) => p.envelope.reason === 'garbage') === true, 'the partial frame');
  });

  it('refuses connections beyond the maximum', async () => {
    h = await startHarness({ limits: { maxConnections: 2 } });
    const a = await open(h);
    const b = await open(h);
    await until(() => h?.gateway.stats().connections === 2, 'two connections');
    const c = await open(h);
    await c.closed;
    a.send(upload(MN_A));
    b.send(upload(MN_B));
    await until(() => a.replies.length === 1 && b.replies.length === 1, 'acks on the first two');
    expect(h.gateway.stats().counters['connections.refused']).toBe(1);
  });

  it('pauses a connection whose publishes back up, without holding up another', async () => {
    h = await startHarness({ limits: { maxBufferedBytes: 2_048 } });
    const slow = await open(h);
    const fast = await open(h);
    slow.send(upload(MN_A));
    await until(() => slow.replies.length === 1, 'first ack');
    h.hold(MN_A);
    const burst = Array.from({ length: 40 }, () => upload(MN_A)).join('');
    slow.send(burst);
    await until(() => h?.gateway.stats().pausedConnections === 1, 'a paused connection');
    fast.send(upload(MN_B));
    await until(() => fast.replies.length === 1, 'the other connection is served');
    h.release(MN_A);
    await until(() => slow.replies.length === 41, 'every held packet acknowledged', 10_000);
    expect(h.gateway.stats().pausedConnections).toBe(0);
    expect(h.gateway.stats().counters['backpressure.paused']).toBeGreaterThanOrEqual(1);
  });

  it('caps publishes in flight across connections and serves the waiters in order', async () => {
    h = await startHarness({ limits: { maxPendingPublishes: 1 } });
    const a = await open(h);
    const b = await open(h);
    a.send(upload(MN_A));
    await until(() => a.replies.length === 1, 'first ack');
    h.hold(MN_A);
    a.send(upload(MN_A));
    await until(() => h?.gateway.stats().publishesInFlight === 1, 'one in flight');
    b.send(upload(MN_B));
    await until(() => h?.gateway.stats().publishesWaiting === 1, 'one waiting');
    h.release(MN_A);
    await until(() => a.replies.length === 2 && b.replies.length === 1, 'both acknowledged');
  });

  it('drains on stop: frames already received are published and acknowledged', async () => {
    h = await startHarness();
    const d = await open(h);
    d.send(upload(MN_A));
    await until(() => d.replies.length === 1, 'ack');
    h.hold(MN_A);
    d.send(upload(MN_A));
    await until(() => h?.gateway.stats().publishesInFlight === 1, 'in flight');
    const stopping = h.gateway.stop();
    setTimeout(() => h?.release(MN_A), 50);
    await stopping;
    await d.closed;
    expect(d.replies).toHaveLength(2);
    expect(h.published).toHaveLength(2);
  });
});
