import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SealedArchive } from '#shared/domain/archive/archive.ts';
import { decodeFrame, encodeFrame } from '#shared/domain/hj212/codec.ts';
import { IngestEnvelope } from '#shared/domain/ingest/envelope.ts';
import { decodeMessage, IngestService, judgeMessage } from '#shared/domain/ingest/ingest.ts';
import { isNullRecord } from '#shared/domain/null-record.ts';
import type { Reading } from '#shared/domain/readings/model.ts';
import { HOSTILE_NAMES, hostilePacket } from '../../fuzz/hj212.ts';
import { prototypeFingerprint } from '../../fuzz/prototypes.ts';
import { bambooSource, Device } from '../domain/alarms/engine-fixtures.ts';
import { memoryArchive } from '../helpers/memory-archive.ts';

/**
 * HJ 212 packets with a valid CRC whose codes are names an object resolves without owning them (`__proto__`,
 * `constructor`, `toString` …), through everything downstream of the decoder: normalization, ingestion (archive,
 * readings, device state) and the alarm engine. Such a field is dropped with a warning and the packet accepted with its
 * good values; nothing throws and no prototype changes.
 */
const MN = bambooSource().mn;
/** the MN of hostilePacket's packets */
const GENERATED_MN = '33112600000000000000AB01';
const segment = (cp: string) =>
  `QN=20261129100000001;ST=32;CN=2011;PW=123456;MN=${MN};Flag=5;CP=&&DataTime=20261129100000;w01018-Rtd=150.5,w01018-Flag=N;${cp}&&`;

function fakes() {
  const { all, recordStore } = memoryArchive();
  const stored: Reading[] = [];
  const states: { kind: string; readings: Reading[] }[] = [];
  const source = bambooSource();
  // the bamboo factory's device, under its MN and the one the hostile-packet generator uses
  const devices = {
    get: async (mn: string) =>
      mn === MN || mn === GENERATED_MN
        ? { mn, enterpriseId: source.enterpriseId, outletId: source.outletId }
        : undefined,
  };
  const service = new IngestService({
    devices,
    readings: {
      put: async (rs) => {
        stored.push(...rs);
        return { stored: rs.length, duplicates: 0 };
      },
      updateState: async (_mn, kind, _t, _r, readings) => {
        // the DynamoDB store sets one attribute per code: two readings of one code would make it fail
        const codes = readings.map((r) => r.pollutant);
        if (new Set(codes).size !== codes.length) throw new Error(`two document paths overlap: ${codes}`);
        states.push({ kind, readings });
        return true;
      },
    },
    archive: new SealedArchive(recordStore),
    retention: { realtimeDays: 30, minuteDays: 180 },
  });
  const archived = () => all();
  return { service, devices, stored, states, archived };
}

const envelope = (frame: string, source: 'mqtt-hj212' | 'tcp-gateway', mn = MN) =>
  IngestEnvelope.parse({
    source,
    mn,
    receivedAt: '2026-11-29T02:00:01.000Z',
    raw: Buffer.from(frame).toString('base64'),
    ...(source === 'tcp-gateway' ? { accepted: true, clientId: 'c1' } : { clientId: MN }),
  });

describe('hostile HJ 212 codes', () => {
  let before: string;
  beforeEach(() => {
    before = prototypeFingerprint();
  });
  afterEach(() => {
    expect(prototypeFingerprint()).toBe(before);
  });

  it('drops every field whose code is an object-prototype name, with a warning, and keeps the good values', () => {
    for (const name of HOSTILE_NAMES) {
      const items = [`${name}-Rtd=1`, `${name}-Avg=2`, `${name}-Flag=N`, `${name}-Info=//x//`, `SB${name}-RS=1`];
      const r = decodeFrame(encodeFrame(segment(items.join(';'))));
      if (!r.ok) throw new Error(r.detail);
      const { cp, warnings } = r.packet;
      expect(Object.keys(cp.pollutants), name).toEqual(['w01018']);
      expect(cp.pollutants.w01018).toEqual({ code: 'w01018', values: { Rtd: 150.5 }, flag: 'N' });
      expect(Object.keys(cp.facilities)).toEqual([]);
      expect(Object.keys(cp.info)).toEqual([]);
      expect(warnings.filter((w) => w.includes('dropped'))).toHaveLength(items.length);
      expect(warnings).toContain(`CP field "${name}-Rtd" dropped: "${name}" is not an HJ 212 code`);
      for (const record of [cp.params, cp.pollutants, cp.facilities, cp.info]) expect(isNullRecord(record)).toBe(true);
    }
  });

  it('keeps a parameter or suffix named constructor as an own value of a null record, and drops __proto__', () => {
    const r = decodeFrame(encodeFrame(segment('constructor=1;toString=2;__proto__=3;w01018-valueOf=4')));
    if (!r.ok) throw new Error(r.detail);
    const { params, pollutants } = r.packet.cp;
    expect(Object.entries(params)).toEqual([
      ['constructor', '1'],
      ['toString', '2'],
    ]);
    expect(pollutants.w01018?.extra?.valueOf).toBe('4');
    expect(isNullRecord(pollutants.w01018?.extra ?? {})).toBe(true);
    expect(r.packet.warnings).toContain('CP field "__proto__" dropped: a parameter name is 1–32 letters and digits');
  });

  it('accepts the packet over MQTT and from the gateway: archived with its warnings, readings of the good codes', async () => {
    for (const source of ['mqtt-hj212', 'tcp-gateway'] as const) {
      const { service, stored, states, archived } = fakes();
      const frame = encodeFrame(segment('__proto__-Rtd=1;constructor-Avg=2;toString-Flag=N;hasOwnProperty-Rtd=3'));
      const outcome = await service.ingest(envelope(frame, source));
      expect(outcome).toMatchObject({ accepted: true, readings: 1, stored: 1, stateUpdated: true });
      expect(outcome.warnings).toHaveLength(4);
      expect(stored.map((x) => [x.pollutant, x.values])).toEqual([['w01018', { rtd: 150.5 }]]);
      expect(states).toHaveLength(1);
      const [record] = archived();
      expect(record).toMatchObject({ accepted: true });
      expect(record?.detail).toMatch(/^warnings: CP field "__proto__-Rtd" dropped/);
    }
  });

  it('runs the alarm engine on the readings of such a packet (one decode shared with ingestion)', async () => {
    const { devices } = fakes();
    const hourly = segment('constructor-Avg=999;__proto__-Flag=D;toString-Avg=1')
      .replace('CN=2011', 'CN=2061')
      .replace('w01018-Rtd', 'w01018-Avg');
    const message = decodeMessage(envelope(encodeFrame(hourly), 'mqtt-hj212'));
    const verdict = await judgeMessage(message, devices);
    const device = new Device(bambooSource());
    const transitions = device.feed(verdict.normalized?.readings ?? []);
    // hourly COD 150.5 over the bamboo outlet's limit of 100: the engine raised on the good value and saw nothing else
    expect(transitions.map((t) => t.signal?.key)).toContain('exceedance#w01018');
    expect(Object.keys(device.state.series).every((k) => k.includes('w01018'))).toBe(true);
    expect(Object.getPrototypeOf(device.state.series)).toBe(Object.prototype);
  });

  it('stores one reading per code when a code comes both as pollutant and as facility', async () => {
    const { service, stored, states } = fakes();
    const outcome = await service.ingest(envelope(encodeFrame(segment('SB1-Rtd=5;SB1-RS=1')), 'mqtt-hj212'));
    expect(outcome).toMatchObject({ accepted: true, readings: 2, stateUpdated: true });
    expect(outcome.warnings).toContain('SB1 is given twice (as a facility too); the first value is kept');
    expect(stored.map((x) => [x.pollutant, x.subject])).toEqual([
      ['w01018', 'pollutant'],
      ['SB1', 'pollutant'],
    ]);
    expect(states[0]?.readings).toHaveLength(2);
  });

  it('never throws and never touches a prototype, whatever hostile names a valid packet carries', async () => {
    const { service, devices } = fakes();
    await fc.assert(
      fc.asyncProperty(hostilePacket, async (frame) => {
        const outcome = await service.ingest(envelope(frame, 'mqtt-hj212', GENERATED_MN));
        expect(outcome.accepted).toBe(true);
        expect(outcome.stored).toBeGreaterThanOrEqual(1);
        const verdict = await judgeMessage(decodeMessage(envelope(frame, 'tcp-gateway', GENERATED_MN)), devices);
        new Device(bambooSource()).feed(verdict.normalized?.readings ?? []);
        expect(prototypeFingerprint()).toBe(before);
      }),
      { numRuns: 200 },
    );
  });
});
