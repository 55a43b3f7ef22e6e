import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DataKeyService } from '#shared/domain/tips/vault.ts';

/**
 * The vault's data keys from AWS KMS: GenerateDataKey (AES_256) and Decrypt under the identity key, always with the
 * caller's EncryptionContext. `new KMSClient({})` honours AWS_ENDPOINT_URL_KMS, so the local platform's KMS facade
 * serves the same calls.
 */
export class KmsDataKeys implements DataKeyService {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async generateDataKey(context: Record<string, string>) {
    const out = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS returned no data key');
    return { plaintext: out.Plaintext, encrypted: out.CiphertextBlob };
  }

  async decrypt(encrypted: Uint8Array, context: Record<string, string>) {
    const out = await this.kms.send(
      new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: encrypted, EncryptionContext: context }),
    );
    if (!out.Plaintext) throw new Error('KMS returned no plaintext');
    return out.Plaintext;
  }
}
