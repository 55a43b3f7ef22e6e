import { randomInt } from 'node:crypto';
import { hashSecret, verifySecret } from '#shared/domain/secrets.ts';

/**
 * Receipt codes (查询码): 16 digits handed to the reporter once, at submit, and never stored, logged or shown again.
 *   selector = the first 7 digits: stored in plain as the key of the receipt item (unique by a conditional put);
 *   verifier = the last 9 digits: only a slow salted scrypt hash of the whole code is stored.
 * A wrong code, an unknown selector and a locked selector all answer the same "not found"; an unknown selector is
 * checked against a dummy hash so it costs the same time. After MAX_FAILURES wrong codes for one selector within
 * LOCK_MS it is locked for LOCK_MS (the lock is recorded in the audit trail); that also locks the real reporter out
 * for that while, the price of bounding guesses (9 digits ⇒ 5 guesses/hour leaves ~1 in 2·10⁸ per hour).
 */
export const SELECTOR_DIGITS = 7;
export const RECEIPT_DIGITS = 16;
export const MAX_FAILURES = 5;
export const LOCK_MS = 60 * 60 * 1000;

/**
 * scrypt N=2^15, r=8 (32 MiB). Measured on the dev laptop (2 cores, other work running), 10 hashes each:
 * N=2^14 median 117 ms / max 144; N=2^15 median 191 / max 264; N=2^16 median 354 / max 509. 2^15 leaves room in the
 * 500 ms submit budget for KMS and the transaction, while an offline search of the 10⁹ verifiers of one leaked
 * selector costs ~5 CPU-years. End to end on the local platform (real-name tip, KMS facade, DynamoDB Local, 40
 * sequential submits): first 583 ms (cold), warm p50 184 ms, p95 260 ms, max 393 ms. Intake starts the hash first, so it
 * overlaps the KMS seal and the triage index queries: bench/tips.bench.ts (10,000 stored tips, 100 submits, a third
 * real-name) measured p50 179 ms / p95 207 ms on a quiet 2-core machine, p50 229–254 / p95 355–388 ms under load.
 */
export const RECEIPT_HASH_PARAMS = { N: 32768, r: 8, p: 1, keyLen: 32 };

export interface Receipt {
  code: string;
  selector: string;
}

export function generateReceipt(): Receipt {
  let code = String(randomInt(1, 10)); // no leading zero, so it survives spreadsheets and phone keypads
  while (code.length < RECEIPT_DIGITS) code += String(randomInt(0, 10));
  return { code, selector: code.slice(0, SELECTOR_DIGITS) };
}

/** Accepts spaces and dashes between digit groups; undefined when it cannot be a receipt. */
export function parseReceipt(raw: string | undefined): Receipt | undefined {
  if (raw === undefined) return undefined;
  const code = raw.replace(/[\s-]/g, '');
  if (!/^\d{16}$/.test(code)) return undefined;
  return { code, selector: code.slice(0, SELECTOR_DIGITS) };
}

/** `1234 5678 9012 3456`, as printed for the reporter. */
export const formatReceipt = (code: string): string => code.replace(/(\d{4})(?=\d)/g, '$1 ');

export const hashReceipt = (code: string): Promise<string> => hashSecret(code, RECEIPT_HASH_PARAMS);

let dummy: Promise<string> | undefined;
/** Verifies against the stored hash, or against a dummy one (same cost) when there is none. */
export async function verifyReceipt(code: string, stored: string | undefined): Promise<boolean> {
  if (stored === undefined) {
    dummy ??= hashReceipt('0000000000000000');
    await verifySecret(code, await dummy);
    return false;
  }
  return verifySecret(code, stored);
}

export interface ReceiptGuard {
  failures: number;
  /** ISO instant of the first counted failure */
  windowStart?: string;
  lockedUntil?: string;
}

export const isLocked = (g: ReceiptGuard, now: Date): boolean =>
  g.lockedUntil !== undefined && Date.parse(g.lockedUntil) > now.getTime();

/** The guard after one more wrong code; `locked` is true when this failure locks the selector. */
export function afterFailure(g: ReceiptGuard, now: Date): { guard: ReceiptGuard; locked: boolean } {
  const windowOpen = g.windowStart !== undefined && now.getTime() - Date.parse(g.windowStart) < LOCK_MS;
  const failures = windowOpen ? g.failures + 1 : 1;
  const windowStart = windowOpen && g.windowStart ? g.windowStart : now.toISOString();
  if (failures >= MAX_FAILURES) {
    return {
      guard: { failures: 0, lockedUntil: new Date(now.getTime() + LOCK_MS).toISOString() },
      locked: true,
    };
  }
  return { guard: { failures, windowStart }, locked: false };
}
