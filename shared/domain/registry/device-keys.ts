import { randomBytes } from 'node:crypto';
import type { DeviceKeyRing, KeySource, SealedKeyVersion } from './device-key-types.ts';
import { keyProblem } from './key-rules.ts';

/**
 * HJ 212-2025 device keys (§6.4.3; docs/devices.md §2.2): each encrypting device has a ring of SM4 keys, every one
 * kept sealed under a KMS key (never in plain fields, never logged), as long as the archive it opens. A key is 16
 * characters whose ASCII bytes are the SM4 key (CN 1014 carries it as `NewSK`). The ring's shapes and the meaning of
 * each version's status are in device-key-types.ts. Pure rules here; key-lifecycle.ts has the use-cases.
 */
export type { DeviceKeyRing, KeySource, KeyStatus, SealedKeyVersion } from './device-key-types.ts';
export { keyProblem } from './key-rules.ts';

export interface KeySettings {
  /** a current key older than this is replaced (HJ 212-2025 §6.4.3: every 90 days) */
  rotationDays: number;
  /** the replaced key still opens packets this long (devices in flight, a late switch) */
  graceHours: number;
  /** a push not confirmed after this long is sent again */
  pushRetryMinutes: number;
  /** a device's own key request (CN 1014) makes a new key at most this often … */
  requestIntervalMinutes: number;
  /** … and at most this many in 24 hours (every key is kept as long as the archive: a looping device fills its ring) */
  requestsPerDay: number;
  /** a pending push is sent again on the device's request at most this often */
  resendSeconds: number;
}

export const DEFAULT_KEY_SETTINGS: KeySettings = {
  rotationDays: 90,
  graceHours: 72,
  pushRetryMinutes: 10,
  requestIntervalMinutes: 60,
  requestsPerDay: 4,
  resendSeconds: 60,
};

const DAY = 86_400_000;
/** what the platform generates from: letters and digits */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A fresh key: 16 letters and digits from the system's CSPRNG (no modulo bias), never a patterned one. */
export function generateKeyText(random: (n: number) => Uint8Array = randomBytes): string {
  for (;;) {
    let out = '';
    while (out.length < 16) {
      for (const b of random(32)) {
        if (b < 248 && out.length < 16) out += ALPHABET[b % 62];
      }
    }
    if (keyProblem(out) === undefined) return out;
  }
}

export const keyBytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** The newest version of the ring in this state. */
function newest(ring: DeviceKeyRing | undefined, status: SealedKeyVersion['status']): SealedKeyVersion | undefined {
  const versions = ring?.versions ?? [];
  for (let i = versions.length - 1; i >= 0; i--) if (versions[i]?.status === status) return versions[i];
  return undefined;
}

export const currentOf = (ring: DeviceKeyRing | undefined): SealedKeyVersion | undefined => newest(ring, 'current');
export const pendingOf = (ring: DeviceKeyRing | undefined): SealedKeyVersion | undefined => newest(ring, 'pending');

/**
 * The keys that open a packet now, in the order to try them: the current key, a pushed key not yet confirmed (the
 * device may switch before its 9012 arrives), then replaced keys within their grace window, newest first.
 */
export function decryptionOrder(ring: DeviceKeyRing, now: Date, settings: KeySettings): SealedKeyVersion[] {
  const out: SealedKeyVersion[] = [];
  const current = currentOf(ring);
  if (current) out.push(current);
  const pending = pendingOf(ring);
  if (pending) out.push(pending);
  const graceMs = settings.graceHours * 3_600_000;
  for (const v of [...ring.versions].reverse()) {
    if (v.status === 'previous' && v.supersededAt && Date.parse(v.supersededAt) + graceMs > now.getTime()) out.push(v);
  }
  return out;
}

/**
 * Why a new key should be pushed now, or undefined: an administrator asked, the current key is older than the rotation
 * period, or a push went unconfirmed for longer than the retry interval.
 */
export function pushDue(ring: DeviceKeyRing | undefined, now: Date, settings: KeySettings): KeySource | undefined {
  const current = currentOf(ring);
  if (!ring?.encrypting || !current) return undefined;
  const pending = pendingOf(ring);
  if (pending) {
    const since = Date.parse(pending.pushedAt ?? pending.createdAt);
    return now.getTime() - since >= settings.pushRetryMinutes * 60_000 ? pending.source : undefined;
  }
  if (ring.rotationRequestedAt) return 'admin';
  const since = Date.parse(current.activatedAt ?? current.createdAt);
  return now.getTime() - since >= settings.rotationDays * DAY ? 'scheduled' : undefined;
}

/** What the platform does with a device's own key request (CN 1014 without NewSK): keyRequestAnswer. */
export type KeyRequestAnswer =
  | { kind: 'new' }
  | { kind: 'resend'; pending: SealedKeyVersion }
  | { kind: 'none'; why: 'not-encrypting' | 'resent-recently' | 'too-soon' | 'daily-limit' };

/**
 * A device's own key request, judged on its ring (the record, so the limits hold across gateway tasks and ingest
 * invocations): a push still pending is sent again (at most once per `resendSeconds`), never replaced by a new key;
 * otherwise a new key, unless the device's requests made one less than `requestIntervalMinutes` ago or
 * `requestsPerDay` in the last 24 hours. A device cannot make the platform mint keys in a loop.
 */
export function keyRequestAnswer(ring: DeviceKeyRing | undefined, now: Date, settings: KeySettings): KeyRequestAnswer {
  if (!ring?.encrypting || !currentOf(ring)) return { kind: 'none', why: 'not-encrypting' };
  const t = now.getTime();
  const pending = pendingOf(ring);
  if (pending) {
    const last = Date.parse(pending.resentAt ?? pending.pushedAt ?? pending.createdAt);
    return t - last >= settings.resendSeconds * 1000
      ? { kind: 'resend', pending }
      : { kind: 'none', why: 'resent-recently' };
  }
  const requested = ring.versions
    .filter((v) => v.source === 'device-request')
    .map((v) => Date.parse(v.createdAt))
    .filter((at) => t - at < DAY);
  if (requested.some((at) => t - at < settings.requestIntervalMinutes * 60_000))
    return { kind: 'none', why: 'too-soon' };
  if (requested.length >= settings.requestsPerDay) return { kind: 'none', why: 'daily-limit' };
  return { kind: 'new' };
}

/** When the current key is due for rotation (ISO), for the device's page. */
export function nextRotationAt(ring: DeviceKeyRing | undefined, settings: KeySettings): string | undefined {
  const current = currentOf(ring);
  if (!current) return undefined;
  return new Date(Date.parse(current.activatedAt ?? current.createdAt) + settings.rotationDays * DAY).toISOString();
}

/** The ring without sealed material, for an API answer. */
export function ringView(ring: DeviceKeyRing | undefined, settings: KeySettings) {
  if (!ring) return undefined;
  const rotation = nextRotationAt(ring, settings);
  return {
    encrypting: ring.encrypting,
    ...(rotation ? { nextRotationAt: rotation } : {}),
    ...(ring.rotationRequestedAt ? { rotationRequestedAt: ring.rotationRequestedAt } : {}),
    versions: ring.versions.map(({ sealed: _sealed, ...v }) => v),
  };
}
