import * as z from 'zod';

/**
 * Commands the platform sends to a field device (HJ 212 host → field requests, docs/devices.md §7) and what became of
 * them. A command is named by its QN (`YYYYMMDDhhmmsszzz`, Beijing time, unique per device): the device's 9011
 * (QnRtn, request answer) and 9012 (ExeRtn, execution result) echo it, so that is how answers find their command.
 *
 * Life of a command: `sent` (published towards the device) → `acknowledged` (9011 QnRtn=1) → `executed` (9012 ExeRtn=1)
 * or `failed` (a 9011 QnRtn ≠ 1 or a 9012 ExeRtn ≠ 1, the code kept); `undelivered` when it could not be published at
 * all. An open command whose answer does not come by its deadline reads as `timed_out` (statusAt): the time decides,
 * nothing has to run for it, and a late answer still counts when it comes.
 */

/** HJ 212 commands an official may ask for through the API (others, such as 1014, only through the use-case). */
export const OFFICIAL_CNS = ['3011', '3022', '3024'] as const;

/** Commands that exist only in HJ 212-2025 (docs/domain.md §1.14): sent with the 2025 Flag. */
export const CNS_2025 = new Set(['1014', '1002', '3022', '3024']);

export const COMMAND_STATES = ['sent', 'acknowledged', 'executed', 'failed', 'undelivered', 'timed_out'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

/** How the command travels: through the HJ 212 gateway task holding the device's TCP connection, or MQTT. */
export type CommandRoute = 'tcp' | 'mqtt';

export interface CommandAnswer {
  /** 9011 or 9012 */
  cn: '9011' | '9012';
  /** QnRtn of a 9011, ExeRtn of a 9012 */
  code: number;
  /** when the platform received it (ISO) */
  at: string;
}

export interface DeviceCommand {
  mn: string;
  /** the request's QN: the command's id for this device */
  qn: string;
  st: string;
  cn: string;
  /** HJ 212 Flag the command was sent with (version bits and A=1) */
  flag: number;
  /** the CP data area as sent, without `&&` (for 1014 the key is never kept: see `redactedCp`) */
  cp: string;
  route: CommandRoute;
  /** stored state; what an official sees is statusAt(command, now) */
  state: Exclude<CommandState, 'timed_out'>;
  /** who asked (an official's subject, or `system:<purpose>` for the platform) */
  requestedBy: string;
  requestedAt: string;
  /** the 9011 must come by then, and the 9012 by `executeBy` */
  answerBy: string;
  executeBy: string;
  answers: CommandAnswer[];
  /** why it failed or was not delivered, in words (English and Chinese) */
  reason?: string;
}

/** The state an official sees at `now` (ms): an open command past its deadline has timed out. */
export function statusAt(c: DeviceCommand, now: number): CommandState {
  if (c.state === 'sent' && now > Date.parse(c.answerBy)) return 'timed_out';
  if ((c.state === 'sent' || c.state === 'acknowledged') && now > Date.parse(c.executeBy)) return 'timed_out';
  return c.state;
}

/** QnRtn (HJ 212 Table 7) and ExeRtn (Table 6) in words, for a failed command's reason. */
const QN_RTN_TEXT: Record<number, string> = {
  2: 'rejected (拒绝执行)',
  3: 'wrong PW (密码错误)',
  4: 'wrong MN (MN 错误)',
  5: 'wrong ST (ST 错误)',
  6: 'wrong Flag (Flag 错误)',
  7: 'wrong QN (QN 错误)',
  8: 'wrong CN (CN 错误)',
  9: 'CRC error (CRC 校验错误)',
  100: 'unknown error (未知错误)',
};
const EXE_RTN_TEXT: Record<number, string> = {
  2: 'failed, reason unknown (执行失败，原因不明)',
  3: 'request condition error (命令请求条件错误)',
  4: 'communication timeout (通讯超时)',
  5: 'busy (系统繁忙不能执行)',
  6: 'system fault (系统故障)',
  100: 'no data (没有数据)',
};

/**
 * The command after one answer (pure). 9011 QnRtn=1 → acknowledged, other QnRtn → failed; 9012 ExeRtn=1 → executed,
 * other ExeRtn → failed. A final state (executed, failed) does not change any more; the answer is still recorded.
 */
export function withAnswer(c: DeviceCommand, a: CommandAnswer): DeviceCommand {
  const answers = [...c.answers, a];
  const final = c.state === 'executed' || c.state === 'failed';
  if (final) return { ...c, answers };
  if (a.cn === '9011') {
    if (a.code === 1) return { ...c, answers, state: c.state === 'sent' ? 'acknowledged' : c.state };
    return {
      ...c,
      answers,
      state: 'failed',
      reason: `the device refused the request: QnRtn=${a.code} ${QN_RTN_TEXT[a.code] ?? ''}`.trim(),
    };
  }
  if (a.code === 1) return { ...c, answers, state: 'executed' };
  return {
    ...c,
    answers,
    state: 'failed',
    reason: `the device could not execute it: ExeRtn=${a.code} ${EXE_RTN_TEXT[a.code] ?? ''}`.trim(),
  };
}

/** An HJ 212 pollutant code as a command's PolId names it. */
const polId = z
  .string()
  .regex(/^[a-z]\d{5}$/, 'PolId is an HJ 212-2017 pollutant code, e.g. w01018 (PolId 为污染物编码，如 w01018)');

/** What an official may ask a device to do (POST /devices/{mn}/commands). */
export const CommandRequest = z.discriminatedUnion('cn', [
  z.strictObject({
    cn: z.literal('3011').describe('零点/量程校准 zero or span calibration'),
    polId,
    calibrationType: z.enum(['zero', 'span']).describe('CalibrationType 0 zero (零点), 1 span (量程)'),
  }),
  z.strictObject({ cn: z.literal('3022').describe('即时留样 retain a sample now'), polId }),
  z.strictObject({ cn: z.literal('3024').describe('启动标样核查 start a standard-sample check'), polId }),
]);
export type CommandRequest = z.infer<typeof CommandRequest>;

/**
 * The CP of an official's request. 3011 carries `CalibrationType` (HJ 212-2025; 0 zero, 1 span) after PolId, written
 * with `,` as the 2025 examples print it (docs/domain.md §1.14).
 */
export function requestCp(r: CommandRequest): string {
  if (r.cn === '3011') return `PolId=${r.polId},CalibrationType=${r.calibrationType === 'zero' ? 0 : 1}`;
  return `PolId=${r.polId}`;
}

/** The CP as it may be stored and shown: a pushed key (1014 NewSK) never is. */
export function redactedCp(cn: string, cp: string): string {
  return cn === '1014' ? cp.replace(/NewSK=[^;,&]*/g, 'NewSK=(redacted)') : cp;
}

/** Beijing time `YYYYMMDDhhmmsszzz` of an instant (ms): a QN. */
export function qnAt(ms: number): string {
  const b = new Date(ms + 8 * 3_600_000).toISOString();
  return `${b.slice(0, 4)}${b.slice(5, 7)}${b.slice(8, 10)}${b.slice(11, 13)}${b.slice(14, 16)}${b.slice(17, 19)}${b.slice(20, 23)}`;
}
