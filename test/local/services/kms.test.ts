import { statSync } from 'node:fs';
import { join } from 'node:path';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KmsService, startKms } from '#infra/local/services/kms.ts';
import type { KeySpec } from '#infra/local/spec.ts';
import { localClientConfig, tempDir } from '../helpers.ts';

const identity: KeySpec = {
  id: 'Data/IdentityKey',
  keyId: 'local-IdentityKey1234',
  arn: 'arn:aws:kms:us-east-1:000000000000:key/local-IdentityKey1234',
  description: 'reporter identity',
};
const data: KeySpec = {
  id: 'Data/DataKey',
  keyId: 'local-DataKey5678',
  arn: 'arn:aws:kms:us-east-1:000000000000:key/local-DataKey5678',
};

describe('kms', () => {
  const tmp = tempDir('kms');
  let service: KmsService | undefined;
  let kms: KMSClient;

  const start = async () => {
    service = await startKms({ port: 0, dataDir: tmp.dir, keys: [identity, data] });
    kms = new KMSClient(localClientConfig(service.endpoint));
  };

  beforeAll(start);

  afterAll(async () => {
    kms?.destroy();
    await service?.stop();
    tmp.cleanup();
  });

  const context = { tipId: '01J0000000000000000000000A', purpose: 'identity' };

  it('round-trips a data key through GenerateDataKey and Decrypt without naming the key', async () => {
    const made = await kms.send(
      new GenerateDataKeyCommand({ KeyId: identity.arn, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    expect(made.KeyId).toBe(identity.arn);
    expect(made.Plaintext?.length).toBe(32);
    const back = await kms.send(
      new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: { ...context } }),
    );
    expect(Buffer.from(back.Plaintext ?? []).equals(Buffer.from(made.Plaintext ?? []))).toBe(true);
    expect(back.KeyId).toBe(identity.arn);
  });

  it('encrypts with a key id and decrypts with NumberOfBytes-sized plaintext intact', async () => {
    const plaintext = Buffer.from('张三 13800000000', 'utf8');
    const enc = await kms.send(new EncryptCommand({ KeyId: data.keyId, Plaintext: plaintext }));
    const dec = await kms.send(new DecryptCommand({ KeyId: data.arn, CiphertextBlob: enc.CiphertextBlob }));
    expect(Buffer.from(dec.Plaintext ?? []).toString('utf8')).toBe('张三 13800000000');
    const sized = await kms.send(new GenerateDataKeyCommand({ KeyId: data.arn, NumberOfBytes: 64 }));
    expect(sized.Plaintext?.length).toBe(64);
  });

  it('refuses a wrong encryption context with InvalidCiphertextException', async () => {
    const made = await kms.send(
      new GenerateDataKeyCommand({ KeyId: identity.arn, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: { tipId: 'other' } })),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: made.CiphertextBlob }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
  });

  it('refuses Decrypt naming another key with IncorrectKeyException', async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: data.arn, Plaintext: Buffer.from('x') }));
    await expect(
      kms.send(new DecryptCommand({ KeyId: identity.arn, CiphertextBlob: enc.CiphertextBlob })),
    ).rejects.toMatchObject({ name: 'IncorrectKeyException' });
  });

  it('answers NotFoundException for an unknown key', async () => {
    await expect(
      kms.send(
        new GenerateDataKeyCommand({ KeyId: 'arn:aws:kms:us-east-1:000000000000:key/nope', KeySpec: 'AES_256' }),
      ),
    ).rejects.toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 400 } });
  });

  it('describes a key from the template', async () => {
    const described = await kms.send(new DescribeKeyCommand({ KeyId: identity.keyId }));
    expect(described.KeyMetadata).toMatchObject({
      KeyId: identity.keyId,
      Arn: identity.arn,
      Enabled: true,
      KeyState: 'Enabled',
      Description: 'reporter identity',
      KeySpec: 'SYMMETRIC_DEFAULT',
    });
    expect(described.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
  });

  it('keeps master keys (mode 600) across a restart, so old ciphertexts still decrypt', async () => {
    const made = await kms.send(
      new GenerateDataKeyCommand({ KeyId: identity.arn, KeySpec: 'AES_256', EncryptionContext: context }),
    );
    kms.destroy();
    await service?.stop();
    const file = join(tmp.dir, 'kms', `${identity.keyId}.key`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await start();
    const back = await kms.send(
      new DecryptCommand({ CiphertextBlob: made.CiphertextBlob, EncryptionContext: context }),
    );
    expect(Buffer.from(back.Plaintext ?? []).equals(Buffer.from(made.Plaintext ?? []))).toBe(true);
  });
});
