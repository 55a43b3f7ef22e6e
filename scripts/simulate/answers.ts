import { encodePacket } from '#shared/domain/hj212/codec.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import type { SimDevice } from './devices.ts';

/**
 * How a simulated DAQ answers a platform command (docs/devices.md §7), as HJ 212 request flows go (request → 9011 →
 * 9012): 3011 calibration (with or without CalibrationType), 3022 retain a sample, 3024 start a standard-sample check
 * get QnRtn=1 and ExeRtn=1; another request gets QnRtn=8 (CN not supported here); a wrong PW QnRtn=3 (a command over
 * MQTT carries none: the topic is the device's own). Pure: the frames to send back, in order.
 */
export const ANSWERED_CNS = new Set(['3011', '3022', '3024']);

export function answerCommand(device: SimDevice, p: Hj212Packet): string[] {
  if (p.cn.startsWith('90') || p.mn !== device.mn) return [];
  const flag = p.flag === undefined ? undefined : p.flag & 0xfc;
  const reply = (cn: string, cp: string) =>
    encodePacket({
      ...(p.qn !== undefined ? { qn: p.qn } : {}),
      st: '91',
      cn,
      pw: device.password,
      mn: device.mn,
      ...(flag !== undefined ? { flag } : {}),
      cp,
    });
  if (p.pw !== undefined && p.pw !== device.password) return [reply('9011', 'QnRtn=3')];
  if (!ANSWERED_CNS.has(p.cn)) return [reply('9011', 'QnRtn=8')];
  return [reply('9011', 'QnRtn=1'), reply('9012', 'ExeRtn=1')];
}
