import net from 'node:net';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream } from '#shared/domain/hj212/frame-stream.ts';
import type { DecodeOptions, Hj212Packet } from '#shared/domain/hj212/types.ts';

/**
 * One DAQ's persistent TCP connection to the HJ 212 gateway, behaving like a field device (docs/domain.md §1.6):
 * one upload in flight at a time; when the packet asks for an answer (Flag A bit) it waits for the 9014 with the same
 * QN, re-sending after `ackTimeoutMs` (HJ 212 default 10 s) up to `retries` times (default 3), then gives up on it.
 * A 9011 reply with QnRtn ≠ 1 (e.g. 3 wrong PW, 4 unknown MN, 9 bad CRC) is a rejection and is not retried.
 * The connection is re-opened with exponential backoff (1 s → 30 s, with jitter; reset by an acknowledgement or a
 * connection that lasted 10 s, so a gateway that keeps hanging up is not hammered); packets wait in a bounded queue
 * (the oldest is dropped when it is full, as a DAQ's memory would overflow). An HJ 212-2025 heartbeat (9015) is
 * answered 9013, which settles it as a data packet's 9014 does. Frames from the platform are decoded with
 * `decodeOptions()` (an HJ 212-2025 device's SM4 keys: a key push, CN 1014, arrives encrypted).
 */
export type SendResult = 'acked' | 'rejected' | 'sent' | 'failed' | 'dropped';
export interface SendOutcome {
  result: SendResult;
  /** for rejections: e.g. `QnRtn=9` */
  reason?: string;
}

export interface TcpLinkOptions {
  host: string;
  port: number;
  ackTimeoutMs?: number;
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  maxQueue?: number;
  /** a reply that answers no packet in flight (e.g. a 9011 to a 2005 packet without QN) */
  onUnmatchedReply?: (packet: Hj212Packet) => void;
  /** a request from the platform (a command): the frames to answer it with, written at once */
  onRequest?: (packet: Hj212Packet) => string[];
  /** how to decode the platform's frames (the device's SM4 keys, newest first) */
  decodeOptions?: () => DecodeOptions | undefined;
  onConnectionChange?: (connected: boolean, detail: string) => void;
  /** counts each re-sent packet */
  onRetry?: () => void;
}

interface Pending {
  frame: string | Buffer;
  qn: string | undefined;
  ack: boolean;
  attempts: number;
  resolve: (o: SendOutcome) => void;
}

export class TcpLink {
  private socket: net.Socket | undefined;
  private connected = false;
  private closed = false;
  private failures = 0;
  private connectedAt = 0;
  private readonly queue: Pending[] = [];
  private inflight: Pending | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stream = new FrameStream();
  private readonly o: Required<
    Omit<TcpLinkOptions, 'onUnmatchedReply' | 'onConnectionChange' | 'onRetry' | 'onRequest' | 'decodeOptions'>
  > &
    TcpLinkOptions;

  constructor(opts: TcpLinkOptions) {
    this.o = { ackTimeoutMs: 10_000, retries: 3, backoffBaseMs: 1000, backoffMaxMs: 30_000, maxQueue: 500, ...opts };
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** packets waiting, including the one in flight */
  get backlog(): number {
    return this.queue.length + (this.inflight ? 1 : 0);
  }

  start(): void {
    this.connect();
  }

  /** Queues one frame; resolves when it is acknowledged, rejected, written (no ack wanted), given up or dropped. */
  send(frame: string | Buffer, qn: string | undefined, ack: boolean): Promise<SendOutcome> {
    return new Promise((resolve) => {
      if (this.closed) return resolve({ result: 'dropped' });
      this.queue.push({ frame, qn, ack, attempts: 0, resolve });
      while (this.queue.length > this.o.maxQueue) this.queue.shift()?.resolve({ result: 'dropped' });
      this.pump();
    });
  }

  /** Waits up to `drainMs` for queued packets to go out, then closes; what is left resolves as dropped. */
  async close(drainMs = 0): Promise<void> {
    const until = Date.now() + drainMs;
    while (this.connected && this.backlog > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.ackTimer);
    this.inflight?.resolve({ result: 'dropped' });
    this.inflight = undefined;
    for (const p of this.queue.splice(0)) p.resolve({ result: 'dropped' });
    const s = this.socket;
    if (s && !s.destroyed) {
      await new Promise<void>((r) => {
        s.once('close', () => r());
        s.end();
        setTimeout(() => s.destroy(), 200).unref();
      });
    }
  }

  private connect(): void {
    if (this.closed) return;
    this.stream = new FrameStream();
    const s = net.connect({ host: this.o.host, port: this.o.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      this.connectedAt = Date.now();
      this.o.onConnectionChange?.(true, `connected to ${this.o.host}:${this.o.port}`);
      if (this.inflight) this.write(this.inflight);
      else this.pump();
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', () => {}); // 'close' follows
    s.on('close', () => {
      const was = this.connected;
      this.connected = false;
      clearTimeout(this.ackTimer);
      if (this.closed) return;
      // a gateway that hangs up soon after connecting (e.g. after repeated auth failures) gets a growing backoff
      if (was && Date.now() - this.connectedAt > 10_000) this.failures = 0;
      this.failures++;
      const delay = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.min(this.failures - 1, 10));
      const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
      if (was || this.failures === 1) this.o.onConnectionChange?.(false, `disconnected; retrying in ${jittered} ms`);
      this.reconnectTimer = setTimeout(() => this.connect(), jittered);
    });
  }

  private pump(): void {
    if (!this.connected || this.inflight || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inflight = next;
    this.write(next);
  }

  private write(p: Pending): void {
    if (!this.socket || !this.connected) return;
    if (p.attempts > 0) this.o.onRetry?.();
    p.attempts++;
    this.socket.write(p.frame);
    if (!p.ack) {
      this.finish({ result: 'sent' });
      return;
    }
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => this.onTimeout(p), this.o.ackTimeoutMs);
  }

  private onTimeout(p: Pending): void {
    if (this.inflight !== p) return;
    if (p.attempts > this.o.retries) this.finish({ result: 'failed', reason: `no 9014 after ${p.attempts} attempts` });
    else this.write(p);
  }

  private finish(outcome: SendOutcome): void {
    clearTimeout(this.ackTimer);
    const p = this.inflight;
    this.inflight = undefined;
    p?.resolve(outcome);
    this.pump();
  }

  private onData(chunk: Buffer): void {
    for (const item of this.stream.push(chunk)) {
      if (item.kind !== 'frame') continue;
      const r = decodeFrame(item.bytes, this.o.decodeOptions?.());
      if (!r.ok) continue;
      const reply = r.packet;
      if (!reply.cn.startsWith('90')) {
        // a command from the platform: answered on the spot, beside the upload in flight
        for (const answer of this.o.onRequest?.(reply) ?? []) this.socket?.write(answer);
        continue;
      }
      const p = this.inflight;
      const matches = p?.ack && (p.qn === undefined || reply.qn === p.qn);
      if (matches && (reply.cn === '9014' || reply.cn === '9013')) {
        this.failures = 0;
        this.finish({ result: 'acked' });
      } else if (matches && reply.cn === '9011' && reply.cp.params.QnRtn !== '1') {
        this.finish({ result: 'rejected', reason: `QnRtn=${reply.cp.params.QnRtn ?? '?'}` });
      } else this.o.onUnmatchedReply?.(reply);
    }
  }
}
