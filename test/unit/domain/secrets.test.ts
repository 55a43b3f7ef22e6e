import { describe, expect, it } from 'vitest';
import { hashSecret, verifySecret } from '#shared/domain/secrets.ts';
import { FAST_SCRYPT } from '../helpers/secrets.ts';

describe('hashSecret', () => {
  it('writes scheme, parameters, salt and hash without the secret', async () => {
    const stored = await hashSecret('123456', FAST_SCRYPT);
    const parts = stored.split('$');
    expect(parts).toHaveLength(6);
    expect(parts.slice(0, 4)).toEqual(['scrypt', '1024', '8', '1']);
    expect(Buffer.from(parts[5] as string, 'base64')).toHaveLength(32);
    expect(stored).not.toContain('123456');
  });

  it('salts each hash differently when the secret is the same', async () => {
    const a = await hashSecret('123456', FAST_SCRYPT);
    const b = await hashSecret('123456', FAST_SCRYPT);
    expect(a).not.toBe(b);
  });
});

describe('verifySecret', () => {
  it('accepts the right secret', async () => {
    const stored = await hashSecret('s3cret-pw', FAST_SCRYPT);
    await expect(verifySecret('s3cret-pw', stored)).resolves.toBe(true);
  });

  it('rejects a wrong secret', async () => {
    const stored = await hashSecret('s3cret-pw', FAST_SCRYPT);
    await expect(verifySecret('s3cret-px', stored)).resolves.toBe(false);
    await expect(verifySecret('', stored)).resolves.toBe(false);
  });

  it('reads the parameters from the stored hash', async () => {
    const stored = await hashSecret('pw', { N: 2048, r: 4, p: 1, keyLen: 16 });
    await expect(verifySecret('pw', stored)).resolves.toBe(true);
  });

  it('rejects malformed stored values when the scheme or parts are wrong', async () => {
    await expect(verifySecret('pw', 'plain-text')).resolves.toBe(false);
    await expect(verifySecret('pw', 'bcrypt$1$2$3$c2FsdA==$aGFzaA==')).resolves.toBe(false);
    await expect(verifySecret('pw', 'scrypt$1024$8$1$c2FsdA==')).resolves.toBe(false);
  });
});
