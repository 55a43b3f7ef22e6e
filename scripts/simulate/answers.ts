import { encodePacket } from '#shared/domain/hj212/codec.ts';
import { SM4_KEY_BYTES } from '#shared/domain/hj212/sm4.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { type SimDevice, speaks2025 } from './devices.ts';

/**
 * How a simulated DAQ answers a platform command (docs/devices.md §7), as HJ 212 request flows go (request → 9011 →
 * 9012): 3011 calibration (with or without CalibrationType), 3022 retain a sample, 3024 start a standard-sample check
 * get QnRtn=1 and ExeRtn=1; another request gets QnRtn=8 (CN not supported here); a wrong PW QnRtn=3 (a command over
 * MQTT carries none: the topic is the device's own). Pure: the frames to send back, in order.
 */
export const ANSWERED_CNS = new Set(['3011', '3022', '3024']);

function replier(device: SimDevice, p: Hj212Packet) {
  const flag = p.flag === undefined ? undefined : p.flag & 0xfc;
  return (cn: string, cp: string) =>
    encodePacket({
      ...(p.qn !== undefined ? { qn: p.qn } : {}),
      st: '91',
      cn,
      pw: device.password,
      mn: device.mn,
      ...(flag !== undefined ? { flag } : {}),
      cp,
    });
}

export function answerCommand(device: SimDevice, p: Hj212Packet): string[] {
  if (p.cn.startsWith('90') || p.mn !== device.mn) return [];
  const reply = replier(device, p);
  if (p.pw !== undefined && p.pw !== device.password) return [reply('9011', 'QnRtn=3')];
  if (!ANSWERED_CNS.has(p.cn)) return [reply('9011', 'QnRtn=8')];
  return [reply('9011', 'QnRtn=1'), reply('9012', 'ExeRtn=1')];
}

export interface KeyPushAnswer {
  /** 9011, then 9012 when the request was taken, with the push's QN */
  frames: string[];
  /** the new key, to encrypt with once the 9012 is on its way; absent when the push was refused */
  newKey?: Buffer;
  /** why it was refused */
  refused?: string;
}

/**
 * A key push (CN 1014 from the platform, `SKCreateTime=…,NewSK=<16 characters>`, encrypted under the device's current
 * key; docs/devices.md §2.2): the device answers 9011 QnRtn=1 and 9012 ExeRtn=1 with the push's QN and encrypts with
 * the new key from then on (the platform makes it current on that 9012 and keeps reading the old one through its grace
 * window, so packets already queued under it are not lost). A push in clear is refused (QnRtn=2: a key never travels
 * in clear), one without a 16-character NewSK fails (9012 ExeRtn=3), and a device that does not speak HJ 212-2025 has
 * no such command (QnRtn=8). Pure.
 */
export function answerKeyPush(device: SimDevice, p: Hj212Packet): KeyPushAnswer {
  if (p.cn !== '1014' || p.mn !== device.mn) return { frames: [] };
  const reply = replier(device, p);
  if (!speaks2025(device)) return { frames: [reply('9011', 'QnRtn=8')], refused: 'not an HJ 212-2025 device' };
  if (p.encryption === undefined) return { frames: [reply('9011', 'QnRtn=2')], refused: 'the new key came in clear' };
  const text = p.cp.params.NewSK;
  const key = text === undefined ? undefined : Buffer.from(text, 'latin1');
  if (key?.length !== SM4_KEY_BYTES || !/^[\x21-\x7e]+$/.test(text ?? '')) {
    return {
      frames: [reply('9011', 'QnRtn=1'), reply('9012', 'ExeRtn=3')],
      refused: `NewSK is not ${SM4_KEY_BYTES} printable characters`,
    };
  }
  return { frames: [reply('9011', 'QnRtn=1'), reply('9012', 'ExeRtn=1')], newKey: key };
}
