import type { Socket } from 'node:net';
import type { GatewayCommand } from '#shared/domain/commands/delivery.ts';
import type { CommandChannel } from '#shared/domain/commands/ports.ts';
import { decodeCp, decodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream } from '#shared/domain/hj212/frame-stream.ts';
import { dataAck, noticeAck, QN_RTN, qnRtn, rejectionReply } from '#shared/domain/hj212/replies.ts';
import { type ExpiredSplit, SplitReassembler } from '#shared/domain/hj212/split.ts';
import type { DecodeOptions, DecodeResult, Hj212Packet } from '#shared/domain/hj212/types.ts';
import { type KeySettings, type KeySource, pushDue } from '#shared/domain/registry/device-keys.ts';
import type { KeyPush, WireForm } from '#shared/domain/registry/key-lifecycle.ts';
import { type HardwareIdentity, identityFromCp, loggerAddress } from '#shared/domain/registry/loggers.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import type { Logger } from '#shared/observability/logger.ts';
import type { GatewayLimits } from './limits.ts';
import type { Metrics } from './metrics.ts';

/**
 * One device connection: bytes → frames (FrameStream) → decode → authenticate → split reassembly → publish → reply.
 *
 * - Frames of one connection are handled one at a time, in order: a device's replies come back in the order of its
 *   packets. Garbage is handled as it arrives.
 * - Authentication: every packet's (MN, PW) must be verified against the registry's scrypt hash; a verified pair is
 *   remembered for the connection, so steady-state packets cost no hash. Unknown MN → QnRtn=4, wrong or missing PW →
 *   QnRtn=3; both are published as rejected envelopes (`unknown-mn` / `auth-failed`) and logged as security events.
 *   After `maxAuthFailures` failures without a success in between, the connection is closed: the device has had its
 *   answer each time, and each attempt costs an scrypt hash (a brute-force brake). It may reconnect.
 * - Acknowledgement: a packet with Flag A=1 gets 9014 only after its envelope was published (at-least-once: acknowledge
 *   only what was handed on). A packet that could not be published gets no reply: the device retries.
 * - Rejected frames get the QnRtn of replies.ts (9 for a bad CRC) when their header names an MN, and one envelope each
 *   while the connection's reject budget lasts (`rejectBurst`, `rejectPerSecond`); beyond it they join the garbage
 *   aggregate. Replies (CN 9011–9014) are never answered, so two gateways cannot ping-pong.
 * - Garbage (bytes outside frames, runs longer than a frame) is aggregated: one envelope per `garbageEnvelopeBytes`
 *   kept or per `garbageFlushMs`, whichever comes first, with the total counted in `detail` and the metrics. A
 *   connection whose bad bytes pass `garbageMinBytes` and `garbageMaxRatio` of all its bytes is closed.
 * - HJ 212-2025 (docs/devices.md §2.1–2.3): a device registered as encrypting has its packets opened with its keys
 *   (current, pushed-but-unconfirmed, replaced within the grace window) before anything else: a packet that does not
 *   open (`decrypt-failed`: QnRtn=9, the CRC failing after decryption) or data sent in clear (`plaintext-refused`) is
 *   archived as received and refused. Its key request (CN 1014) is answered with 9013 and a new key pushed (CN 1014,
 *   encrypted under the current key) through the command path to this connection, or the pending push sent again,
 *   within the request limits kept on the device record (KeyLifecycle.answerRequest; ingest answers an MQTT device's); a due rotation (90 days, an administrator's request, an
 *   unconfirmed push) is pushed when the device next sends; its 9012 to a push makes the new key current. Heartbeats
 *   (CN 9015) keep the connection alive and are answered with 9013 when Flag asks; they are counted, not archived.
 * - Split messages (Flag D=1): every part is published (and acknowledged) as it arrives, as received; the
 *   SplitReassembler tracks completeness, and a message still incomplete after `splitTimeoutMs` (or at close) is
 *   published as a rejected `split-incomplete` envelope with empty `raw` (its parts were archived already).
 */

export interface DeviceRegistry {
  deviceForAuthentication(mn: string): Promise<StoredDevice | undefined>;
  /** forgets a cached device (its keys changed); optional for registries without a cache */
  invalidate?(mn: string): void;
}

/** HJ 212-2025 keys (registry key-lifecycle.ts behind a cache of opened keys); without it the gateway opens none. */
export interface GatewayKeys {
  /** the keys that open the device's packets now, in order */
  open(device: StoredDevice): Promise<Uint8Array[]>;
  /**
   * pushes a new key when one is due, or `force` says why, as a device command (CN 1014) published on `channel`
   * (the gateway's own command router: the device is connected here), written in the device's wire form
   */
  pushIfDue(mn: string, channel: CommandChannel, force?: KeySource, form?: WireForm): Promise<KeyPush | undefined>;
  /** the frame of a key push the platform asked this task to write (GatewayCommand.keyPush), or undefined when stale */
  pushFrame(c: GatewayCommand, pw: string, form: WireForm): Promise<Buffer | undefined>;
  /** the device's 9012 to a push */
  confirm(mn: string, qn: string, exeRtn: string): Promise<boolean>;
  settings: KeySettings;
  /** records the HJ 212 version a device last used on its registry record, when it changes (protocol-seen.ts) */
  recordProtocol?(mn: string, version: Hj212Packet['version']): Promise<boolean>;
}

/**
 * New loggers (CN 1001 / 1002, docs/devices.md §2.4): hardware identities reported by loggers without an MN, recorded
 * as pending loggers (registry/loggers.ts), and a logger's 9012 to its 1002.
 */
export interface GatewayLoggers {
  seen(identity: HardwareIdentity, via: { transport: 'tcp'; connection: string }): Promise<string>;
  confirm(mn: string, qn: string, exeRtn: string): Promise<boolean>;
  /** whether a report may be recorded now (the task-wide budget: loggerReportsPerMinute) */
  take(): boolean;
}

/** The gateway's verdict on bytes it received; the server turns it into an IngestEnvelope and a topic. */
export interface Verdict {
  /** MN for the topic and the envelope ('unknown' when none can be trusted or is topic-safe) */
  mn: string;
  raw: Buffer;
  accepted: boolean;
  reason?: string;
  detail?: string;
  /** `split-message`: the reassembled segments of a split message (its parts were published as frames) */
  kind?: 'frame' | 'split-message';
}

export interface ConnectionContext {
  limits: GatewayLimits;
  registry: DeviceRegistry;
  verify: (secret: string, hash: string) => Promise<boolean>;
  /** publishes one envelope; resolves false (never throws) when it could not be handed on */
  publish: (clientId: string, verdict: Verdict) => Promise<boolean>;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  onClose: (conn: Connection, reason: string) => void;
  /** a device's MN and PW were verified on this connection (commands for it may now come here) */
  onAuthenticated?: (conn: Connection, mn: string) => void;
  /** hands a command message to this task's command router, as if it came from the command topic */
  deliverCommand?: (topic: string, payload: Buffer) => Promise<void>;
  keys?: GatewayKeys;
  loggers?: GatewayLoggers;
}

const REPLY_CNS = new Set(['9011', '9012', '9013', '9014']);
/** notifications a device sends, answered with 9013 rather than the data acknowledgement 9014 */
const NOTICE_CNS = new Set(['9015', '1014', '1013', '1001']);
const HEARTBEAT = '9015';
const HARDWARE_SERIAL = '1001';
const CP_MARK = Buffer.from('CP=&&');

/** The CP data area of a plain frame (between `CP=&&` and the `&&` before the CRC), as latin1 text. */
function cpText(frame: Buffer): string | undefined {
  const at = frame.indexOf(CP_MARK, 6);
  const end = frame.length - 8; // `&&` + 4 CRC digits + CR LF
  if (at < 0 || end < at + 5 || frame.toString('latin1', end, end + 2) !== '&&') return undefined;
  return frame.toString('latin1', at + 5, end);
}

/** The `-Info` fields of a CP (decodeCp drops names that could reach a prototype). */
function infoOf(cp: string): Record<string, string> {
  const decoded = decodeCp(cp, []);
  return 'error' in decoded ? {} : decoded.info;
}
/** while a device's cached record says a push is due, the lifecycle is asked at most this often */
const KEY_CHECK_MS = 60_000;
const MN_MARK = Buffer.from(';MN=');

/** The MN in a frame's header, read from its bytes (the header is ASCII even when the CP is encrypted). */
function headerMn(frame: Buffer): string | undefined {
  const at = frame.indexOf(MN_MARK, 6);
  if (at < 0 || at > 200) return undefined;
  const end = frame.indexOf(0x3b, at + 4);
  if (end < 0 || end - at - 4 > 24) return undefined;
  return frame.toString('latin1', at + 4, end);
}
const SAFE_MN = /^[0-9A-Za-z_-]{1,64}$/;
const safeMn = (mn: string | undefined): string | undefined => (mn && SAFE_MN.test(mn) ? mn : undefined);

interface GarbageAggregate {
  kept: Buffer[];
  keptBytes: number;
  totalBytes: number;
  reasons: Map<string, number>;
  since: number;
}

export class Connection {
  readonly openedAt: number;
  private readonly stream: FrameStream;
  private readonly splits: SplitReassembler;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private processing: Promise<void> | undefined;
  private readonly verified = new Map<string, string>();
  private authFailures = 0;
  private readonly keyCheckedAt = new Map<string, number>();
  /** the SM4 wire form each MN last used on this connection: a key push is written in it */
  private readonly formSeen = new Map<string, WireForm>();
  /** the version recorded for each MN by this connection (one write per change, not per packet) */
  private readonly versionSeen = new Map<string, string>();
  private primaryMn: string | undefined;
  /** loggers without an MN that reported here (address → the PW of their 1001): a 1002 for them is written here */
  private readonly hardware = new Map<string, { pw: string; recordedAt: number }>();
  private lastActivity: number;
  private partialSince: number | undefined;
  private bytesIn = 0;
  private badBytes = 0;
  private garbage: GarbageAggregate | undefined;
  private rejectTokens: number;
  private rejectRefilledAt: number;
  private paused = false;
  private reading = true;
  /** publishes not tied to a frame (garbage aggregates, expired splits) */
  private readonly background = new Set<Promise<unknown>>();
  closed = false;
  closeReason: string | undefined;
  /** after close: resolves when queued frames are handled and open split messages reported */
  finished: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly socket: Socket,
    private readonly ctx: ConnectionContext,
  ) {
    const now = ctx.now();
    this.openedAt = now;
    this.lastActivity = now;
    this.stream = new FrameStream(ctx.limits.maxFrameBytes);
    this.splits = new SplitReassembler(ctx.limits.splitTimeoutMs, 64);
    this.rejectTokens = ctx.limits.rejectBurst;
    this.rejectRefilledAt = now;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.close('peer-closed'));
    socket.on('close', () => this.close('peer-closed'));
    socket.on('error', (err) => {
      this.ctx.metrics.inc('connections.errors');
      this.ctx.logger.debug('connection error', { connection: this.id, error: err });
      this.close('socket-error');
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get pendingBytes(): number {
    return this.queuedBytes + this.stream.pending;
  }

  /** Resolves when every frame received so far has been handled (published, replied). */
  async drained(): Promise<void> {
    while (this.processing) await this.processing;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const now = this.ctx.now();
    this.lastActivity = now;
    this.bytesIn += chunk.length;
    this.ctx.metrics.inc('bytes.in', chunk.length);
    const items = this.stream.push(chunk);
    let sawFrame = false;
    for (const item of items) {
      if (item.kind === 'garbage') {
        this.addGarbage(item.bytes, item.reason);
        if (this.closed) return;
        continue;
      }
      sawFrame = true;
      // the stream's buffer is reused: keep a copy of the frame
      const frame = Buffer.from(item.bytes);
      this.queue.push(frame);
      this.queuedBytes += frame.length;
    }
    if (this.stream.pending === 0) this.partialSince = undefined;
    else if (sawFrame || this.partialSince === undefined) this.partialSince = now;
    if (this.queuedBytes > this.ctx.limits.maxBufferedBytes && !this.paused) {
      this.paused = true;
      this.ctx.metrics.inc('backpressure.paused');
      this.socket.pause();
    }
    this.kick();
  }

  private kick(): void {
    if (this.processing || this.queue.length === 0) return;
    this.processing = this.drainQueue().finally(() => {
      this.processing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drainQueue(): Promise<void> {
    for (let frame = this.queue.shift(); frame; frame = this.queue.shift()) {
      this.queuedBytes -= frame.length;
      try {
        await this.handleFrame(frame);
      } catch (err) {
        this.ctx.metrics.inc('errors.internal');
        this.ctx.logger.error('frame handling failed', { connection: this.id, error: err });
      }
      if (this.paused && this.reading && !this.closed && this.queuedBytes <= this.ctx.limits.maxBufferedBytes / 2) {
        this.paused = false;
        this.socket.resume();
      }
    }
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    this.ctx.metrics.inc('frames.received');
    const opts = await this.decodeOptions(frame);
    if (opts === 'unavailable') return;
    let result = decodeFrame(frame, opts?.options);
    if (!result.ok && result.reason === 'decrypt-failed' && opts?.device) {
      // the keys may have changed since the device was cached (a rotation confirmed elsewhere): once more, fresh
      this.ctx.registry.invalidate?.(opts.device.mn);
      const fresh = await this.decodeOptions(frame);
      if (fresh === 'unavailable') return;
      result = decodeFrame(frame, fresh?.options);
    }
    if (!result.ok && result.reason === 'missing-mn' && result.header.cn === HARDWARE_SERIAL && this.ctx.loggers)
      return this.hardwareReport(frame, result.header);
    if (!result.ok) return this.rejectFrame(frame, result);
    const packet = result.packet;
    if (!(await this.authenticate(packet, frame))) return;
    if (packet.encryption) {
      this.ctx.metrics.inc('frames.decrypted');
      this.formSeen.set(packet.mn, packet.encryption.form);
    }
    await this.recordVersion(packet);
    if (packet.cn === HEARTBEAT) {
      // alive: the connection's activity is what a heartbeat proves; nothing to archive or evaluate
      this.ctx.metrics.inc('heartbeats');
      if (packet.ack) this.reply(noticeAck(packet));
      await this.keyDuties(packet, opts?.device);
      return;
    }
    let detail: string | undefined;
    let completed: Hj212Packet | undefined;
    if (packet.split && packet.pnum !== undefined) {
      const added = this.splits.add(packet, this.ctx.now());
      if (added.evicted) await this.reportIncomplete(added.evicted, 'too many open split messages');
      detail = `split part ${packet.pno}/${packet.pnum}`;
      if (added.duplicate) detail += ', repeated part';
      else if (added.complete) {
        completed = added.complete;
        detail += ', message complete';
        this.ctx.metrics.inc('split.complete');
      }
    }
    const ok = await this.ctx.publish(this.id, {
      mn: packet.mn,
      raw: frame,
      accepted: true,
      ...(detail ? { detail } : {}),
    });
    if (!ok) return; // not handed on: no acknowledgement, the device retries
    this.ctx.metrics.inc('frames.accepted');
    if (completed) {
      // readings come from the whole message: hand on its parts' segments, in PNO order, one per line
      await this.ctx.publish(this.id, {
        mn: packet.mn,
        raw: Buffer.from(completed.segment, 'utf8'),
        accepted: true,
        kind: 'split-message',
        detail: `reassembled from ${packet.pnum} parts`,
      });
    }
    if (packet.ack && !REPLY_CNS.has(packet.cn)) {
      if (NOTICE_CNS.has(packet.cn)) {
        this.reply(noticeAck(packet));
        this.ctx.metrics.inc('replies.9013');
      } else {
        this.reply(dataAck(packet));
        this.ctx.metrics.inc('replies.9014');
      }
    }
    await this.keyDuties(packet, opts?.device);
    if (packet.cn === '9012' && packet.qn !== undefined && this.ctx.loggers) await this.loggerAnswer(packet);
  }

  /**
   * A 1001 with an empty MN: a new logger's hardware identity (serial, CPUID, MACs). Recorded as a pending logger when
   * every field passes its pattern, within the connection's and the task's budgets; the connection then answers for
   * the logger's address (a 1002 for it is written here with the PW of this report). Answered 9013 when recorded or
   * already known; nothing else is trusted, archived or published: the sender is not authenticated.
   */
  private async hardwareReport(frame: Buffer, header: { qn?: string; pw?: string; flag?: number }): Promise<void> {
    const loggers = this.ctx.loggers as GatewayLoggers;
    const cp = cpText(frame);
    const identity = cp === undefined ? undefined : identityFromCp(infoOf(cp));
    if (!identity) {
      this.ctx.metrics.inc('loggers.invalid');
      this.ctx.logger.warn('hardware identity refused: a field does not match its pattern', { connection: this.id });
      return;
    }
    const address = loggerAddress(identity.serial);
    const now = this.ctx.now();
    const known = this.hardware.get(address);
    const l = this.ctx.limits;
    if (!known && this.hardware.size >= l.maxLoggersPerConnection) {
      this.ctx.metrics.inc('loggers.overConnectionLimit');
      return;
    }
    const pw = header.pw !== undefined && /^[\x21-\x7e]{1,64}$/.test(header.pw) ? header.pw : '';
    if (!known || now - known.recordedAt >= l.loggerReportIntervalMs) {
      if (!loggers.take()) {
        this.ctx.metrics.inc('loggers.overTaskLimit');
        return;
      }
      try {
        const outcome = await loggers.seen(identity, { transport: 'tcp', connection: this.id });
        this.ctx.metrics.inc(`loggers.${outcome}`);
        if (outcome === 'conflict') {
          this.ctx.logger.warn('security event: a known logger serial reported with another CPUID or MAC', {
            event: 'security',
            connection: this.id,
            address,
          });
          return;
        }
        if (outcome === 'recorded') this.ctx.logger.info('new logger reported', { connection: this.id, address });
      } catch (err) {
        this.ctx.metrics.inc('loggers.errors');
        this.ctx.logger.error('pending logger not recorded', { connection: this.id, address, error: err });
        return;
      }
    }
    this.hardware.set(address, {
      pw,
      recordedAt: known && now - known.recordedAt < l.loggerReportIntervalMs ? known.recordedAt : now,
    });
    this.ctx.onAuthenticated?.(this, address);
    if (header.flag !== undefined && (header.flag & 1) === 1)
      this.reply(
        noticeAck({
          ...(header.qn !== undefined ? { qn: header.qn } : {}),
          ...(pw ? { pw } : {}),
          mn: '',
          flag: header.flag,
        }),
      );
  }

  /** A 9012 under a verified MN: it may confirm the 1002 that gave the logger this MN (LoggerRegistry.confirm). */
  private async loggerAnswer(packet: Hj212Packet): Promise<void> {
    try {
      if (
        await (this.ctx.loggers as GatewayLoggers).confirm(
          packet.mn,
          packet.qn as string,
          packet.cp.params.ExeRtn ?? '',
        )
      ) {
        this.ctx.metrics.inc('loggers.linked');
        this.ctx.registry.invalidate?.(packet.mn);
        this.ctx.logger.info('logger linked to its MN', { connection: this.id, mn: packet.mn });
      }
    } catch (err) {
      this.ctx.metrics.inc('loggers.errors');
      this.ctx.logger.error('logger link not recorded', { connection: this.id, mn: packet.mn, error: err });
    }
  }

  /** Records the packet's HJ 212 version on the device when it differs from what this connection recorded last. */
  private async recordVersion(packet: Hj212Packet): Promise<void> {
    const record = this.ctx.keys?.recordProtocol;
    if (!record || this.versionSeen.get(packet.mn) === packet.version) return;
    this.versionSeen.set(packet.mn, packet.version);
    try {
      if (await record(packet.mn, packet.version)) this.ctx.metrics.inc('devices.protocolChanged');
    } catch (err) {
      this.versionSeen.delete(packet.mn);
      this.ctx.logger.warn('device protocol version not recorded', { connection: this.id, mn: packet.mn, error: err });
    }
  }

  /**
   * What decoding a frame needs: for a device registered as encrypting, its keys (when the gateway has keys at all).
   * 'unavailable' when the registry or the key service could not be read: the frame is archived, not answered.
   */
  private async decodeOptions(
    frame: Buffer,
  ): Promise<{ options: DecodeOptions; device: StoredDevice } | undefined | 'unavailable'> {
    const keys = this.ctx.keys;
    if (!keys) return undefined;
    const mn = headerMn(frame);
    if (!mn) return undefined;
    try {
      const device = await this.ctx.registry.deviceForAuthentication(mn);
      if (!device?.sm4?.encrypting) return undefined;
      return { options: { keys: await keys.open(device), requireEncryption: true }, device };
    } catch (err) {
      this.ctx.metrics.inc('keys.unavailable');
      this.ctx.logger.error('device keys could not be read', { connection: this.id, mn, error: err });
      await this.ctx.publish(this.id, {
        mn: safeMn(mn) ?? 'unknown',
        raw: frame,
        accepted: false,
        reason: 'keys-unavailable',
        detail: 'the device keys could not be read; the packet was not acknowledged',
      });
      return 'unavailable';
    }
  }

  /**
   * The key lifecycle's part of an accepted packet of an encrypting device: a key request (CN 1014) gets a new key,
   * a 9012 may confirm a push, and a due rotation is pushed (judged on the cached record; the lifecycle asked at most once a minute).
   */
  private async keyDuties(packet: Hj212Packet, device: StoredDevice | undefined): Promise<void> {
    const keys = this.ctx.keys;
    if (!keys || !device?.sm4?.encrypting) return;
    const mn = packet.mn;
    // the push is a device command like any other; its message goes to this task's router (the device is here)
    const deliver = this.ctx.deliverCommand;
    const channel: CommandChannel = {
      publish: async (topic, payload) => {
        if (!deliver) throw new Error('this gateway has no command router');
        await deliver(topic, Buffer.from(payload));
      },
    };
    try {
      if (packet.cn === '9012' && packet.qn !== undefined) {
        if (await keys.confirm(mn, packet.qn, packet.cp.params.ExeRtn ?? '')) {
          this.ctx.metrics.inc('keys.activated');
          this.ctx.logger.info('device key rotated', { connection: this.id, mn });
        }
        this.ctx.registry.invalidate?.(mn);
        return;
      }
      const now = this.ctx.now();
      const force: KeySource | undefined =
        packet.cn === '1014' && packet.cp.params.NewSK === undefined ? 'device-request' : undefined;
      // judged on the cached record (no read); the lifecycle decides again on the record read now
      if (!force && !pushDue(device.sm4, new Date(now), keys.settings)) return;
      // a push is asked at most once a minute per device while the cached record still says it is due
      if (!force && (this.keyCheckedAt.get(mn) ?? Number.NEGATIVE_INFINITY) + KEY_CHECK_MS > now) return;
      this.keyCheckedAt.set(mn, now);
      const push = await keys.pushIfDue(mn, channel, force, this.formSeen.get(mn));
      if (push) {
        this.ctx.registry.invalidate?.(mn);
        this.ctx.metrics.inc(push.command.status === 'undelivered' ? 'keys.pushUndelivered' : 'keys.pushed');
        this.ctx.logger.info('device key pushed', {
          connection: this.id,
          mn,
          version: push.version,
          source: push.source,
          qn: push.qn,
        });
      }
    } catch (err) {
      this.ctx.metrics.inc('keys.errors');
      this.ctx.logger.error('device key lifecycle failed', { connection: this.id, mn, error: err });
    }
  }

  private async authenticate(p: Hj212Packet, frame: Buffer): Promise<boolean> {
    const known = this.verified.get(p.mn);
    if (known !== undefined && known === p.pw) return true;
    let device: StoredDevice | undefined;
    try {
      device = await this.ctx.registry.deviceForAuthentication(p.mn);
    } catch (err) {
      // cannot decide: archive the packet as received, do not answer (the device retries)
      this.ctx.metrics.inc('auth.unavailable');
      this.ctx.logger.error('registry lookup failed', { connection: this.id, mn: p.mn, error: err });
      await this.ctx.publish(this.id, {
        mn: safeMn(p.mn) ?? 'unknown',
        raw: frame,
        accepted: false,
        reason: 'auth-unavailable',
        detail: 'the registry could not be read; the packet was not acknowledged',
      });
      return false;
    }
    if (!device || device.status === 'retired') {
      return this.authFailed(
        p,
        frame,
        'unknown-mn',
        QN_RTN.mnError,
        device ? 'device is retired' : 'MN is not registered',
      );
    }
    if (p.pw === undefined || p.pw === '')
      return this.authFailed(p, frame, 'auth-failed', QN_RTN.passwordError, 'no PW');
    const ok = await this.ctx.verify(p.pw, device.passwordHash);
    if (!ok) return this.authFailed(p, frame, 'auth-failed', QN_RTN.passwordError, 'PW does not match');
    if (this.verified.size >= this.ctx.limits.maxVerifiedPerConnection) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(p.mn, p.pw);
    this.primaryMn ??= p.mn;
    this.ctx.onAuthenticated?.(this, p.mn);
    this.authFailures = 0;
    this.ctx.metrics.inc('auth.ok');
    this.ctx.logger.info('device authenticated', { connection: this.id, mn: p.mn });
    return true;
  }

  private async authFailed(p: Hj212Packet, frame: Buffer, reason: string, code: number, why: string): Promise<false> {
    this.authFailures++;
    this.ctx.metrics.inc(`auth.${reason}`);
    this.ctx.logger.warn('security event: device authentication failed', {
      event: 'security',
      reason,
      mn: p.mn,
      connection: this.id,
      remote: `${this.socket.remoteAddress}:${this.socket.remotePort}`,
      detail: why,
      failures: this.authFailures,
    });
    await this.ctx.publish(this.id, {
      mn: safeMn(p.mn) ?? 'unknown',
      raw: frame,
      accepted: false,
      reason,
      detail: `${why} (connection ${this.id}, failure ${this.authFailures})`,
    });
    if (!REPLY_CNS.has(p.cn)) this.reply(qnRtn(p, code));
    if (this.authFailures >= this.ctx.limits.maxAuthFailures) this.close('auth-failures');
    return false;
  }

  private async rejectFrame(frame: Buffer, result: Extract<DecodeResult, { ok: false }>): Promise<void> {
    this.ctx.metrics.inc(`rejected.${result.reason}`);
    if (this.takeRejectToken()) {
      await this.ctx.publish(this.id, {
        mn: safeMn(result.header.mn) ?? this.primaryMn ?? 'unknown',
        raw: frame,
        accepted: false,
        reason: result.reason,
        detail: result.detail,
      });
    } else {
      this.ctx.metrics.inc('rejected.aggregated');
      this.addGarbage(frame, `rejected frame: ${result.reason}`);
    }
    if (this.closed || (result.header.cn !== undefined && REPLY_CNS.has(result.header.cn))) return;
    const answer = rejectionReply(result);
    if (answer) {
      this.reply(answer);
      this.ctx.metrics.inc('replies.9011');
    }
  }

  private takeRejectToken(): boolean {
    const now = this.ctx.now();
    const { rejectBurst, rejectPerSecond } = this.ctx.limits;
    this.rejectTokens = Math.min(
      rejectBurst,
      this.rejectTokens + ((now - this.rejectRefilledAt) / 1000) * rejectPerSecond,
    );
    this.rejectRefilledAt = now;
    if (this.rejectTokens < 1) return false;
    this.rejectTokens -= 1;
    return true;
  }

  /** Adds bad bytes to the aggregate; closes a connection that sends mostly garbage. */
  private addGarbage(bytes: Buffer, reason: string): void {
    const { garbageEnvelopeBytes, garbageMinBytes, garbageMaxRatio } = this.ctx.limits;
    this.badBytes += bytes.length;
    this.collectGarbage(bytes, reason);
    if ((this.garbage?.keptBytes ?? 0) >= garbageEnvelopeBytes) this.flushGarbage();
    if (this.badBytes >= garbageMinBytes && this.badBytes > this.bytesIn * garbageMaxRatio) {
      this.ctx.logger.warn('closing a connection that sends mostly garbage', {
        connection: this.id,
        badBytes: this.badBytes,
        bytesIn: this.bytesIn,
      });
      this.close('garbage');
    }
  }

  private collectGarbage(bytes: Buffer, reason: string): void {
    this.ctx.metrics.inc('garbage.bytes', bytes.length);
    this.garbage ??= { kept: [], keptBytes: 0, totalBytes: 0, reasons: new Map(), since: this.ctx.now() };
    const g = this.garbage;
    g.totalBytes += bytes.length;
    g.reasons.set(reason, (g.reasons.get(reason) ?? 0) + 1);
    const room = this.ctx.limits.garbageEnvelopeBytes - g.keptBytes;
    if (room > 0) {
      const part = Buffer.from(bytes.subarray(0, room));
      g.kept.push(part);
      g.keptBytes += part.length;
    }
  }

  private flushGarbage(): void {
    const g = this.garbage;
    if (!g) return;
    this.garbage = undefined;
    const reasons = [...g.reasons].map(([r, n]) => `${r} ×${n}`).join('; ');
    this.ctx.metrics.inc('garbage.envelopes');
    if (g.totalBytes > g.keptBytes) this.ctx.metrics.inc('garbage.bytesNotKept', g.totalBytes - g.keptBytes);
    this.track(
      this.ctx.publish(this.id, {
        mn: this.primaryMn ?? 'unknown',
        raw: Buffer.concat(g.kept),
        accepted: false,
        reason: 'garbage',
        detail: `${g.totalBytes} bytes (${g.keptBytes} kept): ${reasons}`,
      }),
    );
  }

  private async reportIncomplete(s: ExpiredSplit, why: string): Promise<void> {
    this.ctx.metrics.inc('split.incomplete');
    await this.ctx.publish(this.id, {
      mn: safeMn(s.mn) ?? 'unknown',
      raw: Buffer.alloc(0),
      accepted: false,
      reason: 'split-incomplete',
      detail: `${why}: CN=${s.cn} QN=${s.qn ?? '-'} PNUM=${s.pnum}, received parts ${s.received.join(',')}; the parts were published as received`,
    });
  }

  /**
   * Writes a platform command for device `mn` with the PW that device logged in with on this connection (the
   * platform keeps only a hash of it); false when the device is not (or no longer) verified here or the socket is gone.
   */
  sendCommand(mn: string, frame: (pw: string) => string | Buffer): boolean {
    const pw = this.commandPw(mn);
    if (pw === undefined) return false;
    this.reply(frame(pw));
    return true;
  }

  /** The PW device `mn` logged in with here, when a command can be written to it now. */
  commandPw(mn: string): string | undefined {
    const pw = this.verified.get(mn) ?? this.hardware.get(mn)?.pw;
    if (pw === undefined || this.closed || this.socket.destroyed || !this.socket.writable) return undefined;
    return pw;
  }

  /** The SM4 wire form device `mn` used here last (a key push is written in it); raw bytes when none was seen. */
  wireForm(mn: string): WireForm {
    return this.formSeen.get(mn) ?? 'binary';
  }

  private reply(text: string | Buffer): void {
    const s = this.socket;
    if (s.destroyed || !s.writable) return;
    s.write(text);
    if (s.writableLength > this.ctx.limits.maxBufferedBytes) this.close('slow-reader');
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Stops reading (shutdown): frames already received are still handled and acknowledged. */
  stopReading(): void {
    this.reading = false;
    this.socket.pause();
  }

  /** Periodic checks (the server runs one sweep over all connections). */
  sweep(now: number): void {
    if (this.closed) return;
    const l = this.ctx.limits;
    if (this.garbage && now - this.garbage.since >= l.garbageFlushMs) this.flushGarbage();
    for (const expired of this.splits.expire(now))
      this.track(this.reportIncomplete(expired, 'split message timed out'));
    if (this.partialSince !== undefined && now - this.partialSince >= l.frameTimeoutMs) {
      for (const item of this.stream.flush()) this.addGarbage(item.bytes, 'frame not finished in time');
      this.close('slow-frame');
    } else if (now - this.lastActivity >= l.idleTimeoutMs && !this.processing) this.close('idle');
  }

  /** Closes the socket; frames already received are still handled (published, not acknowledged). */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    for (const item of this.stream.flush()) this.collectGarbage(item.bytes, 'connection closed inside a frame');
    this.flushGarbage();
    this.finished = (async () => {
      await this.drained();
      for (const s of this.splits.expire(Number.POSITIVE_INFINITY)) await this.reportIncomplete(s, 'connection closed');
      await Promise.all([...this.background]);
    })();
    if (!this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    }
    this.ctx.metrics.inc(`disconnect.${reason}`);
    this.ctx.onClose(this, reason);
  }
}
