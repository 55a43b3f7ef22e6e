import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeySealer } from '#shared/domain/registry/key-lifecycle.ts';

/**
 * A KeySealer in memory, sealing as KMS would: AES-256-GCM under a master key of its own, the MN and version as
 * additional data, so a sealed key copied to another device or version does not open. Counts the openings.
 */
export class MemoryKeySealer implements KeySealer {
  private readonly master = randomBytes(32);
  opened = 0;

  async seal(mn: string, version: number, key: Uint8Array): Promise<string> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.master, iv);
    c.setAAD(Buffer.from(`${mn}#${version}`));
    const body = Buffer.concat([c.update(key), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  async open(mn: string, version: number, sealed: string): Promise<Uint8Array> {
    this.opened++;
    const b = Buffer.from(sealed, 'base64');
    const d = createDecipheriv('aes-256-gcm', this.master, b.subarray(0, 12));
    d.setAAD(Buffer.from(`${mn}#${version}`));
    d.setAuthTag(b.subarray(12, 28));
    return Buffer.concat([d.update(b.subarray(28)), d.final()]);
  }
}
