/**
 * HJ 212 CRC16 (HJ 212-2017 Appendix A; docs/domain.md §1.4). Per byte: `reg = (reg >> 8) ^ byte`, then eight shifts with
 * 0xA001, starting from 0xFFFF, no final XOR. Not CRC-16/MODBUS.
 *
 * Because the first step leaves only 8 significant bits, one byte's step is a table lookup: `reg = T[(reg >> 8) ^ b]`.
 * T is linear over GF(2) (T[x ^ y] = T[x] ^ T[y]), and so is H[x] = T[x] >> 8, so eight steps unroll into
 *   reg = T·H⁷[(reg >> 8) ^ b0] ^ T·H⁶[b1] ^ … ^ T·H[b6] ^ T[b7]
 * eight independent lookups in eight 256-entry tables (4 KiB, resident in L1) with one dependency per 8 bytes.
 */
const T = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let reg = i;
  for (let bit = 0; bit < 8; bit++) reg = reg & 1 ? (reg >>> 1) ^ 0xa001 : reg >>> 1;
  T[i] = reg;
}

/** S[k][x] = T(H^k(x)): the contribution of a byte that has k more bytes after it within an 8-byte block. */
const S: Uint16Array[] = [T];
for (let k = 1; k < 8; k++) {
  const prev = S[k - 1] as Uint16Array;
  const next = new Uint16Array(256);
  // H^k(x) = H(H^(k-1)(x)); T(H^k(x)) = T[prev[x] >> 8] since prev[x] = T(H^(k-1)(x)) and H = T >> 8
  for (let x = 0; x < 256; x++) next[x] = T[(prev[x] as number) >>> 8] as number;
  S.push(next);
}
const [S0, S1, S2, S3, S4, S5, S6, S7] = S as [
  Uint16Array,
  Uint16Array,
  Uint16Array,
  Uint16Array,
  Uint16Array,
  Uint16Array,
  Uint16Array,
  Uint16Array,
];

/** CRC over `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let reg = 0xffff;
  let i = start;
  for (const blocks = end - ((end - start) & 7); i < blocks; i += 8) {
    reg =
      (S7[(reg >>> 8) ^ (bytes[i] as number)] as number) ^
      (S6[bytes[i + 1] as number] as number) ^
      (S5[bytes[i + 2] as number] as number) ^
      (S4[bytes[i + 3] as number] as number) ^
      (S3[bytes[i + 4] as number] as number) ^
      (S2[bytes[i + 5] as number] as number) ^
      (S1[bytes[i + 6] as number] as number) ^
      (S0[bytes[i + 7] as number] as number);
  }
  for (; i < end; i++) reg = T[(reg >>> 8) ^ (bytes[i] as number)] as number;
  return reg;
}

/** The CRC as written in a frame: 4 upper-case hex characters, high byte first. */
export function crcHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return crc16(bytes, start, end).toString(16).toUpperCase().padStart(4, '0');
}
