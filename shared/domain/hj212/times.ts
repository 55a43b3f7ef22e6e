/**
 * HJ 212 times: `YYYYMMDDhhmmss[zzz]` in Beijing time (UTC+8). Validity follows `Date.UTC` (a year 00–99 is
 * 1900–1999, as there), so a time is valid here exactly when the `Date` round trip keeps its day.
 */
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two digits at `b[i]`, or -1. */
function two(b: Uint8Array, i: number): number {
  const hi = (b[i] as number) - 48;
  const lo = (b[i + 1] as number) - 48;
  return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
}

/** The milliseconds of the last time read by timeKey (0 for a 14-digit time). */
export let timeMs = 0;

/**
 * The time in bytes `b[from, to)` as one integer of its 14 leading digits (exact: < 2^53), or -1 when it is not a
 * real time; the milliseconds of a 17-digit time go to `timeMs`.
 */
export function timeKey(b: Uint8Array, from: number, to: number): number {
  const len = to - from;
  if (len !== 14 && len !== 17) return -1;
  const c = two(b, from);
  const y = two(b, from + 2);
  const mo = two(b, from + 4);
  const d = two(b, from + 6);
  const h = two(b, from + 8);
  const mi = two(b, from + 10);
  const s = two(b, from + 12);
  if (c < 0 || y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
    return -1;
  let ms = 0;
  if (len === 17) {
    const m1 = (b[from + 14] as number) - 48;
    const m23 = two(b, from + 15);
    if (m1 < 0 || m1 > 9 || m23 < 0) return -1;
    ms = m1 * 100 + m23;
  }
  const year = c === 0 ? 1900 + y : c * 100 + y;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : (DAYS[mo - 1] as number))) return -1;
  timeMs = ms;
  return (c * 100 + y) * 1e10 + (mo * 1e8 + d * 1e6 + h * 1e4 + mi * 100 + s);
}

const isoByKey = new Map<number, string>();
let lastKey = -1;
let lastIso = '';

function isoOf(key: number, ms: number): string {
  if (ms === 0) {
    if (key === lastKey) return lastIso;
    const hit = isoByKey.get(key);
    if (hit !== undefined) {
      lastKey = key;
      lastIso = hit;
      return hit;
    }
  }
  const t = Date.UTC(
    Math.floor(key / 1e10),
    (Math.floor(key / 1e8) % 100) - 1,
    Math.floor(key / 1e6) % 100,
    (Math.floor(key / 1e4) % 100) - 8,
    Math.floor(key / 100) % 100,
    key % 100,
    ms,
  );
  const iso = new Date(t).toISOString();
  if (ms === 0) {
    if (isoByKey.size >= 4096) isoByKey.clear();
    isoByKey.set(key, iso);
  }
  return iso;
}

/** The time in bytes `b[from, to)` as an ISO instant, or undefined when it is not a real time. */
export function timeIso(b: Uint8Array, from: number, to: number): string | undefined {
  const key = timeKey(b, from, to);
  return key < 0 ? undefined : isoOf(key, timeMs);
}

/** `YYYYMMDDhhmmss[zzz]` in Beijing time → ISO instant, or undefined when it is not a real time. */
export function beijingToIso(text: string): string | undefined {
  if (text.length !== 14 && text.length !== 17) return undefined;
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) b[i] = Math.min(text.charCodeAt(i), 0xff);
  return timeIso(b, 0, b.length);
}

/** ISO instant → `YYYYMMDDhhmmss` (or with `ms`, 17 digits) in Beijing time. */
export function isoToBeijing(iso: string | Date, ms = false): string {
  const d = new Date(new Date(iso).getTime() + 8 * 3_600_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return ms ? base + p(d.getUTCMilliseconds(), 3) : base;
}
