/**
 * The real type of a file from its first bytes (magic numbers), so a declared type cannot smuggle anything else in.
 * JPEG `FF D8 FF`, PNG `89 50 4E 47 0D 0A 1A 0A`, ISO base media (MP4/MOV) `ftyp` at offset 4.
 * MP4 and QuickTime share the `ftyp` box and phones label either way, so both declared video types accept either.
 */
import type { UploadContentType } from './model.ts';

/** Bytes needed to sniff. */
export const SNIFF_BYTES = 16;

export type SniffedType = 'image/jpeg' | 'image/png' | 'video/iso-bmff';

export function sniffContentType(head: Uint8Array): SniffedType | undefined {
  const at = (i: number) => head[i] ?? -1;
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'image/jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.every((b, i) => at(i) === b)) return 'image/png';
  if (at(4) === 0x66 && at(5) === 0x74 && at(6) === 0x79 && at(7) === 0x70) return 'video/iso-bmff';
  return undefined;
}

/** True when the bytes are what the declared type says. */
export function matchesDeclaredType(declared: UploadContentType, head: Uint8Array): boolean {
  const sniffed = sniffContentType(head);
  if (declared === 'video/mp4' || declared === 'video/quicktime') return sniffed === 'video/iso-bmff';
  return sniffed === declared;
}
