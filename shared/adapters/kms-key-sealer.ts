import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DeviceKeyOpener } from '#shared/domain/ingest/ports.ts';
import type { DeviceRef } from '#shared/domain/readings/normalize.ts';
import { DEFAULT_KEY_SETTINGS, decryptionOrder, type KeySettings } from '#shared/domain/registry/device-keys.ts';
import type { KeySealer } from '#shared/domain/registry/key-lifecycle.ts';

/**
 * HJ 212-2025 device keys sealed by AWS KMS: Encrypt and Decrypt under the device-key KMS key, with the encryption
 * context {purpose, mn, keyVersion}, so a sealed key copied to another device or version does not open and every
 * opening shows in CloudTrail under its device. `new KMSClient({})` honours AWS_ENDPOINT_URL_KMS (the local facade).
 */
export class KmsKeySealer implements KeySealer {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async seal(mn: string, version: number, key: Uint8Array): Promise<string> {
    const out = await this.kms.send(
      new EncryptCommand({ KeyId: this.keyId, Plaintext: key, EncryptionContext: context(mn, version) }),
    );
    if (!out.CiphertextBlob) throw new Error('KMS returned no ciphertext');
    return Buffer.from(out.CiphertextBlob).toString('base64');
  }

  async open(mn: string, version: number, sealed: string): Promise<Uint8Array> {
    const out = await this.kms.send(
      new DecryptCommand({
        KeyId: this.keyId,
        CiphertextBlob: Buffer.from(sealed, 'base64'),
        EncryptionContext: context(mn, version),
      }),
    );
    if (!out.Plaintext) throw new Error('KMS returned no plaintext');
    return out.Plaintext;
  }
}

const context = (mn: string, version: number) => ({ purpose: 'hj212-sm4', mn, keyVersion: String(version) });

/**
 * Opens a device's keys in the order to try them (decryptionOrder), each sealed key opened once per `ttlSeconds` and
 * kept in memory only (the same key object each time, so its SM4 cipher is reused: hj212/sm4.ts). Never logged.
 */
export class CachingKeyOpener implements DeviceKeyOpener {
  private readonly opened = new Map<string, { key: Uint8Array; until: number }>();

  constructor(
    private readonly sealer: KeySealer,
    private readonly settings: KeySettings = DEFAULT_KEY_SETTINGS,
    private readonly ttlSeconds = 3600,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async open(device: Pick<DeviceRef, 'mn' | 'sm4'>): Promise<Uint8Array[]> {
    if (!device.sm4) return [];
    const t = this.now();
    const order = decryptionOrder(device.sm4, new Date(t), this.settings);
    return Promise.all(
      order.map(async (v) => {
        const hit = this.opened.get(v.sealed);
        if (hit && hit.until > t) return hit.key;
        const key = await this.sealer.open(device.mn, v.version, v.sealed);
        if (this.opened.size >= this.maxEntries) this.opened.clear();
        this.opened.set(v.sealed, { key, until: t + this.ttlSeconds * 1000 });
        return key;
      }),
    );
  }
}
