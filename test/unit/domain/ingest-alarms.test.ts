import { describe, expect, it } from 'vitest';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { sha256Hex } from '#shared/domain/archive/record.ts';
import { encodeFrame } from '#shared/domain/hj212/codec.ts';
import { IngestEnvelope } from '#shared/domain/ingest/envelope.ts';
import { type IngestDeps, IngestService } from '#shared/domain/ingest/ingest.ts';
import type { Reading } from '#shared/domain/readings/model.ts';
import { memoryArchive } from '../helpers/memory-archive.ts';

/** One invocation per message: the ingest use-case evaluates the alarm rules on its own decoded message and verdict. */
const MN = '33112600000000000000BW01';
const device = { mn: MN, enterpriseId: '91331126MA2BW0T89P', outletId: '91331126MA2BW0T89P-DW001' };

function fakes(opts: { evaluationFails?: number; archiveFails?: boolean } = {}) {
  const { all, recordStore, objectStore } = memoryArchive();
  const lookups: string[] = [];
  const evaluated: { mn: string; readings: readonly Reading[]; packet: unknown }[] = [];
  const order: string[] = [];
  let failures = opts.evaluationFails ?? 0;
  const alarms: NonNullable<IngestDeps['alarms']> = {
    evaluate: async (mn, readings, packet) => {
      order.push('evaluate');
      evaluated.push({ mn, readings, packet });
      if (failures > 0) {
        failures--;
        throw new Error('alarms table unavailable');
      }
      return { mn, transitions: [], attempts: 1, deliveries: [] };
    },
  };
  const service = new IngestService({
    devices: {
      get: async (mn) => {
        lookups.push(mn);
        return mn === MN ? device : undefined;
      },
    },
    readings: {
      put: async (rs) => {
        order.push('readings');
        return { stored: rs.length, duplicates: 0 };
      },
      updateState: async () => true,
    },
    archive: new SealedArchive(
      opts.archiveFails
        ? {
            ...recordStore,
            putNew: async () => {
              throw new Error('readings table unavailable');
            },
          }
        : recordStore,
      objectStore,
    ),
    retention: { realtimeDays: 30, minuteDays: 180 },
    alarms,
  });
  return { service, archived: () => all().length, lookups, evaluated, order };
}

const frame = (mn = MN) =>
  encodeFrame(
    `QN=20261129100000001;ST=32;CN=2051;PW=123456;MN=${mn};Flag=5;CP=&&DataTime=20261129095000;` +
      'w01018-Avg=148.5,w01018-Flag=N;w21003-Avg=3.2,w21003-Flag=N&&',
  );
const envelope = (raw: string, mn = MN) =>
  IngestEnvelope.parse({
    source: 'mqtt-hj212',
    mn,
    receivedAt: '2026-11-29T02:00:01.000Z',
    raw: Buffer.from(raw).toString('base64'),
    clientId: mn,
  });

describe('IngestService with the alarm engine', () => {
  it('evaluates the accepted readings once, on the same verdict, with one device lookup', async () => {
    const f = fakes();
    const raw = frame();
    const outcome = await f.service.ingest(envelope(raw));
    expect(outcome).toMatchObject({ accepted: true, readings: 2, stored: 2, alarms: { mn: MN, transitions: [] } });
    expect(f.lookups).toEqual([MN]);
    expect(f.evaluated).toHaveLength(1);
    expect(f.evaluated[0]?.readings.map((r) => r.pollutant).sort()).toEqual(['w01018', 'w21003']);
    expect(f.evaluated[0]?.packet).toEqual({
      receivedAt: '2026-11-29T02:00:01.000Z',
      source: 'mqtt-hj212',
      rawSha256: sha256Hex(Buffer.from(raw)),
    });
    expect(f.archived()).toBe(1);
  });

  it('does not evaluate a refused message or an unknown device, and still archives it', async () => {
    const f = fakes();
    const stranger = '33112600000000000000ZZ99';
    const unknown = await f.service.ingest(envelope(frame(stranger), stranger));
    const mismatch = await f.service.ingest(envelope(frame(stranger)));
    expect(unknown).toMatchObject({ accepted: false, reason: 'unknown-mn' });
    expect(mismatch).toMatchObject({ accepted: false, reason: 'mn-mismatch' });
    expect(unknown.alarms).toBeUndefined();
    expect(f.evaluated).toEqual([]);
    expect(f.archived()).toBe(2);
  });

  it('fails the message when the evaluation fails, and a retry archives nothing twice and evaluates again', async () => {
    const f = fakes({ evaluationFails: 1 });
    const e = envelope(frame());
    await expect(f.service.ingest(e)).rejects.toThrow('alarms table unavailable');
    expect(f.archived()).toBe(1); // archived and stored all the same
    expect(f.order).toContain('readings');
    const retried = await f.service.ingest(e);
    expect(retried).toMatchObject({ accepted: true, replay: true, alarms: { transitions: [] } });
    expect(f.archived()).toBe(1);
    expect(f.evaluated).toHaveLength(2);
  });

  it('fails the message when the archive fails, with the evaluation settled (no readings counted)', async () => {
    const f = fakes({ archiveFails: true });
    await expect(f.service.ingest(envelope(frame()))).rejects.toThrow('readings table unavailable');
    expect(f.order).toEqual(['evaluate']);
  });
});
