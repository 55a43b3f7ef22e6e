import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ReporterIdentity } from './model.ts';

/**
 * The reporter-identity vault: envelope encryption. Each tip's identity gets a fresh 256-bit data key from the
 * identity KMS key (GenerateDataKey, EncryptionContext {tipId}); the identity JSON is encrypted with AES-256-GCM
 * (node:crypto, 96-bit random IV, the tip id as additional authenticated data) and only the ciphertext, IV, tag and
 * the KMS-encrypted data key are kept. Opening needs kms:Decrypt on the identity key with the same tip id, so a sealed
 * identity copied to another tip does not open, and every opening shows in CloudTrail under that context.
 * The plaintext data key is zeroed after use (best effort: the SDK may hold its own copy until GC).
 */
export interface DataKeyService {
  generateDataKey(context: Record<string, string>): Promise<{ plaintext: Uint8Array; encrypted: Uint8Array }>;
  decrypt(encrypted: Uint8Array, context: Record<string, string>): Promise<Uint8Array>;
}

export interface SealedIdentity {
  tipId: string;
  algorithm: 'AES-256-GCM';
  /** base64: the data key encrypted under the identity KMS key */
  encryptedDataKey: string;
  iv: string;
  tag: string;
  ciphertext: string;
  sealedAt: string;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const context = (tipId: string) => ({ tipId });

export class IdentityVault {
  constructor(
    private readonly keys: DataKeyService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async seal(tipId: string, identity: ReporterIdentity): Promise<SealedIdentity> {
    const { plaintext, encrypted } = await this.keys.generateDataKey(context(tipId));
    const key = Buffer.from(plaintext);
    try {
      if (key.length !== 32) throw new Error('the identity data key must be 256 bits');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(tipId, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify(identity), 'utf8'), cipher.final()]);
      return {
        tipId,
        algorithm: 'AES-256-GCM',
        encryptedDataKey: b64(encrypted),
        iv: b64(iv),
        tag: b64(cipher.getAuthTag()),
        ciphertext: b64(ciphertext),
        sealedAt: this.now().toISOString(),
      };
    } finally {
      key.fill(0);
      plaintext.fill(0);
    }
  }

  /** Throws when the key service refuses or the ciphertext, IV, tag or tip id do not match. */
  async open(sealed: SealedIdentity): Promise<ReporterIdentity> {
    const plaintext = await this.keys.decrypt(Buffer.from(sealed.encryptedDataKey, 'base64'), context(sealed.tipId));
    const key = Buffer.from(plaintext);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAAD(Buffer.from(sealed.tipId, 'utf8'));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      const json = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
      return ReporterIdentity.parse(JSON.parse(json.toString('utf8')));
    } finally {
      key.fill(0);
      plaintext.fill(0);
    }
  }
}
