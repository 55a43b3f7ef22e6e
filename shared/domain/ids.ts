import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
let lastRandom: number[] = [];

/** A monotonic ULID: 48-bit time + 80-bit randomness in Crockford base32, sortable by creation time. */
export function ulid(now: number = Date.now()): string {
  let random: number[];
  if (now === lastTime) {
    random = increment(lastRandom);
  } else {
    const bytes = randomBytes(16);
    random = Array.from({ length: 16 }, (_, i) => (bytes[i] ?? 0) % 32);
  }
  lastTime = now;
  lastRandom = random;
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  return time + random.map((d) => ALPHABET.charAt(d)).join('');
}

function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    const d = next[i] ?? 0;
    if (d < 31) {
      next[i] = d + 1;
      return next;
    }
    next[i] = 0;
  }
  throw new Error('ULID randomness overflow within one millisecond');
}

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
