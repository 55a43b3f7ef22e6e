import { type Cipher, createCipheriv, createDecipheriv, type Decipher, getCiphers } from 'node:crypto';

/**
 * SM4 (GB/T 32907) as HJ 212-2025 §6.4.2 and Appendix A.2 use it: a 16-byte key, ECB, no padding, over the CP data
 * area (the characters between `CP=&&` and the closing `&&`). The area is cut into 16-byte blocks; the blocks are
 * encrypted and a tail shorter than a block stays in clear. The CRC is computed over the plaintext, so a receiver
 * decrypts first and checks the CRC after (codec.ts).
 *
 * The cipher is Node's built-in `sm4-ecb` (OpenSSL 3 default provider). A Node built without it fails at the first use
 * with a clear error rather than at import, so 2017 devices keep working on it (docs/devices.md).
 */
export const SM4_BLOCK = 16;
export const SM4_KEY_BYTES = 16;

let available: boolean | undefined;
export function sm4Available(): boolean {
  available ??= getCiphers().includes('sm4-ecb');
  return available;
}

function check(key: Uint8Array): void {
  if (key.length !== SM4_KEY_BYTES) throw new RangeError(`an SM4 key is ${SM4_KEY_BYTES} bytes, not ${key.length}`);
  if (!sm4Available()) throw new Error('this Node.js has no sm4-ecb cipher (OpenSSL 3 with SM4 is required)');
}

/**
 * ECB has no state between blocks, so one cipher object per key serves every call through `update` on whole blocks
 * (never `final`): creating an OpenSSL context per packet would cost more than decrypting it. Held weakly by the key
 * object, so a key dropped by its owner takes its cipher with it.
 */
const encryptors = new WeakMap<Uint8Array, Cipher>();
const decryptors = new WeakMap<Uint8Array, Decipher>();

function cipherFor(encrypt: boolean, key: Uint8Array): Cipher | Decipher {
  const cache = encrypt ? encryptors : decryptors;
  let c = cache.get(key);
  if (c === undefined) {
    check(key);
    c = encrypt ? createCipheriv('sm4-ecb', key, null) : createDecipheriv('sm4-ecb', key, null);
    c.setAutoPadding(false);
    cache.set(key, c);
  }
  return c;
}

function run(encrypt: boolean, key: Uint8Array, data: Uint8Array): Buffer {
  check(key);
  const full = data.length - (data.length % SM4_BLOCK);
  const out = Buffer.allocUnsafe(data.length);
  if (full > 0) cipherFor(encrypt, key).update(data.subarray(0, full)).copy(out, 0);
  out.set(data.subarray(full), full);
  return out;
}

/** Encrypts the whole blocks of `data`; a tail shorter than 16 bytes is copied in clear. */
export const sm4EncryptBlocks = (key: Uint8Array, data: Uint8Array): Buffer => run(true, key, data);

/** Decrypts the whole blocks of `data`; a tail shorter than 16 bytes is copied as is. */
export const sm4DecryptBlocks = (key: Uint8Array, data: Uint8Array): Buffer => run(false, key, data);
