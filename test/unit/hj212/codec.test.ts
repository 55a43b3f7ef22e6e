import { describe, expect, it } from 'vitest';
import {
  beijingToIso,
  decodeFrame,
  encodeCp,
  encodeFrame,
  encodePacket,
  isoToBeijing,
} from '#shared/domain/hj212/codec.ts';
import { crc16, crcHex } from '#shared/domain/hj212/crc.ts';
import { dataAck, exeRtn, QN_RTN, qnRtn, rejectionReply } from '#shared/domain/hj212/replies.ts';
import type { DecodeResult, Hj212Packet } from '#shared/domain/hj212/types.ts';
import { samples } from './samples.ts';

const ok = (r: DecodeResult): Hj212Packet => {
  if (!r.ok) throw new Error(`expected a packet, got ${r.reason}: ${r.detail}`);
  return r.packet;
};
const sample = (cn: string, extra = '') => {
  const s = samples().find((x) => x.packet.includes(`CN=${cn};`) && x.packet.includes(extra));
  if (!s) throw new Error(`no sample with CN=${cn} ${extra}`);
  return s.packet;
};

describe('crc16', () => {
  it('computes the HJ 212 Appendix A value, not CRC-16/MODBUS', () => {
    const seg = Buffer.from(
      'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&',
    );
    expect(crcHex(seg)).toBe('1C80');
    expect(crc16(seg)).not.toBe(0x0759);
  });

  it('is the CRC of the empty segment 0xFFFF', () => {
    expect(crc16(Buffer.alloc(0))).toBe(0xffff);
  });
});

describe('decodeFrame on the reference samples', () => {
  it('decodes every sample packet', () => {
    for (const { packet, note } of samples()) {
      const r = decodeFrame(packet);
      expect(r.ok, `${note}: ${r.ok ? '' : `${r.reason} ${r.detail}`}`).toBe(true);
    }
  });

  it('decodes the hourly water sample to the values it carries', () => {
    const p = ok(decodeFrame(sample('2061', 'AB01')));
    expect(p).toMatchObject({
      st: '32',
      cn: '2061',
      mn: '33112600000000000000AB01',
      flag: 5,
      version: '2017',
      ack: true,
      split: false,
    });
    expect(p.cp.dataTime).toBe('2024-06-01T00:00:00.000Z');
    expect(p.cp.pollutants.w01018).toEqual({
      code: 'w01018',
      values: { Cou: 3.15, Min: 40.1, Avg: 50, Max: 61.2 },
      flag: 'N',
    });
    expect(p.cp.pollutants.w21003?.values.Avg).toBe(8.2);
    expect(p.cp.pollutants.w00000?.values.Cou).toBe(63);
    expect(p.cp.pollutants.w01001?.values).toEqual({ Min: 7.1, Avg: 7.5, Max: 7.8 });
    expect(Object.keys(p.cp.pollutants).sort()).toEqual(['w00000', 'w01001', 'w01018', 'w21003', 'w21011']);
    expect(p.warnings).toEqual([]);
  });

  it('counts the length in UTF-8 bytes and keeps Chinese -Info text', () => {
    const p = ok(decodeFrame(sample('3020')));
    expect(p.cp.info.i11001).toBe('//清洗管路//');
    expect(p.cp.params.PolId).toBe('w01018');
  });

  it('reads the split flag with PNUM and PNO', () => {
    const p = ok(decodeFrame(sample('2061', 'PNUM=2')));
    expect(p).toMatchObject({ flag: 7, split: true, ack: true, pnum: 2, pno: 1 });
  });

  it('reads request parameters and reply codes', () => {
    expect(ok(decodeFrame(sample('1062'))).cp.params).toEqual({ RtdInterval: '30' });
    expect(ok(decodeFrame(sample('1000'))).cp.params).toEqual({ OverTime: '5', ReCount: '3' });
    expect(ok(decodeFrame(sample('9011'))).cp.params).toEqual({ QnRtn: '1' });
    expect(ok(decodeFrame(sample('9012'))).cp.params).toEqual({ ExeRtn: '1' });
    const history = ok(decodeFrame(sample('2061', 'BeginTime')));
    expect(history.cp.params).toMatchObject({ BeginTime: '20160801080000', EndTime: '20160801080000' });
  });

  it('accepts lower-case CRC hex, with a warning', () => {
    const frame = sample('1062').replace('1C80\r\n', '1c80\r\n');
    expect(ok(decodeFrame(frame)).warnings).toEqual(['CRC is written in lower case']);
    expect(ok(decodeFrame(sample('1062'))).warnings).toEqual([]);
  });
});

describe('decodeFrame on a field given twice in one CP', () => {
  const head = 'QN=20160801085857223;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&';
  const decode = (cp: string) => ok(decodeFrame(encodeFrame(`${head}${cp}&&`)));

  it('keeps the first value of a repeated value, flag, DataTime or parameter, with a warning each', () => {
    const p = decode(
      'DataTime=20160801080000;DataTime=20160801090000;RtdInterval=30;RtdInterval=60;w01018-Avg=50,w01018-Flag=N;w01018-Avg=99,w01018-Flag=D',
    );
    expect(p.cp.dataTime).toBe('2016-08-01T00:00:00.000Z');
    expect(p.cp.params.RtdInterval).toBe('30');
    expect(p.cp.pollutants.w01018).toEqual({ code: 'w01018', values: { Avg: 50 }, flag: 'N' });
    expect(p.warnings).toEqual([
      'DataTime is given twice; the first value is kept',
      'RtdInterval is given twice; the first value is kept',
      'w01018-Avg is given twice; the first value is kept',
      'w01018-Flag is given twice; the first value is kept',
    ]);
  });

  it('counts an HJ/T 212-2005 code and its 2017 code as one pollutant', () => {
    const p = decode('DataTime=20160801080000;w01018-Avg=50;011-Avg=51;SB1-RS=1;SB1-RS=0;i13001-Info=1;i13001-Info=2');
    expect(p.cp.pollutants.w01018?.values).toEqual({ Avg: 50 });
    expect(p.cp.facilities.SB1).toEqual({ rs: 1 });
    expect(p.cp.info.i13001).toBe('1');
    expect(p.warnings).toEqual([
      '011-Avg repeats w01018-Avg; the first value is kept',
      'SB1-RS is given twice; the first value is kept',
      'i13001-Info is given twice; the first value is kept',
    ]);
  });

  it('still refuses a repeated field whose value is malformed', () => {
    expect(decodeFrame(encodeFrame(`${head}w01018-Avg=50;w01018-Avg=5x&&`))).toMatchObject({
      ok: false,
      reason: 'malformed-cp',
      detail: 'w01018-Avg="5x" is not a number',
    });
  });
});

describe('decodeFrame on codes', () => {
  const head = 'ST=32;CN=2011;MN=010000A8900016F000169DC0;CP=&&';

  it('takes HJ 212 codes of every shape: 2017, 2005, 2025 process codes, noise codes without a digit', () => {
    const p = ok(
      decodeFrame(encodeFrame(`${head}a34013-Rtd=1;01-Rtd=2;B01-Rtd=3;d20105-Rtd=4;LA-Rtd=5;Leq-Rtd=6;O3-Rtd=7&&`)),
    );
    expect(Object.keys(p.cp.pollutants).sort()).toEqual(['LA', 'Leq', 'O3', 'a34013', 'd20105', 'w00000']);
    expect(p.cp.pollutants.a34013?.values).toEqual({ Rtd: 1 });
    expect(p.warnings).toEqual(['01-Rtd repeats a34013-Rtd; the first value is kept']);
  });

  it('drops a field whose code has no digit or a character outside letters and digits, with a warning', () => {
    const p = ok(decodeFrame(encodeFrame(`${head}COD-Rtd=1;w-01-Rtd=2;w01018-Rtd=3;w01 018-Rtd=4;清-Rtd=5&&`)));
    expect(Object.keys(p.cp.pollutants)).toEqual(['w01018']);
    expect(p.warnings).toEqual([
      'CP field "COD-Rtd" dropped: "COD" is not an HJ 212 code',
      'CP field "w-01-Rtd" dropped: "w" is not an HJ 212 code',
      'CP field "w01 018-Rtd" dropped: "w01 018" is not an HJ 212 code',
      'CP field "清-Rtd" dropped: "清" is not an HJ 212 code',
    ]);
  });
});

describe('decodeFrame on HJ/T 212-2005 packets', () => {
  it('maps old pollutant codes and takes a packet without QN and Flag as 2005', () => {
    const seg =
      'ST=32;CN=2011;PW=123456;MN=33112600000000000000PW01;CP=&&DataTime=20261129080000;011-Rtd=55.3,011-Flag=N;060-Rtd=3.2,060-Flag=N;B01-Rtd=12.5,B01-Flag=N&&';
    const p = ok(decodeFrame(encodeFrame(seg)));
    expect(p.version).toBe('2005');
    expect(p.ack).toBe(false);
    expect(p.cp.dataTime).toBe('2026-11-29T00:00:00.000Z');
    expect(p.cp.pollutants.w01018).toEqual({ code: 'w01018', sentCode: '011', values: { Rtd: 55.3 }, flag: 'N' });
    expect(p.cp.pollutants.w21003?.sentCode).toBe('060');
    expect(p.cp.pollutants.w00000?.values.Rtd).toBe(12.5);
  });
});

describe('decodeFrame rejections', () => {
  const good = () => sample('2061', 'AB01');

  it('rejects a wrong CRC and still reads the header for the reply', () => {
    const r = decodeFrame(good().replace('9D41\r\n', '9D42\r\n'));
    expect(r).toMatchObject({
      ok: false,
      reason: 'bad-crc',
      header: { mn: '33112600000000000000AB01', qn: '20240601090000001', flag: 5 },
    });
  });

  it('rejects a length that matches neither bytes nor characters', () => {
    expect(decodeFrame(good().replace('##0458', '##0457'))).toMatchObject({ ok: false, reason: 'length-mismatch' });
  });

  it('accepts a length that counts characters instead of bytes, with a warning', () => {
    const seg =
      'QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&DataTime=20160801085857;PolId=w01018;i11001-Info=//清洗管路//&&';
    const bytes = Buffer.from(seg);
    const frame = `##${String(seg.length).padStart(4, '0')}${seg}${crcHex(bytes)}\r\n`;
    const p = ok(decodeFrame(frame));
    expect(p.warnings.join()).toMatch(/counts characters/);
  });

  it('rejects an oversize data segment', () => {
    const seg = `ST=32;CN=2011;MN=X;CP=&&${'a'.repeat(1100)}=1&&`;
    const frame = `##1100${seg}0000\r\n`;
    expect(decodeFrame(frame)).toMatchObject({ ok: false, reason: 'oversize' });
  });

  it('rejects a packet without MN', () => {
    expect(decodeFrame(encodeFrame('QN=20160801085857223;ST=32;CN=2011;PW=123456;Flag=4;CP=&&&&'))).toMatchObject({
      ok: false,
      reason: 'missing-mn',
    });
  });

  it('rejects a malformed CP: item without =, unclosed, non-numeric value, bad DataTime', () => {
    const head = 'QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=4;';
    for (const cp of [
      'CP=&&w01018-Rtd&&',
      'CP=&&w01018-Rtd=1',
      'CP=&&w01018-Rtd=abc&&',
      'CP=&&DataTime=20161301000000&&',
    ]) {
      expect(decodeFrame(encodeFrame(head + cp)), cp).toMatchObject({ ok: false, reason: 'malformed-cp' });
    }
  });

  it('rejects frames that are not frames', () => {
    expect(decodeFrame('hello\r\n')).toMatchObject({ ok: false, reason: 'bad-frame' });
    expect(decodeFrame('##01a0QN=1;CP=&&&&0000\r\n')).toMatchObject({ ok: false, reason: 'bad-frame' });
    expect(decodeFrame('')).toMatchObject({ ok: false, reason: 'bad-frame' });
  });

  it('keeps unknown suffixes and warns about unknown header fields', () => {
    const seg =
      'QN=20160801085857223;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=4;Foo=1;CP=&&DataTime=20160801080000;w01018-Avg=50,w01018-ValidNum=6,w01018-Flag=N&&';
    const p = ok(decodeFrame(encodeFrame(seg)));
    expect(p.cp.pollutants.w01018?.extra).toEqual({ ValidNum: '6' });
    expect(p.warnings).toContain('unknown header field Foo');
  });

  it('reads treatment-facility status and the 2025 flag version', () => {
    const seg =
      'QN=20260101000000000;ST=32;CN=2021;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&DataTime=20260101000000;SB1-RS=1;SB2-RS=0&&';
    const p = ok(decodeFrame(encodeFrame(seg)));
    expect(p.version).toBe('2025');
    expect(p.ack).toBe(true);
    expect(p.cp.facilities).toEqual({ SB1: { rs: 1 }, SB2: { rs: 0 } });
  });
});

describe('replies', () => {
  const upload = () => ok(decodeFrame(sample('2061', 'AB01')));

  it('builds a 9014 data acknowledgement that matches the standard sample', () => {
    const sampleAck = ok(decodeFrame(sample('9014')));
    const ack = ok(decodeFrame(dataAck(sampleAck)));
    expect(ack).toMatchObject({ st: '91', cn: '9014', flag: 4, ack: false, mn: sampleAck.mn, qn: sampleAck.qn });
    expect(dataAck({ qn: '20160801085857223', pw: '123456', mn: '010000A8900016F000169DC0', flag: 5 })).toBe(
      sample('9014'),
    );
  });

  it('builds 9011 and 9012 replies that round-trip', () => {
    expect(qnRtn({ qn: '20160801085857223', pw: '123456', mn: '010000A8900016F000169DC0', flag: 5 }, 1)).toBe(
      sample('9011'),
    );
    expect(exeRtn({ qn: '20160801085857223', pw: '123456', mn: '010000A8900016F000169DC0', flag: 5 }, 1)).toBe(
      sample('9012'),
    );
    const r = ok(decodeFrame(qnRtn(upload(), QN_RTN.passwordError)));
    expect(r.cp.params.QnRtn).toBe('3');
  });

  it('answers a bad CRC with QnRtn=9 when the header is readable', () => {
    const r = decodeFrame(sample('2061', 'AB01').replace('9D41\r\n', '0000\r\n'));
    if (r.ok) throw new Error('expected a rejection');
    const reply = ok(decodeFrame(rejectionReply(r) as string));
    expect(reply.cp.params.QnRtn).toBe('9');
    expect(reply.mn).toBe('33112600000000000000AB01');
  });

  it('omits Flag in replies to 2005 packets', () => {
    const r = ok(decodeFrame(dataAck({ pw: '123456', mn: 'M1' })));
    expect(r.flag).toBeUndefined();
    expect(r.qn).toBeUndefined();
  });
});

describe('encoding', () => {
  it('round-trips a data upload built from values', () => {
    const cp = encodeCp({
      dataTime: '2026-11-29T02:00:00.000Z',
      pollutants: {
        w01018: { values: { Avg: 48.2, Min: 40, Max: 55.5 }, flag: 'N' },
        w21003: { values: { Avg: 3.1 }, flag: 'N' },
      },
    });
    const frame = encodePacket({
      qn: isoToBeijing('2026-11-29T02:00:01.123Z', true),
      st: '32',
      cn: '2061',
      pw: '123456',
      mn: '33112600000000000000AB01',
      flag: 5,
      cp,
    });
    const p = ok(decodeFrame(frame));
    expect(p.qn).toBe('20261129100001123');
    expect(p.cp.dataTime).toBe('2026-11-29T02:00:00.000Z');
    expect(p.cp.pollutants.w01018).toEqual({ code: 'w01018', values: { Avg: 48.2, Min: 40, Max: 55.5 }, flag: 'N' });
  });

  it('refuses to encode an oversize segment', () => {
    expect(() => encodeFrame('x'.repeat(1025))).toThrow(RangeError);
  });

  it('converts Beijing times both ways and refuses impossible dates', () => {
    expect(beijingToIso('20261129080000')).toBe('2026-11-29T00:00:00.000Z');
    expect(isoToBeijing('2026-11-29T00:00:00.000Z')).toBe('20261129080000');
    expect(beijingToIso('20260230080000')).toBeUndefined();
    expect(beijingToIso('2026022908000')).toBeUndefined();
  });
});
