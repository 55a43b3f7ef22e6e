import { createHash } from 'node:crypto';
import * as z from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '#shared/domain/errors.ts';
import type { DeviceLogger } from './logger-link.ts';
import type { StoredDevice } from './model.ts';
import type { Page, RegistryStore, Versioned } from './store.ts';

/**
 * New data loggers (HJ 212-2025 CN 1001 / 1002, docs/devices.md §2.4): a logger without an MN reports its hardware
 * identity (serial `i23005-Info`, CPUID `i23006-Info`, MACs `i23007-Info` / `i23008-Info`) and the gateway records it
 * as a pending logger; an administrator assigns it the MN of a registered device, and the platform sends CN 1002 with
 * that MN to the connection the logger reported from. The identity is all the platform keeps of an unauthenticated
 * sender: every field is checked against a narrow pattern before it is stored, and its address (below) is derived from
 * the serial so nothing the sender chose becomes a key or a topic as it is.
 */

/** Serial and CPUID: 1–40 letters, digits, `-`, `_`, `.` (nothing that could be a formula, a path or markup). */
const hardwareId = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$/);
/** A MAC address: six hex pairs separated by `:` or `-`, or twelve hex digits; stored upper case with `:`. */
const mac = z
  .string()
  .regex(/^(?:[0-9A-Fa-f]{2}([:-]?)){5}[0-9A-Fa-f]{2}$/)
  .transform((m) => (m.replace(/[:-]/g, '').toUpperCase().match(/../g) ?? []).join(':'));

export const HardwareIdentity = z.strictObject({
  serial: hardwareId,
  cpuid: hardwareId,
  macs: z.array(mac).min(1).max(2),
});
export type HardwareIdentity = z.infer<typeof HardwareIdentity>;

/** The CP info fields of a 1001 (decodeCp's `info`), as the standard names them. */
export function identityFromCp(info: Readonly<Record<string, string>>): HardwareIdentity | undefined {
  const get = (code: string) => (Object.hasOwn(info, code) ? info[code] : undefined);
  const macs = [get('i23007'), get('i23008')].filter((m): m is string => m !== undefined && m !== '');
  const parsed = HardwareIdentity.safeParse({ serial: get('i23005'), cpuid: get('i23006'), macs });
  return parsed.success ? parsed.data : undefined;
}

/**
 * How the platform addresses a logger that has no MN: `HW` + the first 24 hex digits of SHA-256 of its serial. It
 * names the pending-logger record and the gateway command topic `envwatch/gateway/cmd/<address>` that the task
 * holding its connection answers for (docs/decisions.md).
 */
export const LOGGER_ADDRESS = /^HW[0-9A-F]{24}$/;
export function loggerAddress(serial: string): string {
  return `HW${createHash('sha256').update(serial, 'utf8').digest('hex').slice(0, 24).toUpperCase()}`;
}

export const LoggerState = z.enum(['pending', 'assigning', 'linked']);

/** A pending logger as stored and shown: its identity, when and how it was seen, and its assignment once made. */
export const PendingLogger = z.object({
  address: z.string().regex(LOGGER_ADDRESS),
  serial: z.string(),
  cpuid: z.string(),
  macs: z.array(z.string()),
  firstSeenAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  /** the transport and gateway connection of the latest report */
  via: z.object({ transport: z.literal('tcp'), connection: z.string() }),
  state: LoggerState,
  /** the MN assigned, the QN of its 1002 command and when; `linkedAt` once the logger answered 9012 ExeRtn=1 */
  mn: z.string().optional(),
  assignQn: z.string().optional(),
  assignedAt: z.iso.datetime().optional(),
  assignedBy: z.string().optional(),
  linkedAt: z.iso.datetime().optional(),
});
export type PendingLogger = z.infer<typeof PendingLogger>;

export const AssignMnRequest = z.strictObject({
  mn: z.string().regex(/^[0-9A-Za-z_-]{1,24}$/, 'MN: 1–24 letters, digits, - or _ (MN 为 1–24 位字母、数字、- 或 _)'),
});
export type AssignMnRequest = z.infer<typeof AssignMnRequest>;

/** A report counts again (last seen) at most this often per logger. */
export const SEEN_REFRESH_MS = 10 * 60_000;

/** Sends CN 1002 (the commands capability's CommandService.send with `to`). */
export interface MnSender {
  send(input: {
    mn: string;
    cn: string;
    cp: string;
    requestedBy: string;
    action?: string;
    version?: '2025';
    to?: string;
  }): Promise<{ qn: string; status: string }>;
}

type Store = Pick<RegistryStore, 'get' | 'list' | 'create' | 'replace'>;

export class LoggerRegistry {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * A 1001 from a gateway connection: a new identity becomes a pending logger; a known one has its last sighting
   * refreshed (at most every 10 minutes). A report naming a known serial with another CPUID or MAC changes nothing
   * (the first report stands; an administrator compares it with the logger's label): 'conflict'.
   */
  async seen(
    identity: HardwareIdentity,
    via: PendingLogger['via'],
  ): Promise<'recorded' | 'refreshed' | 'unchanged' | 'conflict'> {
    const address = loggerAddress(identity.serial);
    const at = this.now().toISOString();
    const found = await this.store.get<PendingLogger>('loggers', address);
    const audit = (action: string) => ({
      actor: 'hj212-gateway',
      action,
      entity: `loggers/${address}`,
      at,
      detail: { connection: via.connection },
    });
    if (!found) {
      const logger: PendingLogger = { address, ...identity, firstSeenAt: at, lastSeenAt: at, via, state: 'pending' };
      try {
        await this.store.create('loggers', address, logger, undefined, audit('registry.logger.reported'));
        return 'recorded';
      } catch (err) {
        if (err instanceof ConflictError) return 'unchanged'; // reported on two connections at once
        throw err;
      }
    }
    const l = found.item;
    if (l.serial !== identity.serial || l.cpuid !== identity.cpuid || !sameMacs(l.macs, identity.macs))
      return 'conflict';
    if (Date.parse(at) - Date.parse(l.lastSeenAt) < SEEN_REFRESH_MS) return 'unchanged';
    await this.store.replace(
      'loggers',
      address,
      { ...l, lastSeenAt: at, via },
      undefined,
      found.version,
      audit('registry.logger.seen'),
    );
    return 'refreshed';
  }

  list(limit: number, cursor?: string): Promise<Page<Versioned<PendingLogger>>> {
    return this.store.list<PendingLogger>('loggers', { limit, ...(cursor ? { cursor } : {}) });
  }

  /**
   * An administrator gives a pending logger the MN of a registered device (HJ 212 over TCP, not retired, with no
   * logger yet — or this same logger, to send the 1002 again): the device and logger records say `assigning` with the
   * 1002's QN, then CN 1002 goes to the connection the logger reported from. The device must be registered first, in
   * the registry's own flow (its password, outlet and enterprise checked there): this action only links.
   */
  async assign(
    address: string,
    request: AssignMnRequest,
    actor: { sub: string },
    sender: MnSender,
  ): Promise<{ logger: Versioned<PendingLogger>; command: { qn: string; status: string } }> {
    if (!LOGGER_ADDRESS.test(address))
      throw new NotFoundError(`no pending logger ${address} (没有待分配的数采仪 ${address})`);
    const found = await this.store.get<PendingLogger>('loggers', address);
    if (!found) throw new NotFoundError(`no pending logger ${address} (没有待分配的数采仪 ${address})`);
    const l = found.item;
    if (l.state === 'linked') throw new ConflictError(`the logger already has MN ${l.mn} (该数采仪已分配 MN ${l.mn})`);
    if (l.state === 'assigning' && l.mn !== request.mn)
      throw new ConflictError(
        `the logger is being assigned MN ${l.mn}; assign the same MN to send it again (该数采仪正在分配 MN ${l.mn}，仅可重发同一 MN)`,
      );
    const device = await this.store.get<StoredDevice>('devices', request.mn);
    if (!device)
      throw invalidMn(`no device with MN ${request.mn}`, `没有 MN 为 ${request.mn} 的已登记设备，请先登记设备`);
    const d = device.item;
    if (d.status === 'retired') throw invalidMn('the device is retired', '该设备已停用');
    if (d.protocol === 'json-mqtt' || d.transport === 'mqtt')
      throw invalidMn(
        'only an HJ 212 device over TCP takes an MN from CN 1002',
        '仅经 TCP 接入的 HJ 212 设备可通过 1002 分配 MN',
      );
    if (d.logger && d.logger.address !== address)
      throw new ConflictError(
        `device ${request.mn} already has logger ${d.logger.serial} (设备 ${request.mn} 已关联数采仪 ${d.logger.serial})`,
      );
    if (d.logger?.state === 'linked')
      throw new ConflictError(`device ${request.mn} is already linked to this logger (设备已关联该数采仪)`);
    const command = await sender.send({
      mn: request.mn,
      cn: '1002',
      cp: `i23005-Info=${l.serial}`,
      requestedBy: actor.sub,
      action: 'registry.logger.assign',
      version: '2025',
      to: address,
    });
    const at = this.now().toISOString();
    const link: DeviceLogger = {
      address,
      serial: l.serial,
      cpuid: l.cpuid,
      macs: l.macs,
      state: 'assigning',
      assignQn: command.qn,
      assignedAt: at,
    };
    await this.store.replace(
      'devices',
      request.mn,
      { ...d, logger: link },
      { kind: 'enterprises', id: d.enterpriseId },
      device.version,
      {
        actor: actor.sub,
        action: 'registry.device.logger-assigned',
        entity: `devices/${request.mn}`,
        at,
        detail: { address, qn: command.qn },
      },
    );
    const logger = await this.store.replace(
      'loggers',
      address,
      {
        ...l,
        state: 'assigning',
        mn: request.mn,
        assignQn: command.qn,
        assignedAt: at,
        assignedBy: actor.sub,
      } satisfies PendingLogger,
      undefined,
      found.version,
      {
        actor: actor.sub,
        action: 'registry.logger.assigned',
        entity: `loggers/${address}`,
        at,
        detail: { mn: request.mn, qn: command.qn },
      },
    );
    return { logger, command };
  }

  /**
   * The logger's 9012 under its new MN (the gateway, once the MN and PW verified): ExeRtn=1 to the 1002 whose QN the
   * device records links the logger to the device; anything else changes nothing. True when it linked.
   */
  async confirm(mn: string, qn: string, exeRtn: string): Promise<boolean> {
    if (exeRtn !== '1') return false;
    const device = await this.store.get<StoredDevice>('devices', mn);
    const link = device?.item.logger;
    if (!device || !link || link.state !== 'assigning' || link.assignQn !== qn) return false;
    const at = this.now().toISOString();
    await this.store.replace(
      'devices',
      mn,
      { ...device.item, logger: { ...link, state: 'linked', linkedAt: at } },
      { kind: 'enterprises', id: device.item.enterpriseId },
      device.version,
      {
        actor: 'hj212-gateway',
        action: 'registry.device.logger-linked',
        entity: `devices/${mn}`,
        at,
        detail: { address: link.address, qn },
      },
    );
    const logger = await this.store.get<PendingLogger>('loggers', link.address);
    if (logger && logger.item.assignQn === qn) {
      await this.store.replace(
        'loggers',
        link.address,
        { ...logger.item, state: 'linked', linkedAt: at },
        undefined,
        logger.version,
        {
          actor: 'hj212-gateway',
          action: 'registry.logger.linked',
          entity: `loggers/${link.address}`,
          at,
          detail: { mn, qn },
        },
      );
    }
    return true;
  }
}

function sameMacs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((m, i) => m === b[i]);
}

function invalidMn(message: string, messageZh: string): ValidationError {
  return new ValidationError(`${message} (${messageZh})`, [{ field: 'body.mn', message, messageZh }]);
}
