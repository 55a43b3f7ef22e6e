import { commandFrame, GATEWAY_COMMAND_PREFIX, GatewayCommand } from '#shared/domain/commands/delivery.ts';
import type { Logger } from '#shared/observability/logger.ts';
import type { Connection, GatewayKeys } from './connection.ts';
import type { Metrics } from './metrics.ts';

/**
 * Commands from the platform to devices connected to this gateway task (docs/devices.md §7). The platform publishes
 * each command on the device's own topic `envwatch/gateway/cmd/<MN>`; every task subscribes to
 * `envwatch/gateway/cmd/+` through its CommandFeed (IoT Core in the cloud, the local broker on a laptop) and writes a
 * command only on a connection of its own where that MN was verified, the newest if there are several; the other
 * tasks drop it. So a command reaches whichever task behind the load balancer holds the device's connection, with no
 * per-device subscription to keep in step with connections (docs/decisions.md).
 */
export interface CommandFeed {
  /** starts delivering the messages of `envwatch/gateway/cmd/+` to `deliver`; resolves once subscribed */
  start(deliver: (topic: string, payload: Buffer) => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export const COMMAND_FILTER = `${GATEWAY_COMMAND_PREFIX}/+`;

export class CommandRouter {
  /** MN → the connections of this task where it was verified, oldest first */
  private readonly byMn = new Map<string, Connection[]>();
  private readonly mnsOf = new Map<Connection, Set<string>>();

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** writes key pushes (GatewayCommand.keyPush); without it they are dropped as undeliverable */
    private readonly keys?: Pick<GatewayKeys, 'pushFrame'>,
  ) {}

  attach(conn: Connection, mn: string): void {
    let mns = this.mnsOf.get(conn);
    if (mns === undefined) {
      mns = new Set();
      this.mnsOf.set(conn, mns);
    }
    if (mns.has(mn)) return;
    mns.add(mn);
    const list = this.byMn.get(mn) ?? [];
    list.push(conn);
    this.byMn.set(mn, list);
  }

  detach(conn: Connection): void {
    for (const mn of this.mnsOf.get(conn) ?? []) {
      const left = (this.byMn.get(mn) ?? []).filter((c) => c !== conn);
      if (left.length > 0) this.byMn.set(mn, left);
      else this.byMn.delete(mn);
    }
    this.mnsOf.delete(conn);
  }

  /**
   * One message of the command topic: written to the device when this task holds it; never throws. A key push
   * (`keyPush`) is turned into its encrypted frame first (GatewayKeys.pushFrame: the key read sealed from the registry,
   * never from the message), with the PW of the connection it is written on.
   */
  async deliver(topic: string, payload: Buffer): Promise<void> {
    let parsed: ReturnType<typeof GatewayCommand.safeParse>;
    try {
      parsed = GatewayCommand.safeParse(JSON.parse(payload.toString('utf8')));
    } catch {
      parsed = GatewayCommand.safeParse(undefined);
    }
    // a logger without an MN yet (CN 1002) is held under its address, `to`; every other device under its MN
    const holder = parsed.success ? (parsed.data.to ?? parsed.data.mn) : undefined;
    if (!parsed.success || topic !== `${GATEWAY_COMMAND_PREFIX}/${holder}`) {
      this.metrics.inc('commands.invalid');
      this.logger.warn('command message refused', { topic: topic.slice(0, 120) });
      return;
    }
    const c = parsed.data;
    const held = this.byMn.get(holder as string);
    if (held === undefined) {
      this.metrics.inc('commands.notHere');
      return;
    }
    if (c.keyPush && c.to === undefined) {
      await this.deliverKey(c, held);
      return;
    }
    for (let i = held.length - 1; i >= 0; i--) {
      const conn = held[i] as Connection;
      if (conn.sendCommand(holder as string, (pw) => commandFrame(c, pw))) {
        this.metrics.inc('commands.delivered');
        this.logger.info('command delivered', { connection: conn.id, mn: c.mn, qn: c.qn, cn: c.cn });
        return;
      }
    }
    this.metrics.inc('commands.undeliverable');
    this.logger.warn('command for a device whose connection is gone', { mn: c.mn, qn: c.qn, cn: c.cn });
  }

  private async deliverKey(c: GatewayCommand, held: Connection[]): Promise<void> {
    const conn = [...held].reverse().find((x) => x.commandPw(c.mn) !== undefined);
    const pw = conn?.commandPw(c.mn);
    if (!this.keys || !conn || pw === undefined) {
      this.metrics.inc('commands.undeliverable');
      this.logger.warn('key push for a device this task cannot write to', { mn: c.mn, qn: c.qn });
      return;
    }
    try {
      const frame = await this.keys.pushFrame(c, pw, conn.wireForm(c.mn));
      if (!frame) {
        this.metrics.inc('commands.keyPushStale');
        this.logger.warn('key push no longer pending: not written', { mn: c.mn, qn: c.qn });
        return;
      }
      if (conn.sendCommand(c.mn, () => frame)) {
        this.metrics.inc('commands.delivered');
        this.logger.info('command delivered', { connection: conn.id, mn: c.mn, qn: c.qn, cn: c.cn });
      } else this.metrics.inc('commands.undeliverable');
    } catch (err) {
      this.metrics.inc('commands.keyPushFailed');
      this.logger.error('key push could not be written', { mn: c.mn, qn: c.qn, error: err });
    }
  }

  /** devices this task holds (for tests and stats) */
  get devices(): number {
    return this.byMn.size;
  }
}
