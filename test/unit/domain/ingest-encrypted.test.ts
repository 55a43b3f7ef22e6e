import { describe, expect, it } from 'vitest';
import { CachedDeviceDirectory } from '#shared/adapters/device-directory.ts';
import { CachingKeyOpener } from '#shared/adapters/kms-key-sealer.ts';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { encodeEncryptedFrame, encodeFrame, encodeSegment } from '#shared/domain/hj212/codec.ts';
import { IngestEnvelope } from '#shared/domain/ingest/envelope.ts';
import { IngestService } from '#shared/domain/ingest/ingest.ts';
import type { KeyRequests } from '#shared/domain/ingest/ports.ts';
import type { Reading } from '#shared/domain/readings/model.ts';
import type { DeviceRef } from '#shared/domain/readings/normalize.ts';
import { type DeviceKeyRing, keyBytes } from '#shared/domain/registry/device-keys.ts';
import { memoryArchive } from '../helpers/memory-archive.ts';
import { MemoryKeySealer } from '../helpers/memory-key-sealer.ts';

/** HJ 212-2025 encrypted frames through the ingest use-case: opened with the device's keys, or refused and archived. */
const MN = '33112600000000000000BW01';
const OLD = 'q7Rk2pXv9LmZ4tBw';
const NEW = 'Zx8Wq3Lp5Rt7Vn2K';

async function fakes(keyRequests?: KeyRequests, opts: { cachedWithoutKeys?: boolean } = {}) {
  const { all, recordStore } = memoryArchive();
  const sealer = new MemoryKeySealer();
  const at = '2026-03-01T00:00:00.000Z';
  const ringOf = async (...texts: string[]): Promise<DeviceKeyRing> => ({
    encrypting: true,
    versions: await Promise.all(
      texts.map(async (t, i) => ({
        version: i + 1,
        sealed: await sealer.seal(MN, i + 1, keyBytes(t)),
        status: i === texts.length - 1 ? ('current' as const) : ('previous' as const),
        source: 'registration' as const,
        createdAt: at,
        ...(i < texts.length - 1 ? { supersededAt: at } : {}),
      })),
    ),
  });
  const base = { mn: MN, enterpriseId: '91331126MA2BW0T89P', outletId: '91331126MA2BW0T89P-DW001' };
  // the cached device still has the old ring; the registry has moved on to the new key
  let cached: DeviceRef = opts.cachedWithoutKeys ? { ...base } : { ...base, sm4: await ringOf(OLD) };
  const current: DeviceRef = { ...base, sm4: await ringOf(OLD, NEW) };
  const stored: Reading[] = [];
  let freshReads = 0;
  const service = new IngestService({
    devices: {
      get: async (mn) => (mn === MN ? cached : undefined),
      fresh: async () => {
        freshReads++;
        cached = current;
        return current;
      },
    },
    keys: new CachingKeyOpener(sealer, undefined, 3600, () => Date.parse('2026-03-01T01:00:00.000Z')),
    readings: {
      put: async (rs) => {
        stored.push(...rs);
        return { stored: rs.length, duplicates: 0 };
      },
      updateState: async () => true,
    },
    archive: new SealedArchive(recordStore),
    retention: { realtimeDays: 30, minuteDays: 180 },
    ...(keyRequests ? { keyRequests } : {}),
  });
  return { service, stored, archived: all, freshReads: () => freshReads };
}

const segment = (minute: number) =>
  encodeSegment({
    qn: `202603010${minute}00000001`.slice(0, 17),
    st: '32',
    cn: '2051',
    pw: '123456',
    mn: MN,
    flag: 8,
    cp: `DataTime=2026030108${String(minute).padStart(2, '0')}00;w01018-Avg=4${minute},w01018-Flag=N`,
  });
const envelope = (raw: Buffer | string, source: 'tcp-gateway' | 'mqtt-hj212' = 'tcp-gateway') =>
  IngestEnvelope.parse({
    source,
    mn: MN,
    receivedAt: '2026-03-01T01:00:01.000Z',
    raw: Buffer.from(raw).toString('base64'),
    clientId: 'c1',
    ...(source === 'tcp-gateway' ? { accepted: true } : {}),
  });
/** a device's CN 1014: its own key request (SKCreateTime only), or with NewSK (not a request) */
const keyRequest = (qn: string, cp = `SKCreateTime=${qn}`) =>
  encodeEncryptedFrame(encodeSegment({ qn, st: '32', cn: '1014', pw: '123456', mn: MN, flag: 9, cp }), keyBytes(OLD));

describe('ingest of HJ 212-2025 encrypted frames', () => {
  it('opens a frame under the old key, then one under a key the cache does not know yet, losing no reading', async () => {
    const f = await fakes();
    const a = await f.service.ingest(envelope(encodeEncryptedFrame(segment(1), keyBytes(OLD))));
    const b = await f.service.ingest(envelope(encodeEncryptedFrame(segment(2), keyBytes(NEW), 'text')));
    expect([a.accepted, b.accepted]).toEqual([true, true]);
    expect(f.stored.map((r) => r.values.avg)).toEqual([41, 42]);
    expect(f.freshReads()).toBe(1);
  });

  it('reads the device again when it was cached before its key was registered, losing no reading', async () => {
    const f = await fakes(undefined, { cachedWithoutKeys: true });
    const a = await f.service.ingest(envelope(encodeEncryptedFrame(segment(1), keyBytes(NEW))));
    expect(a.accepted).toBe(true);
    expect(f.stored.map((r) => r.values.avg)).toEqual([41]);
    expect(f.freshReads()).toBe(1);
  });

  it('reads a device without keys that sends encrypted frames once per REGISTRY_FRESH_READ_SECONDS, not per message', async () => {
    const now = Date.parse('2026-03-01T01:00:00.000Z');
    const reads: string[] = [];
    const at = '2026-03-01T00:00:00.000Z';
    const registry = {
      get: async <T>(_kind: string, id: string) => {
        reads.push(id);
        const item = { mn: MN, enterpriseId: '91331126MA2BW0T89P', outletId: '91331126MA2BW0T89P-DW001' };
        return id === MN ? { item: item as T, version: 1, createdAt: at, updatedAt: at } : undefined;
      },
    };
    const service = new IngestService({
      devices: new CachedDeviceDirectory(registry, 300, { freshSeconds: 30, now: () => now }),
      keys: new CachingKeyOpener(new MemoryKeySealer(), undefined, 3600, () => now),
      readings: { put: async () => ({ stored: 0, duplicates: 0 }), updateState: async () => false },
      archive: new SealedArchive(memoryArchive().recordStore),
      retention: { realtimeDays: 30, minuteDays: 180 },
    });
    const reasons: (string | undefined)[] = [];
    for (let minute = 1; minute <= 5; minute++) {
      const frame = encodeEncryptedFrame(segment(minute), keyBytes(OLD));
      reasons.push((await service.ingest(envelope(frame, 'mqtt-hj212'))).reason);
    }
    expect(reasons).toEqual(['no-key', 'no-key', 'no-key', 'no-key', 'no-key']);
    expect(reads).toEqual([MN, MN]); // the cached lookup, and one read again
  });

  it('refuses data in clear and a frame that does not open, archiving the bytes as received', async () => {
    const f = await fakes();
    const clear = encodeFrame(segment(3));
    const wrong = encodeEncryptedFrame(segment(4), keyBytes('Lp5Rt7Vn2KZx8Wq3'));
    const a = await f.service.ingest(envelope(clear));
    const b = await f.service.ingest(envelope(wrong));
    expect([a.reason, b.reason]).toEqual(['plaintext-refused', 'decrypt-failed']);
    expect(f.stored).toEqual([]);
    const records = f.archived();
    expect(records.map((r) => r.reason)).toEqual(['plaintext-refused', 'decrypt-failed']);
    expect(Buffer.from(records[1]?.rawBase64 as string, 'base64').equals(wrong)).toBe(true);
  });

  it("answers an MQTT device's own key request once per message received, and leaves a TCP device's to the gateway", async () => {
    const asked: string[] = [];
    let fail = false;
    const f = await fakes({
      request: async (mn) => {
        asked.push(mn);
        if (fail) throw new Error('KMS unavailable');
        return { version: 2, qn: '20260301090000123', resent: asked.length > 1 };
      },
    });
    const request = keyRequest('20260301090000001');
    const a = await f.service.ingest(envelope(request, 'mqtt-hj212'));
    expect(a).toMatchObject({
      accepted: true,
      cn: '1014',
      keyRequest: { version: 2, qn: '20260301090000123', resent: false },
    });
    // the same message again (a Lambda retry, a dead letter replayed): archived once, not answered again
    const replay = await f.service.ingest(envelope(request, 'mqtt-hj212'));
    expect(replay.replay).toBe(true);
    expect(replay.keyRequest).toBeUndefined();
    // over TCP the gateway answers; a 1014 carrying NewSK is no request; a request in clear is refused
    const tcp = await f.service.ingest(envelope(keyRequest('20260301090000002')));
    const withKey = await f.service.ingest(
      envelope(keyRequest('20260301090000003', 'NewSK=Lp5Rt7Vn2KZx8Wq3,SKCreateTime=20260301090000003'), 'mqtt-hj212'),
    );
    const clear = await f.service.ingest(
      envelope(
        encodeFrame(
          encodeSegment({
            qn: '20260301090000004',
            st: '32',
            cn: '1014',
            mn: MN,
            flag: 9,
            cp: 'SKCreateTime=20260301090000004',
          }),
        ),
        'mqtt-hj212',
      ),
    );
    expect([tcp.accepted, withKey.accepted, clear.reason]).toEqual([true, true, 'plaintext-refused']);
    expect([tcp.keyRequest, withKey.keyRequest, clear.keyRequest]).toEqual([undefined, undefined, undefined]);
    expect(asked).toEqual([MN]);
    // a push that cannot be made does not fail the message: archived, reported, the device asks again
    fail = true;
    const failed = await f.service.ingest(envelope(keyRequest('20260301090000005'), 'mqtt-hj212'));
    expect(failed).toMatchObject({ accepted: true, keyRequest: 'failed', keyRequestError: 'Error: KMS unavailable' });
    expect(f.archived()).toHaveLength(5);
    expect(f.stored).toEqual([]);
  });
});
