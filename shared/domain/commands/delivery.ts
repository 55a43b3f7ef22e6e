import * as z from 'zod';
import { encodePacket } from '#shared/domain/hj212/codec.ts';
import type { CommandRoute } from './model.ts';

/**
 * How a command reaches its device (docs/devices.md §7):
 * - TCP: the gateway tasks behind the load balancer each subscribe to `envwatch/gateway/cmd/<MN>` for the devices
 *   connected to them (and unsubscribe when the connection ends), so whichever task holds the device's connection gets
 *   the command and writes the frame on it, with the PW the device logged in with on that connection (the platform
 *   keeps only a hash of it). The message is the JSON below.
 * - MQTT: the HJ 212 frame itself on the device's own topic `envwatch/devices/<MN>/cmd` (its policy lets it receive
 *   there only); it carries no PW: the certificate authenticates the platform's topic.
 * The device answers 9011 / 9012 as it sends data (TCP, or `envwatch/devices/<MN>/hj212`); ingest hands them back.
 */
export const GATEWAY_COMMAND_PREFIX = 'envwatch/gateway/cmd';
export const gatewayCommandTopic = (mn: string): string => `${GATEWAY_COMMAND_PREFIX}/${mn}`;
export const deviceCommandTopic = (mn: string): string => `envwatch/devices/${mn}/cmd`;

/** The message a gateway task receives for a device connected to it. */
export const GatewayCommand = z.strictObject({
  mn: z.string().regex(/^[0-9A-Za-z_-]{1,64}$/),
  qn: z.string().regex(/^\d{17}$/),
  st: z.string().regex(/^[0-9A-Z]{2}$/),
  cn: z.string().regex(/^\d{4}$/),
  flag: z.number().int().min(0).max(255),
  /** the CP data area without `&&`: printable ASCII, no `&&` */
  cp: z
    .string()
    .max(950)
    .regex(/^[\x20-\x7e]*$/)
    .refine((cp) => !cp.includes('&&')),
  /**
   * A key push (CN 1014, docs/devices.md §2.2): the gateway adds `NewSK` of this pending key version, read sealed from
   * the device's record, and encrypts the CP under the device's current key. The key itself never travels here.
   */
  keyPush: z.strictObject({ version: z.number().int().min(1).max(1_000_000) }).optional(),
  /**
   * A logger that has no MN yet (CN 1002, docs/devices.md §2.4): the message goes to `envwatch/gateway/cmd/<to>`, `to`
   * being the logger's address (registry/loggers.ts), and the task where that logger reported its hardware identity
   * writes the frame, whose header carries `mn`, the MN being assigned.
   */
  to: z
    .string()
    .regex(/^HW[0-9A-F]{24}$/)
    .optional(),
});
export type GatewayCommand = z.infer<typeof GatewayCommand>;

/** The HJ 212 frame of a command (CR LF included); `pw` when the sender knows the device's PW (the gateway). */
export const commandFrame = (c: GatewayCommand, pw?: string): string =>
  encodePacket({ qn: c.qn, st: c.st, cn: c.cn, ...(pw !== undefined ? { pw } : {}), mn: c.mn, flag: c.flag, cp: c.cp });

/**
 * What a command needs besides its header and CP, made once its QN is fixed (CommandService.send `prepare`):
 * `keyPush` for the gateway's message, `frame` the whole frame for an MQTT device (an encrypted 1014).
 */
export interface PreparedDelivery {
  keyPush?: { version: number };
  frame?: Uint8Array;
}

/** The topic and payload that carry a command on its route. */
export function outgoing(
  route: CommandRoute,
  c: GatewayCommand,
  prepared: PreparedDelivery = {},
): { topic: string; payload: string | Uint8Array } {
  if (route === 'tcp') {
    const message: GatewayCommand = prepared.keyPush ? { ...c, keyPush: prepared.keyPush } : c;
    return { topic: gatewayCommandTopic(c.to ?? c.mn), payload: JSON.stringify(message) };
  }
  return { topic: deviceCommandTopic(c.mn), payload: prepared.frame ?? commandFrame(c) };
}
