import { describe, expect, it } from 'vitest';
import { CachingKeyOpener } from '#shared/adapters/kms-key-sealer.ts';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { encodeEncryptedFrame, encodeFrame, encodeSegment } from '#shared/domain/hj212/codec.ts';
import { IngestEnvelope } from '#shared/domain/ingest/envelope.ts';
import { IngestService } from '#shared/domain/ingest/ingest.ts';
import type { Reading } from '#shared/domain/readings/model.ts';
import type { DeviceRef } from '#shared/domain/readings/normalize.ts';
import { type DeviceKeyRing, keyBytes } from '#shared/domain/registry/device-keys.ts';
import { memoryArchive } from '../helpers/memory-archive.ts';
import { MemoryKeySealer } from '../helpers/memory-key-sealer.ts';

/** HJ 212-2025 encrypted frames through the ingest use-case: opened with the device's keys, or refused and archived. */
const MN = '33112600000000000000BW01';
const OLD = 'q7Rk2pXv9LmZ4tBw';
const NEW = 'Zx8Wq3Lp5Rt7Vn2K';

async function fakes() {
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
  let cached: DeviceRef = { ...base, sm4: await ringOf(OLD) };
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
const envelope = (raw: Buffer | string) =>
  IngestEnvelope.parse({
    source: 'tcp-gateway',
    mn: MN,
    receivedAt: '2026-03-01T01:00:01.000Z',
    raw: Buffer.from(raw).toString('base64'),
    clientId: 'c1',
    accepted: true,
  });

describe('ingest of HJ 212-2025 encrypted frames', () => {
  it('opens a frame under the old key, then one under a key the cache does not know yet, losing no reading', async () => {
    const f = await fakes();
    const a = await f.service.ingest(envelope(encodeEncryptedFrame(segment(1), keyBytes(OLD))));
    const b = await f.service.ingest(envelope(encodeEncryptedFrame(segment(2), keyBytes(NEW), 'text')));
    expect([a.accepted, b.accepted]).toEqual([true, true]);
    expect(f.stored.map((r) => r.values.avg)).toEqual([41, 42]);
    expect(f.freshReads()).toBe(1);
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
});
