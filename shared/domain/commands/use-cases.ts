import { ConflictError, NotFoundError, ValidationError } from '#shared/domain/errors.ts';
import { GatewayCommand, outgoing, type PreparedDelivery } from './delivery.ts';
import {
  CNS_2025,
  type CommandAnswer,
  type CommandRequest,
  type CommandState,
  type DeviceCommand,
  qnAt,
  redactedCp,
  requestCp,
  statusAt,
  withAnswer,
} from './model.ts';
import type { CommandChannel, CommandDevice, CommandDevices, CommandStore, Page } from './ports.ts';

/** How long a device has to answer: 9011 within `answerSeconds`, 9012 within `executeMinutes` (docs/decisions.md). */
export interface CommandTimeouts {
  answerSeconds: number;
  executeMinutes: number;
}
/** HJ 212's default is 10 s and 3 retries per exchange (Table 1); an execution (a calibration, a check) takes longer. */
export const DEFAULT_COMMAND_TIMEOUTS: CommandTimeouts = { answerSeconds: 60, executeMinutes: 30 };

/** Any command for a device: what another capability (e.g. key rotation's 1014) sends through `send`. */
export interface SendCommand {
  mn: string;
  /** HJ 212 CN, e.g. `1014` */
  cn: string;
  /** the CP data area without `&&` */
  cp: string;
  /** an official's subject, or `system:<purpose>` */
  requestedBy: string;
  /** the audit action (default `device.command`) */
  action?: string;
  /** HJ 212 version of the frame; default: the device's, 2025 for commands that exist only in 2025 */
  version?: '2005' | '2017' | '2025';
  /**
   * Runs once the command is stored with its QN and before it is published (a key push records its pending key
   * under that QN and builds the encrypted frame here). When it throws, the command is left `undelivered` and the
   * error goes to the caller.
   */
  prepare?: (command: GatewayCommand, route: DeviceCommand['route']) => Promise<PreparedDelivery>;
  /** a TCP logger without an MN yet, by its address (CN 1002: registry/loggers.ts); the command is stored under `mn` */
  to?: string;
}

/** A command as officials see it: its state at the time of reading. */
export type CommandView = Omit<DeviceCommand, 'state'> & { status: CommandState };

const FLAG_BY_VERSION = { '2005': 1, '2017': 5, '2025': 9 } as const;
const MAX_QN_TRIES = 20;

/**
 * The device-command capability (docs/devices.md §7).
 * send:
 *  1. the device must be registered, not retired, and speak HJ 212 (a JSON-over-MQTT device has no command set);
 *  2. the frame's header: the device's ST, a fresh QN (its Beijing-time millisecond, moved on by 1 ms while the device
 *     already has a command with it), the Flag of its version with A=1 (an answer is wanted);
 *  3. stored as `sent` with its audit entry (a pushed key is never stored: `redactedCp`), then published on the
 *     device's route (outgoing); a publish that fails leaves it `undelivered`, with the reason.
 * answer: a 9011 / 9012 whose QN names a command of that device moves it on (model.ts withAnswer); others are not ours.
 */
export class CommandService {
  constructor(
    private readonly deps: {
      devices: CommandDevices;
      store: CommandStore;
      channel: CommandChannel;
      now?: () => number;
      timeouts?: CommandTimeouts;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** An official's request through the API. */
  request(actor: string, mn: string, body: CommandRequest): Promise<CommandView> {
    return this.send({ mn, cn: body.cn, cp: requestCp(body), requestedBy: actor });
  }

  /** Sends any HJ 212 command to a device (the port other capabilities call). */
  async send(input: SendCommand): Promise<CommandView> {
    const device = await this.deps.devices.device(input.mn);
    if (!device) throw new NotFoundError(`no device with MN ${input.mn} (没有 MN 为 ${input.mn} 的监测设备)`);
    if (device.status === 'retired')
      throw new ConflictError('the device is retired: it takes no commands (设备已停用，不能下发命令)');
    if (device.protocol === 'json-mqtt')
      throw new ConflictError('a JSON-over-MQTT device takes no HJ 212 commands (JSON 接入的设备不支持 HJ 212 命令)');
    const at = this.now();
    const t = this.deps.timeouts ?? DEFAULT_COMMAND_TIMEOUTS;
    const version = input.version ?? versionFor(device, input.cn, input.cp);
    const route = device.transport;
    if (input.to !== undefined && route !== 'tcp')
      throw new ConflictError('only a TCP device is addressed by its logger (仅 TCP 设备可按数采仪地址下发)');
    for (let i = 0; i < MAX_QN_TRIES; i++) {
      const message = GatewayCommand.safeParse({
        mn: device.mn,
        qn: qnAt(at + i),
        st: device.st,
        cn: input.cn,
        flag: FLAG_BY_VERSION[version],
        cp: input.cp,
        ...(input.to !== undefined ? { to: input.to } : {}),
      });
      if (!message.success) {
        throw new ValidationError(
          'a command is a 4-digit CN and a CP of at most 950 printable ASCII characters without `&&` (命令须为 4 位 CN，CP 不超过 950 个可打印 ASCII 字符且不含 &&)',
        );
      }
      const m = message.data;
      const command: DeviceCommand = {
        mn: m.mn,
        qn: m.qn,
        st: m.st,
        cn: m.cn,
        flag: m.flag,
        cp: redactedCp(m.cn, m.cp),
        route,
        state: 'sent',
        requestedBy: input.requestedBy,
        requestedAt: new Date(at).toISOString(),
        answerBy: new Date(at + t.answerSeconds * 1000).toISOString(),
        executeBy: new Date(at + t.executeMinutes * 60_000).toISOString(),
        answers: [],
      };
      const audit = {
        actor: input.requestedBy,
        action: input.action ?? 'device.command',
        entity: `device#${m.mn}`,
        at: command.requestedAt,
        detail: { qn: m.qn, cn: m.cn, cp: command.cp, route, ...(m.to ? { to: m.to } : {}) },
      };
      if (!(await this.deps.store.create(command, audit))) continue;
      let prepared: PreparedDelivery = {};
      if (input.prepare) {
        try {
          prepared = await input.prepare(m, route);
        } catch (err) {
          await this.deps.store.update(
            { ...command, state: 'undelivered', reason: 'the command could not be prepared (命令未能生成)' },
            command,
          );
          throw err;
        }
      }
      const { topic, payload } = outgoing(route, m, prepared);
      try {
        await this.deps.channel.publish(topic, payload);
        return view(command, at);
      } catch {
        const failed: DeviceCommand = {
          ...command,
          state: 'undelivered',
          reason: 'the command could not be published; send it again (命令未能发出，请重新发送)',
        };
        await this.deps.store.update(failed, command);
        return view(failed, at);
      }
    }
    throw new ConflictError(
      'too many commands for this device at once; try again (该设备同时下发的命令过多，请稍后再试)',
    );
  }

  /**
   * Sends a stored command again under its own QN (a key push the device asked for again while it was pending): the
   * same header and CP, `prepare` run again for its route, the answer deadlines counted from now. Undefined when the
   * device has no such command or it is final (executed, failed): there is nothing to send again.
   */
  async resend(mn: string, qn: string, prepare?: SendCommand['prepare']): Promise<CommandView | undefined> {
    const stored = await this.deps.store.get(mn, qn);
    if (!stored || stored.state === 'executed' || stored.state === 'failed') return undefined;
    // a CP stored redacted (a key in it) cannot be sent again as it was
    if (stored.cp !== redactedCp(stored.cn, stored.cp) || stored.cp.includes('(redacted)')) return undefined;
    const message = GatewayCommand.safeParse({
      mn: stored.mn,
      qn: stored.qn,
      st: stored.st,
      cn: stored.cn,
      flag: stored.flag,
      cp: stored.cp,
    });
    if (!message.success) return undefined;
    const at = this.now();
    const t = this.deps.timeouts ?? DEFAULT_COMMAND_TIMEOUTS;
    const again: DeviceCommand = {
      ...stored,
      state: stored.state === 'undelivered' ? 'sent' : stored.state,
      answerBy: new Date(at + t.answerSeconds * 1000).toISOString(),
      executeBy: new Date(at + t.executeMinutes * 60_000).toISOString(),
    };
    delete again.reason;
    if (!(await this.deps.store.update(again, stored))) return undefined;
    const prepared = prepare ? await prepare(message.data, stored.route) : {};
    const { topic, payload } = outgoing(stored.route, message.data, prepared);
    try {
      await this.deps.channel.publish(topic, payload);
      return view(again, at);
    } catch {
      const failed: DeviceCommand = {
        ...again,
        state: 'undelivered',
        reason: 'the command could not be published; send it again (命令未能发出，请重新发送)',
      };
      await this.deps.store.update(failed, again);
      return view(failed, at);
    }
  }

  /** A device's 9011 / 9012: true when it answered one of the platform's commands (and was recorded). */
  answer(mn: string, qn: string | undefined, answer: CommandAnswer): Promise<boolean> {
    return recordAnswer(this.deps.store, mn, qn, answer);
  }

  async get(mn: string, qn: string): Promise<CommandView> {
    const c = await this.deps.store.get(mn, qn);
    if (!c) throw new NotFoundError(`no command ${qn} for device ${mn} (设备 ${mn} 没有命令 ${qn})`);
    return view(c, this.now());
  }

  async list(mn: string, limit: number, cursor?: string): Promise<Page<CommandView>> {
    const page = await this.deps.store.list(mn, limit, cursor);
    const now = this.now();
    return { items: page.items.map((c) => view(c, now)), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }
}

/** Records a device's 9011 / 9012 against the command its QN names (ingest calls this); false when none does. */
export async function recordAnswer(
  store: Pick<CommandStore, 'get' | 'update'>,
  mn: string,
  qn: string | undefined,
  answer: CommandAnswer,
): Promise<boolean> {
  if (qn === undefined) return false;
  for (let i = 0; i < 3; i++) {
    const command = await store.get(mn, qn);
    if (!command) return false;
    if (await store.update(withAnswer(command, answer), command)) return true;
  }
  return false;
}

function view(c: DeviceCommand, now: number): CommandView {
  const { state: _, ...rest } = c;
  return { ...rest, status: statusAt(c, now) };
}

/** The version a command is sent in: the device's, but 2025 for 2025-only commands and for 3011's CalibrationType. */
function versionFor(device: CommandDevice, cn: string, cp: string): '2005' | '2017' | '2025' {
  if (CNS_2025.has(cn) || (cn === '3011' && cp.includes('CalibrationType='))) return '2025';
  if (device.version) return device.version;
  return device.protocol === 'hj212-2005' ? '2005' : device.protocol === 'hj212-2025' ? '2025' : '2017';
}
