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

/** CRC over `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let reg = 0xffff;
  for (let i = start; i < end; i++) reg = TABLE[(reg >>> 8) ^ (bytes[i] as number)] as number;
  return reg;
}

/** The CRC as written in a frame: 4 upper-case hex characters, high byte first. */
export function crcHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return crc16(bytes, start, end).toString(16).toUpperCase().padStart(4, '0');
}
