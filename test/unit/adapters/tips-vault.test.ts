import { randomBytes } from 'node:crypto';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsDataKeys } from '#shared/adapters/kms-data-keys.ts';
import { DynamoTipStore } from '#shared/adapters/tips-store.ts';
import { hashSecret } from '#shared/domain/secrets.ts';
import type { EvidenceFinalizer } from '#shared/domain/tips/evidence-port.ts';
import { TipInput } from '#shared/domain/tips/model.ts';
import { TipService } from '#shared/domain/tips/use-cases.ts';
import { IdentityVault, type SealedIdentity } from '#shared/domain/tips/vault.ts';

expect.extend(allCustomMatcher);

const creds = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const db = DynamoDBDocumentClient.from(new DynamoDBClient(creds));
const kmsClient = new KMSClient(creds);
const ddb = mockClient(db);
const kms = mockClient(kmsClient);
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/identity';
const NOW = new Date('2025-03-02T08:00:00.000Z');
const TIP_ID = '01JNZ3Q8X7K2M4V6W8Y0A1B2C3';
const dataKey = randomBytes(32);
const encryptedKey = Buffer.from('encrypted-data-key');

const noEvidence: EvidenceFinalizer = { finalize: async () => [] };
const vault = new IdentityVault(new KmsDataKeys(kmsClient, KEY), () => NOW);
const store = new DynamoTipStore(db, { tips: 'tips', identities: 'identities', audit: 'audit' });
const service = new TipService({
  store,
  vault,
  evidence: noEvidence,
  now: () => NOW,
  newId: () => TIP_ID,
  hashReceipt: (code) => hashSecret(code, { N: 1024, r: 8, p: 1, keyLen: 32 }),
});
const identity = { name: '张三', phone: '13800001111', idNumber: '33112619800101001X' };
const tipInput = TipInput.parse({
  category: 'monitoring_fraud',
  description: '夜间拔掉采样管',
  location: { townshipId: 'songyuan', address: '工业园区' },
  observedAt: '2025-03-01T22:10:00+08:00',
  suspectedUnit: { kind: 'registered', enterpriseId: '91331126MA2BW0T89P' },
  reporter: { kind: 'real_name', identity },
  insider: true,
});

beforeEach(() => {
  ddb.reset();
  kms.reset();
  kms
    .on(GenerateDataKeyCommand)
    .resolves({ Plaintext: Buffer.from(dataKey), CiphertextBlob: encryptedKey, KeyId: KEY });
  kms.on(DecryptCommand).callsFake(async () => ({ Plaintext: Buffer.from(dataKey), KeyId: KEY }));
});

async function sealed(): Promise<SealedIdentity> {
  return vault.seal(TIP_ID, identity);
}

describe('identity vault over KMS', () => {
  it('asks KMS for an AES-256 data key under the identity key with the tip id as encryption context', async () => {
    const s = await sealed();
    expect(kms).toHaveReceivedCommandWith(GenerateDataKeyCommand, {
      KeyId: KEY,
      KeySpec: 'AES_256',
      EncryptionContext: { tipId: TIP_ID },
    });
    expect(s).toMatchObject({
      tipId: TIP_ID,
      algorithm: 'AES-256-GCM',
      encryptedDataKey: encryptedKey.toString('base64'),
    });
    expect(Buffer.from(s.iv, 'base64')).toHaveLength(12);
    expect(JSON.stringify(s)).not.toContain('13800001111');
    expect(await vault.open(s)).toEqual(identity);
    expect(kms).toHaveReceivedCommandWith(DecryptCommand, { KeyId: KEY, EncryptionContext: { tipId: TIP_ID } });
  });

  it('refuses a sealed identity moved to another tip or tampered with', async () => {
    const s = await sealed();
    await expect(vault.open({ ...s, tipId: '01JNZ3Q8X7K2M4V6W8Y0A1B2C9' })).rejects.toThrow();
    const bytes = Buffer.from(s.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await expect(vault.open({ ...s, ciphertext: bytes.toString('base64') })).rejects.toThrow();
  });
});

describe('DynamoTipStore with the vault', () => {
  it('submits tip, receipt, sealed identity and audit in one transaction, nothing identifying in the tips table', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const out = await service.submitTip(tipInput);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Put?.TableName)).toEqual(['tips', 'tips', 'identities', 'audit']);
    expect(items[0]?.Put?.Item).toMatchObject({
      pk: `tip#${TIP_ID}`,
      gsi1pk: 'status#received',
      gsi1sk: `${NOW.toISOString()}#${TIP_ID}`,
      gsi2pk: 'unit#91331126MA2BW0T89P',
      gsi3pk: 'dup#monitoring_fraud#songyuan',
      gsi3sk: `2025-03-01#${TIP_ID}`,
      tip: { reporterKind: 'real_name', insider: true, status: 'received' },
    });
    const code = out.receipt.replaceAll(' ', '');
    expect(items[1]?.Put?.Item).toMatchObject({
      pk: `receipt#${code.slice(0, 7)}`,
      tipId: TIP_ID,
      guard: { failures: 0 },
    });
    expect(items[2]?.Put?.Item).toMatchObject({
      pk: `identity#${TIP_ID}`,
      openCount: 0,
      sealed: { algorithm: 'AES-256-GCM' },
    });
    const plain = JSON.stringify(items);
    for (const secret of ['张三', '13800001111', '33112619800101001X', code, code.slice(7)])
      expect(plain).not.toContain(secret);
  });

  it('writes the audit entry, the reporter-visible access entry and the grant in one transaction before decrypting', async () => {
    const s = await sealed();
    kms.resetHistory();
    const order: string[] = [];
    ddb.on(GetCommand, { TableName: 'tips' }).resolves({
      Item: { kind: 'tip', version: 3, tip: { id: TIP_ID, reporterKind: 'real_name', status: 'verifying' } },
    });
    ddb.on(GetCommand, { TableName: 'identities' }).resolves({ Item: { sealed: s, openCount: 0 } });
    ddb.on(TransactWriteCommand).callsFake(async () => {
      order.push('transact');
      return {};
    });
    kms.on(DecryptCommand).callsFake(async () => {
      order.push('decrypt');
      return { Plaintext: Buffer.from(dataKey) };
    });
    const opened = await service.openIdentity(TIP_ID, '核实举报人身份以发放奖励', {
      sub: 'u-reward',
      name: '李四',
      roles: ['reward_post'],
    });
    expect(opened.identity).toEqual(identity);
    expect(order).toEqual(['transact', 'decrypt']);
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Put).toMatchObject({
      TableName: 'audit',
      Item: {
        pk: `tip/${TIP_ID}`,
        actor: 'u-reward',
        action: 'tip.identity_opened',
        detail: { reason: '核实举报人身份以发放奖励' },
      },
    });
    expect(items[1]?.Put).toMatchObject({
      TableName: 'tips',
      Item: {
        pk: `tip#${TIP_ID}`,
        sk: expect.stringMatching(/^entry#2025-03-02T08:00:00.000Z#/),
        entry: { type: 'identity_access', actor: '李四', role: 'reward_post', reason: '核实举报人身份以发放奖励' },
      },
    });
    expect(items[2]?.Update).toMatchObject({
      TableName: 'identities',
      Key: { pk: `identity#${TIP_ID}`, sk: '#' },
      ConditionExpression: 'attribute_exists(pk)',
    });
  });

  it('returns nothing and never calls Decrypt when the grant transaction fails', async () => {
    const s = await sealed();
    kms.resetHistory();
    ddb.on(GetCommand, { TableName: 'tips' }).resolves({
      Item: { kind: 'tip', version: 1, tip: { id: TIP_ID, reporterKind: 'real_name', status: 'received' } },
    });
    ddb.on(GetCommand, { TableName: 'identities' }).resolves({ Item: { sealed: s } });
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }],
      }),
    );
    await expect(
      service.openIdentity(TIP_ID, '核实举报人身份', { sub: 'u-reward', roles: ['reward_post'] }),
    ).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(kms).not.toHaveReceivedCommand(DecryptCommand);
  });
});
