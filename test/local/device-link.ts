import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import { FrameStream } from '#shared/domain/hj212/frame-stream.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { eventually, type LocalPlatform } from './helpers.ts';

/** A device's TCP connection to the platform's HJ 212 gateway, with every frame the gateway wrote back. */
export interface DeviceLink {
  /** the frames heard on the connection, in order */
  readonly frames: Buffer[];
  write(frame: Buffer | string): void;
  /** writes a frame and waits for `replies` frames more; every frame heard since the write */
  send(frame: Buffer | string, replies: number): Promise<Buffer[]>;
  /** waits for `count` frames more than were heard at the call; those frames decoded */
  next(count: number): Promise<Hj212Packet[]>;
}

const WAIT_MS = 15_000;

/**
 * A TCP connection to the gateway of the platform `usePlatform` boots, opened in the calling `describe`'s `beforeAll`
 * (register it after `usePlatform`) and closed in its `afterAll`.
 */
export function useDeviceLink(local: LocalPlatform): DeviceLink {
  const frames: Buffer[] = [];
  let socket: Socket | undefined;
  beforeAll(async () => {
    const url = new URL(local.platform.endpoints.hj212 as string);
    const s = connect({ host: url.hostname, port: Number(url.port) });
    s.on('error', () => {});
    const stream = new FrameStream();
    s.on('data', (chunk: Buffer) => {
      for (const item of stream.push(chunk)) if (item.kind === 'frame') frames.push(Buffer.from(item.bytes));
    });
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    socket = s;
  });
  afterAll(() => {
    socket?.destroy();
  });
  const write = (frame: Buffer | string) => {
    if (!socket) throw new Error('the device link is not open yet');
    socket.write(frame);
  };
  const heard = (count: number, what: string) =>
    eventually(async () => (frames.length >= count ? true : undefined), WAIT_MS, what);
  return {
    frames,
    write,
    send: async (frame, replies) => {
      const before = frames.length;
      write(frame);
      await heard(before + replies, 'replies');
      return frames.slice(before);
    },
    next: async (count) => {
      const before = frames.length;
      await heard(before + count, 'frames');
      return frames.slice(before, before + count).map((f) => packetOf(f));
    },
  };
}

/** The packet of a frame the gateway wrote (decrypted with `key` when given); throws when it does not decode. */
export function packetOf(frame: Buffer | undefined, key?: string): Hj212Packet {
  const r = decodeFrame(frame ?? Buffer.alloc(0), key ? { keys: [Buffer.from(key, 'latin1')] } : undefined);
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.packet;
}
