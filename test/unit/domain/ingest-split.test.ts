import { describe, expect, it } from 'vitest';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { encodeFrame, encodeSegment } from '#shared/domain/hj212/codec.ts';
import { IngestEnvelope } from '#shared/domain/ingest/envelope.ts';
import { type IngestDeps, IngestService } from '#shared/domain/ingest/ingest.ts';
import type { Reading } from '#shared/domain/readings/model.ts';
import { memoryArchive } from '../helpers/memory-archive.ts';

/** Split HJ 212 messages through the ingest use-case: parts are archived, readings come from the whole message. */
const MN = '33112600000000000000AB01';

function fakes(answers?: IngestDeps['answers']) {
  const { all, recordStore } = memoryArchive();
  const stored: Reading[] = [];
  const service = new IngestService({
    devices: {
      get: async (mn) =>
        mn === MN ? { mn, enterpriseId: '91331126MA2BW0T89P', outletId: '91331126MA2BW0T89P-DW001' } : undefined,
    },
    readings: {
      put: async (rs) => {
        stored.push(...rs);
        return { stored: rs.length, duplicates: 0 };
      },
      updateState: async () => true,
    },
    archive: new SealedArchive(recordStore),
    retention: { realtimeDays: 30, minuteDays: 180 },
    ...(answers ? { answers } : {}),
  });
  return { service, stored, archived: all };
}

const segment = (pno: number, cp: string) =>
  encodeSegment({ qn: '20261129100000001', st: '32', cn: '2061', pw: '123456', mn: MN, flag: 7, pnum: 2, pno, cp });
const parts = [
  segment(1, 'DataTime=20261129090000;w01018-Avg=48.5,w01018-Flag=N'),
  segment(2, 'DataTime=20261129090000;w21003-Avg=3.2,w21003-Flag=N'),
];

const envelope = (raw: string, extra: Record<string, unknown> = {}) =>
  IngestEnvelope.parse({
    source: 'tcp-gateway',
    mn: MN,
    receivedAt: '2026-11-29T02:00:01.000Z',
    raw: Buffer.from(raw).toString('base64'),
    clientId: 'c1',
    accepted: true,
    ...extra,
  });

describe('ingest of split HJ 212 messages', () => {
  it('archives each part without making readings from it', async () => {
    const { service, stored, archived } = fakes();
    const outcome = await service.ingest(envelope(encodeFrame(parts[0] as string)));
    expect(outcome).toMatchObject({ accepted: true, readings: 0 });
    expect(outcome.detail).toMatch(/split part 1\/2/);
    expect(stored).toEqual([]);
    expect(archived().length).toBe(1);
  });

  it('stores the readings of the reassembled message once', async () => {
    const { service, stored } = fakes();
    const outcome = await service.ingest(
      envelope(parts.join('\n'), { kind: 'split-message', detail: 'reassembled from 2 parts' }),
    );
    expect(outcome).toMatchObject({ accepted: true, readings: 2, stored: 2 });
    expect(stored.map((r) => [r.pollutant, r.kind, r.values.avg, r.dataTime])).toEqual([
      ['w01018', 'hour', 48.5, '2026-11-29T01:00:00.000Z'],
      ['w21003', 'hour', 3.2, '2026-11-29T01:00:00.000Z'],
    ]);
  });

  it('refuses a reassembled message whose parts do not make a whole', async () => {
    const { service, stored } = fakes();
    const outcome = await service.ingest(envelope(parts[0] as string, { kind: 'split-message' }));
    expect(outcome).toMatchObject({ accepted: false, reason: 'malformed-split' });
    expect(stored).toEqual([]);
  });
});

describe('ingest of answers to the platform commands', () => {
  it('hands a 9011 and a 9012 with their codes and QN to the command capability, and archives them', async () => {
    const got: unknown[] = [];
    const { service, archived } = fakes({
      answer: async (mn, qn, a) => {
        got.push({ mn, qn, ...a });
        return true;
      },
    });
    const reply = (cn: string, cp: string) =>
      encodeFrame(encodeSegment({ qn: '20261206090000000', st: '91', cn, pw: '123456', mn: MN, flag: 8, cp }));
    expect(await service.ingest(envelope(reply('9011', 'QnRtn=1')))).toMatchObject({ accepted: true, answered: true });
    await service.ingest(envelope(reply('9012', 'ExeRtn=2')));
    await service.ingest(envelope(reply('9014', '')));
    expect(got).toEqual([
      { mn: MN, qn: '20261206090000000', cn: '9011', code: 1, at: '2026-11-29T02:00:01.000Z' },
      { mn: MN, qn: '20261206090000000', cn: '9012', code: 2, at: '2026-11-29T02:00:01.000Z' },
    ]);
    expect(archived().length).toBe(3);
  });

  it('does not hand on an answer the gateway refused', async () => {
    const got: unknown[] = [];
    const { service } = fakes({ answer: async (...a) => got.push(a) > 0 });
    const raw = encodeFrame(
      encodeSegment({ qn: '20261206090000000', st: '91', cn: '9011', mn: MN, flag: 8, cp: 'QnRtn=1' }),
    );
    await service.ingest(envelope(raw, { accepted: false, reason: 'auth-failed' }));
    expect(got).toEqual([]);
  });
});
