import type { Socket } from 'node:net';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream } from '#shared/domain/hj212/frame-stream.ts';
import { dataAck, QN_RTN, qnRtn, rejectionReply } from '#shared/domain/hj212/replies.ts';
import { type ExpiredSplit, SplitReassembler } from '#shared/domain/hj212/split.ts';
import type { DecodeResult, Hj212Packet } from '#shared/domain/hj212/types.ts';
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
 * - Split messages (Flag D=1): every part is published (and acknowledged) as it arrives, as received; the
 *   SplitReassembler tracks completeness, and a message still incomplete after `splitTimeoutMs` (or at close) is
 *   published as a rejected `split-incomplete` envelope with empty `raw` (its parts were archived already).
 */

export interface DeviceRegistry {
  deviceForAuthentication(mn: string): Promise<StoredDevice | undefined>;
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
}

const REPLY_CNS = new Set(['9011', '9012', '9013', '9014']);
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
  private primaryMn: string | undefined;
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
    const result = decodeFrame(frame);
    if (!result.ok) return this.rejectFrame(frame, result);
    const packet = result.packet;
    if (!(await this.authenticate(packet, frame))) return;
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
      this.reply(dataAck(packet));
      this.ctx.metrics.inc('replies.9014');
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
  sendCommand(mn: string, frame: (pw: string) => string): boolean {
    const pw = this.verified.get(mn);
    if (pw === undefined || this.closed || this.socket.destroyed || !this.socket.writable) return false;
    this.reply(frame(pw));
    return true;
  }

  private reply(text: string): void {
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
