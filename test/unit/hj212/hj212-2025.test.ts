import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeEncryptedFrame, encodeFrame, encodePacket } from '#shared/domain/hj212/codec.ts';
import { FrameStream, MAX_FRAME } from '#shared/domain/hj212/frame-stream.ts';
import { sm4Available, sm4DecryptBlocks, sm4EncryptBlocks } from '#shared/domain/hj212/sm4.ts';
import type { DecodeResult, Hj212Packet } from '#shared/domain/hj212/types.ts';

/**
 * HJ 212-2025 in the codec: version per packet, SM4 (GB/T 32907, ECB, no padding, tail in clear, CRC over the
 * plaintext) in both wire forms, and the new header field and values. The standard's Appendix A.2 example 2 is checked
 * byte for byte: its plaintext, its published ciphertext under the key "0000000000000000" (16 × 0x30).
 */
const ok = (r: DecodeResult): Hj212Packet => {
  if (!r.ok) throw new Error(`expected a packet, got ${r.reason}: ${r.detail}`);
  return r.packet;
};
const reason = (r: DecodeResult) => (r.ok ? 'ok' : r.reason);

const A1 = '##0087QN=20240601085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&&&2200\r\n';
const A2_SEGMENT =
  'QN=20240520210700000;ST=31;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,a01011-Flag=N;a01012-Min=9.3,a01012-Avg=9.3,a01012-Max=9.3,a01012-Flag=N;a01014-Min=3.20,a01014-Avg=3.211,a01014-Max=3.212,a01014-Flag=N&&';
const A2_PLAIN = `##0295${A2_SEGMENT}2200\r\n`;
const A2_CIPHER =
  'E43E159ACFAB242CB53155FB8B9281A1A242577ABFAED881BE88B72D69FC55ED1A80119FAAC8B3CD33D285CC76F57F2CA7F88B9573C6647E0F07E24609BD6B63EB20C5B9784F28E71D2F4994FF61D9E1C2B3075592B4D1E09C4D8BB27BE97B559E3DA6643781A6F477769DEEB009B10DFFF3426922725D607DC4480F0CAC5F70DB2587B124BCB281592721D6E4BC180A97E5E111499CBE822E31C8D7761553543AA24207C290997BBDE64F9266BC5F529A172E381C1D898CA1A0D771A914A7B2D7467C70B94F1D4A7B0350A48DBF8B41';
const ZERO_KEY = Buffer.from('0000000000000000', 'latin1');
const A2_HEADER = A2_SEGMENT.slice(0, A2_SEGMENT.indexOf('CP=&&') + 5);
const cipherBytes = Buffer.from(A2_CIPHER, 'hex');
const textList = `{${Array.from(cipherBytes, (b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(',')}}`;
/** the published encrypted example in the raw-bytes form (length = bytes = plaintext length) */
const A2_BINARY = Buffer.concat([Buffer.from(`##0295${A2_HEADER}`), cipherBytes, Buffer.from('&&2200\r\n')]);
/** the same in the `{0x..}` text form, with the plaintext length the PDF prints */
const A2_TEXT = `##0295${A2_HEADER}${textList}&&2200\r\n`;

const segment = (cn: string, cp: string, flag = 9, extra = '') =>
  `QN=20260601085857223;ST=32;CN=${cn};PW=123456;MN=010000A8900016F000169DC0;Flag=${flag};${extra}CP=&&${cp}&&`;

describe('sm4', () => {
  it('is available in this Node.js (sm4-ecb of OpenSSL 3)', () => {
    expect(sm4Available()).toBe(true);
  });

  it('encrypts the Appendix A.2 example CP to the published ciphertext byte for byte', () => {
    const region = Buffer.from(A2_SEGMENT.slice(A2_HEADER.length, -2), 'latin1');
    expect(region.length).toBe(208);
    expect(sm4EncryptBlocks(ZERO_KEY, region).toString('hex').toUpperCase()).toBe(A2_CIPHER);
    expect(sm4DecryptBlocks(ZERO_KEY, cipherBytes).toString('latin1')).toBe(region.toString('latin1'));
  });

  it('leaves a tail shorter than a block in clear, for every tail length 0–15', () => {
    const key = randomBytes(16);
    for (let tail = 0; tail < 16; tail++) {
      const data = randomBytes(32 + tail);
      const sealed = sm4EncryptBlocks(key, data);
      expect(sealed.length).toBe(data.length);
      expect(sealed.subarray(32).equals(data.subarray(32))).toBe(true);
      expect(sealed.subarray(0, 32).equals(data.subarray(0, 32))).toBe(false);
      expect(sm4DecryptBlocks(key, sealed).equals(data)).toBe(true);
    }
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => sm4EncryptBlocks(Buffer.alloc(15), Buffer.alloc(16))).toThrow(RangeError);
  });
});

describe('decodeFrame on HJ 212-2025 packets', () => {
  it('decodes the Appendix A.1 example as a 2025 packet, CRC 2200', () => {
    const p = ok(decodeFrame(A1));
    expect(p).toMatchObject({ cn: '1011', flag: 9, version: '2025', ack: true, resent: false });
    expect(p.encryption).toBeUndefined();
  });

  it('decodes the Appendix A.2 plaintext example', () => {
    const p = ok(decodeFrame(A2_PLAIN));
    expect(p.version).toBe('2025');
    expect(p.cp.pollutants.a01014?.values).toEqual({ Min: 3.2, Avg: 3.211, Max: 3.212 });
  });

  it('opens the published ciphertext in the raw-bytes form with the example key, to the plaintext packet', () => {
    const r = ok(decodeFrame(A2_BINARY, { keys: [ZERO_KEY] }));
    const plain = ok(decodeFrame(A2_PLAIN));
    expect(r.encryption).toEqual({ form: 'binary', key: 0 });
    expect(r.segment).toBe(A2_SEGMENT);
    expect(r.cp).toEqual(plain.cp);
  });

  it('opens the published ciphertext in the {0x..} text form, whether the length counts the plaintext or the wire', () => {
    const r = ok(decodeFrame(A2_TEXT, { keys: [ZERO_KEY] }));
    expect(r.encryption).toEqual({ form: 'text', key: 0 });
    expect(r.segment).toBe(A2_SEGMENT);
    const wireSegment = `${A2_HEADER}${textList}&&`;
    const wire = `##${String(wireSegment.length).padStart(4, '0')}${wireSegment}2200\r\n`;
    expect(ok(decodeFrame(wire, { keys: [ZERO_KEY] })).segment).toBe(A2_SEGMENT);
  });

  it('encodes the example to the published bytes in both forms', () => {
    expect(encodeEncryptedFrame(A2_SEGMENT, ZERO_KEY, 'binary').equals(A2_BINARY)).toBe(true);
    expect(encodeEncryptedFrame(A2_SEGMENT, ZERO_KEY, 'text').toString('latin1')).toBe(A2_TEXT);
  });

  it('refuses an encrypted CP without a key as no-key, and with a wrong key as decrypt-failed', () => {
    expect(reason(decodeFrame(A2_BINARY))).toBe('no-key');
    expect(reason(decodeFrame(A2_TEXT))).toBe('no-key');
    const wrong = [randomBytes(16)];
    const r = decodeFrame(A2_BINARY, { keys: wrong });
    expect(reason(r)).toBe('decrypt-failed');
    if (!r.ok) expect(r.header).toMatchObject({ mn: '010000A8900016F000169DC0', cn: '2051', flag: 9 });
    expect(reason(decodeFrame(A2_TEXT, { keys: wrong }))).toBe('decrypt-failed');
  });

  it('tries the keys in order and says which opened the packet (a key in its grace window)', () => {
    const r = ok(decodeFrame(A2_BINARY, { keys: [randomBytes(16), ZERO_KEY] }));
    expect(r.encryption).toEqual({ form: 'binary', key: 1 });
  });

  it('refuses a truncated ciphertext', () => {
    const shortList = textList.replace(/,0x41\}$/, '}');
    expect(reason(decodeFrame(`##0295${A2_HEADER}${shortList}&&2200\r\n`, { keys: [ZERO_KEY] }))).toBe(
      'decrypt-failed',
    );
    const cut = Buffer.concat([Buffer.from(`##0295${A2_HEADER}`), cipherBytes.subarray(0, 200), Buffer.from('&&2200')]);
    expect(reason(decodeFrame(cut, { keys: [ZERO_KEY] }))).toBe('length-mismatch');
    expect(reason(decodeFrame(`##0295${A2_HEADER}{0xE4,0x3E&&2200\r\n`, { keys: [ZERO_KEY] }))).toBe('decrypt-failed');
  });

  it('refuses data in clear from a device that must encrypt, but not commands sent in clear', () => {
    const opts = { keys: [ZERO_KEY], requireEncryption: true };
    expect(reason(decodeFrame(A2_PLAIN, opts))).toBe('plaintext-refused');
    expect(ok(decodeFrame(A1, opts)).cn).toBe('1011');
    expect(ok(decodeFrame(encodePacket({ st: '91', cn: '9015', mn: 'M1', flag: 9, cp: '' }), opts)).cn).toBe('9015');
    expect(ok(decodeFrame(A2_PLAIN, { keys: [ZERO_KEY] })).encryption).toBeUndefined();
  });

  it('round-trips generated packets under random keys for every tail length 0–15, in both forms', () => {
    for (let tail = 0; tail < 16; tail++) {
      const key = randomBytes(16);
      let cp = 'DataTime=20260601120000;w01018-Avg=12.5,w01018-Flag=N;i12001-Info=x';
      while (cp.length % 16 !== tail) cp += 'x';
      const seg = segment('2051', cp);
      for (const form of ['binary', 'text'] as const) {
        const p = ok(decodeFrame(encodeEncryptedFrame(seg, key, form), { keys: [key] }));
        expect(p.segment, `tail ${tail}, ${form}`).toBe(seg);
        expect(p.encryption?.form).toBe(form);
        expect(p.cp.pollutants.w01018?.values.Avg).toBe(12.5);
      }
    }
  });

  it('never throws on arbitrary bytes in an encrypted CP, whatever the keys', () => {
    const head = Buffer.from(`##0000${segment('2051', '').slice(0, -2)}`);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.boolean(), fc.boolean(), (body, asText, withKey) => {
        const cp = asText
          ? Buffer.from(`{${Array.from(body, (b) => `0x${b.toString(16)}`).join(',')}}`)
          : Buffer.from(body);
        const seg = Buffer.concat([head.subarray(6), cp, Buffer.from('&&')]);
        const frame = Buffer.concat([
          Buffer.from(`##${String(seg.length % 10_000).padStart(4, '0')}`),
          seg,
          Buffer.from('ABCD\r\n'),
        ]);
        const r = decodeFrame(frame, withKey ? { keys: [ZERO_KEY, randomBytes(16)] } : undefined);
        if (!r.ok) expect(r.detail.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('reads RF=1 as a re-sent packet', () => {
    const p = ok(decodeFrame(encodeFrame(segment('2051', 'DataTime=20260601120000;w01018-Avg=1', 8, 'RF=1;'))));
    expect(p.resent).toBe(true);
    expect(p.warnings).toEqual([]);
    const odd = ok(decodeFrame(encodeFrame(segment('2051', 'DataTime=20260601120000;w01018-Avg=1', 8, 'RF=0;'))));
    expect(odd.resent).toBe(false);
    expect(odd.warnings.join()).toMatch(/RF=0/);
  });

  it('keeps -RawAvg as sent and turns the 9999.99 sentinel of a converted value into "not computable"', () => {
    const cp = 'DataTime=20260601120000;a34013-Avg=7.0,a34013-RawAvg=7.1,a34013-ZsAvg=9999.99,a34013-Flag=N';
    const p = ok(decodeFrame(encodeFrame(segment('2051', cp, 8))));
    const dust = p.cp.pollutants.a34013;
    expect(dust?.values).toEqual({ Avg: 7 });
    expect(dust?.extra?.RawAvg).toBe('7.1');
    expect(dust?.notComputable).toEqual(['ZsAvg']);
    // the sentinel means "not computable" only for converted values of 2025 packets; otherwise it stays a number
    const measured = ok(decodeFrame(encodeFrame(segment('2051', 'DataTime=20260601120000;w00000-Avg=9999.99', 8))));
    expect(measured.cp.pollutants.w00000?.values.Avg).toBe(9999.99);
    const old = ok(decodeFrame(encodeFrame(segment('2051', 'DataTime=20260601120000;a34013-ZsAvg=9999.99', 4))));
    expect(old.cp.pollutants.a34013?.values.ZsAvg).toBe(9999.99);
  });

  it('accepts ; or , between BeginTime and EndTime', () => {
    for (const sep of [';', ',']) {
      const p = ok(decodeFrame(encodeFrame(segment('2061', `BeginTime=20260601000000${sep}EndTime=20260601080000`))));
      expect(p.cp.params.BeginTime).toBe('20260601000000');
      expect(p.cp.params.EndTime).toBe('20260601080000');
    }
  });

  it('decodes the 2025 heartbeat and key commands', () => {
    expect(
      ok(decodeFrame(encodePacket({ qn: '20260601120000000', st: '91', cn: '9015', mn: 'M1', flag: 9, cp: '' }))),
    ).toMatchObject({ cn: '9015', version: '2025', ack: true });
    const key = ok(
      decodeFrame(
        '##0140QN=20240601085857223;ST=32;CN=1014;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&SKCreateTime=20240601085857223,NewSK=0000000000000000&&EA41\r\n',
      ),
    );
    expect(key.cp.params).toMatchObject({ SKCreateTime: '20240601085857223', NewSK: '0000000000000000' });
  });

  it('decides the version per packet from the Flag bits', () => {
    expect(ok(decodeFrame(encodeFrame(segment('2051', 'DataTime=20260601120000;w01018-Avg=1', 5)))).version).toBe(
      '2017',
    );
    expect(
      ok(decodeFrame(encodeFrame(segment('2051', 'DataTime=20260601120000;w01018-Avg=1', 11, 'PNUM=1;PNO=1;'))))
        .version,
    ).toBe('2025');
  });
});

describe('FrameStream on HJ 212-2025 encrypted frames', () => {
  const split = (data: Buffer, size: number) => {
    const stream = new FrameStream();
    const items = [];
    for (let i = 0; i < data.length; i += size) items.push(...stream.push(data.subarray(i, i + size)));
    items.push(...stream.flush());
    return {
      frames: items.filter((i) => i.kind === 'frame').map((i) => Buffer.from(i.bytes)),
      garbage: items.filter((i) => i.kind === 'garbage').length,
    };
  };
  /** an encrypted frame whose ciphertext holds LF, CR LF and `##` with digits */
  const hostile = (() => {
    for (;;) {
      const key = randomBytes(16);
      const frame = encodeEncryptedFrame(A2_SEGMENT, key, 'binary');
      const cp = frame.subarray(A2_HEADER.length + 6, frame.length - 8);
      if (cp.includes(0x0a)) return { key, frame };
    }
  })();
  const next = Buffer.from(A1);

  for (const size of [1, 7, 64, 4096]) {
    it(`reads a binary ciphertext holding LF by its declared length (chunks of ${size})`, () => {
      const got = split(Buffer.concat([hostile.frame, next, A2_BINARY]), size);
      expect(got.garbage).toBe(0);
      expect(got.frames.map((f) => f.toString('hex'))).toEqual(
        [hostile.frame, next, A2_BINARY].map((f) => f.toString('hex')),
      );
      expect(ok(decodeFrame(got.frames[0] as Buffer, { keys: [hostile.key] })).segment).toBe(A2_SEGMENT);
    });

    it(`does not cut a {0x..} frame at its declared length, even past the 2017 frame limit (chunks of ${size})`, () => {
      const text = Buffer.from(A2_TEXT, 'latin1');
      expect(text.length).toBeGreaterThan(MAX_FRAME);
      const got = split(Buffer.concat([text, next]), size);
      expect(got.garbage).toBe(0);
      expect(got.frames.map((f) => f.toString('latin1'))).toEqual([A2_TEXT, A1]);
    });
  }

  it('still resynchronises after a truncated 2025 binary frame, once its declared end has arrived', () => {
    const cut = hostile.frame.subarray(0, hostile.frame.indexOf(0x0a) + 1);
    const got = split(Buffer.concat([cut, next, A2_BINARY, next]), 5);
    // the cut frame ends at its LF (the codec refuses it), the frames after it are intact
    expect(got.frames.map((f) => f.toString('hex'))).toEqual(
      [cut, next, A2_BINARY, next].map((f) => f.toString('hex')),
    );
    expect(decodeFrame(got.frames[0] as Buffer, { keys: [hostile.key] }).ok).toBe(false);
  });
});
