import { encodePacket } from './codec.ts';
import type { DecodeResult, Hj212Packet } from './types.ts';

/**
 * Replies the platform sends to a field device (docs/domain.md §1.6, §1.7): 9014 data acknowledgement when the A bit asks
 * for it, 9011 QnRtn for a request (3 wrong password, 4 wrong MN, 9 bad CRC …), 9012 ExeRtn. A reply echoes QN, PW and
 * MN, uses ST=91 and no A bit; its Flag carries the request's protocol version (none for HJ/T 212-2005).
 */
export const QN_RTN = {
  ready: 1,
  rejected: 2,
  passwordError: 3,
  mnError: 4,
  stError: 5,
  flagError: 6,
  qnError: 7,
  cnError: 8,
  crcError: 9,
  unknown: 100,
} as const;

export const EXE_RTN = {
  success: 1,
  failed: 2,
  conditionError: 3,
  timeout: 4,
  busy: 5,
  systemFault: 6,
  noData: 100,
} as const;

type ReplyTo = Partial<Pick<Hj212Packet, 'qn' | 'pw' | 'mn' | 'flag'>>;

function replyFlag(flag: number | undefined): number | undefined {
  if (flag === undefined) return undefined;
  return flag & 0xfc; // same version bits, no split, no ack
}

function reply(to: ReplyTo, cn: string, cp: string): string {
  const flag = replyFlag(to.flag);
  return encodePacket({
    ...(to.qn !== undefined ? { qn: to.qn } : {}),
    st: '91',
    cn,
    ...(to.pw !== undefined ? { pw: to.pw } : {}),
    mn: to.mn ?? '',
    ...(flag !== undefined ? { flag } : {}),
    cp,
  });
}

export const dataAck = (to: ReplyTo): string => reply(to, '9014', '');
/** 9013 notification acknowledgement: to a heartbeat (9015), a key request (1014), a time-calibration request (1013) … */
export const noticeAck = (to: ReplyTo): string => reply(to, '9013', '');
export const qnRtn = (to: ReplyTo, code: number): string => reply(to, '9011', `QnRtn=${code}`);
export const exeRtn = (to: ReplyTo, code: number): string => reply(to, '9012', `ExeRtn=${code}`);

/** The QnRtn code that answers a rejected frame, when its header can be read well enough to answer at all. */
export function rejectionReply(result: Extract<DecodeResult, { ok: false }>): string | undefined {
  if (!result.header.mn) return undefined;
  const code =
    result.reason === 'bad-crc' || result.reason === 'decrypt-failed'
      ? QN_RTN.crcError
      : result.reason === 'bad-header' || result.reason === 'missing-field' || result.reason === 'plaintext-refused'
        ? QN_RTN.rejected
        : QN_RTN.unknown;
  return qnRtn(result.header, code);
}
