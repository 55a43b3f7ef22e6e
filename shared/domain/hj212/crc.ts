/**
 * HJ 212 CRC16 (HJ 212-2017 Appendix A; domain.md §1.4). Per byte: `reg = (reg >> 8) ^ byte`, then eight shifts with
 * 0xA001, starting from 0xFFFF, no final XOR. Because the first step leaves only 8 significant bits, the eight shifts
 * depend on that byte alone: one 256-entry table does them. Not CRC-16/MODBUS.
 */
const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let reg = i;
  for (let bit = 0; bit < 8; bit++) reg = reg & 1 ? (reg >>> 1) ^ 0xa001 : reg >>> 1;
  TABLE[i] = reg;
}

/**
 * Two steps at once: after `x = (reg >> 8) ^ b0`, the register after the next byte depends only on x and b1,
 * so a 64 Ki-entry table (128 KiB) does two bytes per lookup.
 */
const TABLE2 = new Uint16Array(65536);
for (let x = 0; x < 256; x++) {
  const high = (TABLE[x] as number) >>> 8;
  for (let b = 0; b < 256; b++) TABLE2[(x << 8) | b] = TABLE[high ^ b] as number;
}

/** CRC over `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let reg = 0xffff;
  let i = start;
  for (const pairs = end - ((end - start) & 1); i < pairs; i += 2) {
    reg = TABLE2[(((reg >>> 8) ^ (bytes[i] as number)) << 8) | (bytes[i + 1] as number)] as number;
  }
  if (i < end) reg = TABLE[(reg >>> 8) ^ (bytes[i] as number)] as number;
  return reg;
}

/** The CRC as written in a frame: 4 upper-case hex characters, high byte first. */
export function crcHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return crc16(bytes, start, end).toString(16).toUpperCase().padStart(4, '0');
}
