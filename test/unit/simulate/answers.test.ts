import { describe, expect, it } from 'vitest';
import { commandFrame } from '#shared/domain/commands/delivery.ts';
import { decodeFrame, encodeEncryptedFrame, encodeFrame, encodeSegment } from '#shared/domain/hj212/codec.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { generateKeyText, keyBytes } from '#shared/domain/registry/device-keys.ts';
import { answerCommand, answerKeyPush } from '../../../scripts/simulate/answers.ts';
import { type SimDevice, seededDevices } from '../../../scripts/simulate/devices.ts';

const device = seededDevices().find((d) => d.label === 'BW01') as SimDevice;
const decoded = (frame: string): Hj212Packet => {
  const r = decodeFrame(frame);
  if (!r.ok) throw new Error(r.reason);
  return r.packet;
};
const command = (cn: string, cp: string, pw?: string) =>
  decoded(commandFrame({ mn: device.mn, qn: '20261206090000000', st: '32', cn, flag: 9, cp }, pw));

describe('answerCommand', () => {
  it('answers 3011, 3022 and 3024 with 9011 QnRtn=1 then 9012 ExeRtn=1, echoing the QN in the 2025 version', () => {
    for (const [cn, cp] of [
      ['3011', 'PolId=w01018,CalibrationType=0'],
      ['3022', 'PolId=w01018'],
      ['3024', 'PolId=w01018'],
    ] as const) {
      const answers = answerCommand(device, command(cn, cp, device.password)).map(decoded);
      expect(answers.map((a) => [a.cn, a.cp.params.QnRtn ?? a.cp.params.ExeRtn])).toEqual([
        ['9011', '1'],
        ['9012', '1'],
      ]);
      expect(answers[0]).toMatchObject({ qn: '20261206090000000', st: '91', mn: device.mn, flag: 8, ack: false });
    }
  });

  it('takes a command without PW (MQTT), refuses a wrong PW and a CN it does not support', () => {
    expect(answerCommand(device, command('3022', 'PolId=w01018')).map((f) => decoded(f).cn)).toEqual(['9011', '9012']);
    expect(decoded(answerCommand(device, command('3022', 'PolId=w01018', 'wrong!'))[0] ?? '').cp.params.QnRtn).toBe(
      '3',
    );
    expect(decoded(answerCommand(device, command('3015', ''))[0] ?? '').cp.params.QnRtn).toBe('8');
  });

  it('never answers a reply, nor a command for another MN', () => {
    expect(answerCommand(device, { ...command('3022', 'PolId=w01018'), cn: '9014' })).toEqual([]);
    expect(answerCommand(device, { ...command('3022', 'PolId=w01018'), mn: 'OTHER' })).toEqual([]);
  });
});

describe('answerKeyPush', () => {
  const ga01 = seededDevices().find((d) => d.label === 'GA01') as SimDevice;
  const current = keyBytes(generateKeyText());
  const push = (cp: string, encrypted = true, to: SimDevice = ga01): Hj212Packet => {
    const segment = encodeSegment({ qn: '20261206090000000', st: to.st, cn: '1014', mn: to.mn, flag: 9, cp });
    const r = encrypted
      ? decodeFrame(encodeEncryptedFrame(segment, current), { keys: [current] })
      : decodeFrame(encodeFrame(segment));
    if (!r.ok) throw new Error(r.reason);
    return r.packet;
  };

  it('answers an encrypted 1014 with 9011 QnRtn=1 and 9012 ExeRtn=1 on its QN, and takes the new key', () => {
    const next = generateKeyText();
    const a = answerKeyPush(ga01, push(`SKCreateTime=20261206090000000,NewSK=${next}`));
    expect(a.frames.map(decoded).map((p) => [p.cn, p.qn, p.flag, p.cp.params.QnRtn ?? p.cp.params.ExeRtn])).toEqual([
      ['9011', '20261206090000000', 8, '1'],
      ['9012', '20261206090000000', 8, '1'],
    ]);
    expect(a.newKey?.toString('latin1')).toBe(next);
  });

  it('refuses a key sent in clear, fails a NewSK that is not 16 characters, and a 2017 device has no 1014', () => {
    const clear = answerKeyPush(ga01, push(`NewSK=${generateKeyText()}`, false));
    expect([clear.newKey, decoded(clear.frames[0] ?? '').cp.params.QnRtn]).toEqual([undefined, '2']);
    const short = answerKeyPush(ga01, push('SKCreateTime=20261206090000000,NewSK=abc'));
    expect(short.newKey).toBeUndefined();
    expect(short.frames.map((f) => decoded(f).cp.params.ExeRtn ?? decoded(f).cp.params.QnRtn)).toEqual(['1', '3']);
    const old = answerKeyPush(device, push(`NewSK=${generateKeyText()}`, true, device));
    expect([old.newKey, decoded(old.frames[0] ?? '').cp.params.QnRtn]).toEqual([undefined, '8']);
    expect(answerKeyPush(ga01, { ...push('NewSK=x'), mn: 'OTHER' }).frames).toEqual([]);
  });
});
