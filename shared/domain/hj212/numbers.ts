/**
 * Numbers as HJ 212 writes them (sign, digits with at most one point, an optional exponent; at most 24 characters),
 * read straight from the frame's bytes.
 *
 * Every result is bit-identical to `Number(text)` of the field: a field of at most 15 digits without an exponent is an
 * integer M < 10^15 < 2^53 and a power of ten 10^f with f ≤ 15, both exact doubles, so the single IEEE division M / 10^f
 * is the correctly rounded value of the decimal, which is what `Number` returns (Clinger's fast path). Anything longer,
 * or with an exponent, is cut out of the text once and handed to `Number`.
 */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Where the last scanNumber stopped: the first byte that is not part of the number. */
export let numberEnd = 0;

/**
 * Reads a number at `b[from…]`, stopping at the first byte that cannot continue it (or at `to`), and leaves that
 * position in `numberEnd`. `text` holds the same characters at `index - base` (for the slow path). NaN when what was
 * read is not an HJ 212 number or is not finite; the caller decides whether the field ended there.
 */
export function scanNumber(b: Uint8Array, from: number, to: number, text: string, base: number): number {
  let i = from;
  let c = i < to ? (b[i] as number) : -1;
  const negative = c === 45;
  if (negative || c === 43) c = ++i < to ? (b[i] as number) : -1;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < to; c = ++i < to ? (b[i] as number) : -1) {
    const d = c - 48;
    if (d >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 && fraction < 0) fraction = 0;
    else break;
  }
  if (c !== 101 && c !== 69) {
    numberEnd = i;
    if (digits === 0 || i - from > 24) return Number.NaN;
    if (digits > 15) return viaNumber(text, from - base, i - base);
    const exact = fraction > 0 ? mantissa / (POW10[fraction] as number) : mantissa;
    return negative ? -exact : exact;
  }
  // an exponent: e, an optional sign, at least one digit
  c = ++i < to ? (b[i] as number) : -1;
  if (c === 43 || c === 45) c = ++i < to ? (b[i] as number) : -1;
  const expStart = i;
  while (c >= 48 && c <= 57) c = ++i < to ? (b[i] as number) : -1;
  numberEnd = i;
  if (digits === 0 || i === expStart || i - from > 24) return Number.NaN;
  return viaNumber(text, from - base, i - base);
}

function viaNumber(text: string, from: number, to: number): number {
  const n = Number(text.slice(from, to));
  return Number.isFinite(n) ? n : Number.NaN;
}
