/**
 * The shapes of an HJ 212-2025 device's key ring (rules and use-cases in device-keys.ts and key-lifecycle.ts), apart so
 * that the registry model, which the console also reads, takes no Node.js code with it.
 *
 * Versions, newest last:
 *   pending   pushed to the device (CN 1014) and not yet confirmed by its 9012 (or not delivered yet)
 *   current   the key the device encrypts with
 *   previous  replaced; still opens packets during the grace window after it was replaced, and the archive forever
 *   failed    a push the device refused (9012 ExeRtn ≠ 1) or a newer push replaced before confirmation
 */
export type KeyStatus = 'pending' | 'current' | 'previous' | 'failed';
export type KeySource = 'registration' | 'device-request' | 'scheduled' | 'admin';

export interface SealedKeyVersion {
  version: number;
  /** the 16 key bytes sealed by the KeySealer (KMS), base64; opened only to decrypt or encrypt a packet */
  sealed: string;
  status: KeyStatus;
  source: KeySource;
  createdAt: string;
  activatedAt?: string;
  /** when a newer key became current: the grace window runs from here */
  supersededAt?: string;
  /** QN of the CN 1014 push, which the device's 9012 echoes */
  pushQn?: string;
  pushedAt?: string;
  /** the same push sent again (the device asked for a key while this one was pending): when, last */
  resentAt?: string;
}

export interface DeviceKeyRing {
  /** the device encrypts CN 2000–2999, 1014 and 3020: the same commands in clear are refused (no downgrade) */
  encrypting: boolean;
  versions: SealedKeyVersion[];
  /** an administrator asked for a new key (records from before pushes went through the command path): pushed when next due */
  rotationRequestedAt?: string;
  rotationRequestedBy?: string;
}
