/** HJ 212 packets as EnvWatch understands them (HJ/T 212-2005, HJ 212-2017, HJ 212-2025 flag values). */
export type ProtocolVersion = '2005' | '2017' | '2025' | 'unknown';

/** Numeric suffixes (docs/domain.md §1.9). */
export const VALUE_SUFFIXES = ['Rtd', 'Avg', 'Min', 'Max', 'Cou', 'ZsRtd', 'ZsAvg', 'ZsMin', 'ZsMax'] as const;
export type ValueSuffix = (typeof VALUE_SUFFIXES)[number];

export interface PollutantData {
  /** HJ 212-2017 code (2005 codes are mapped, e.g. `011` → `w01018`) */
  code: string;
  /** the code as the device sent it, when it differs */
  sentCode?: string;
  values: Partial<Record<ValueSuffix, number>>;
  /** data flag: N F M S D C T B (2017), P (2005) or a vendor letter */
  flag?: string;
  eflag?: string;
  /** ISO instant */
  sampleTime?: string;
  sn?: string;
  /** suffixes with no fixed meaning, kept as sent (e.g. ValidNum, TotalNum, and HJ 212-2025's RawAvg) */
  extra?: Record<string, string>;
  /**
   * converted (折算) values the device could not compute: HJ 212-2025 §8.1.1 d) sends +9999.99 for them; the codec
   * keeps no number for such a suffix and names it here
   */
  notComputable?: ValueSuffix[];
}

export interface FacilityData {
  /** SBx-RS: 0 off, 1 running, 2 calibrating, 3 maintenance, 4 alarm, 5 back-blow */
  rs?: number;
  /** SBx-RT: running hours in the day, 0–24 */
  rt?: number;
}

/**
 * The CP data area. Its records are keyed by names the device chose, so they are null records
 * (shared/domain/null-record.ts): no key, `__proto__` or `constructor` included, reaches Object.prototype. Codes are
 * HJ 212-shaped (codec fields.ts); a field given twice keeps its first value.
 */
export interface Cp {
  /** DataTime as an ISO instant (Beijing time in the packet, +08:00) */
  dataTime?: string;
  /** every other `name=value` without a pollutant suffix: QnRtn, ExeRtn, RtdInterval, BeginTime, PolId … */
  params: Record<string, string>;
  pollutants: Record<string, PollutantData>;
  facilities: Record<string, FacilityData>;
  /** i-codes `-Info` (text between `//` kept as is) */
  info: Record<string, string>;
}

export interface Hj212Packet {
  /** `YYYYMMDDhhmmsszzz`; absent in many 2005 packets */
  qn?: string;
  st: string;
  cn: string;
  pw?: string;
  mn: string;
  flag?: number;
  version: ProtocolVersion;
  /** Flag bit A: the sender wants a reply */
  ack: boolean;
  /** Flag bit D: one part of a split message */
  split: boolean;
  pnum?: number;
  pno?: number;
  /** HJ 212-2025 `RF=1`: a re-sent (补传) packet; absent (never `RF=0`) on a packet sent when its data was fresh */
  resent: boolean;
  /**
   * the CP arrived SM4-encrypted (HJ 212-2025 §6.4): in which wire form (`binary`: the ciphertext bytes themselves;
   * `text`: the `{0x..,0x..}` form) and which of the keys given to the decoder opened it (0 = the first)
   */
  encryption?: { form: 'binary' | 'text'; key: number };
  cp: Cp;
  /** the data segment as received (for an encrypted CP: after decryption, the text the CRC covers) */
  segment: string;
  /** deviations from the standard that still had a clear meaning */
  warnings: string[];
}

export type RejectReason =
  | 'bad-frame'
  | 'oversize'
  | 'length-mismatch'
  | 'bad-crc'
  | 'missing-mn'
  | 'missing-field'
  | 'bad-header'
  | 'malformed-cp'
  /** an encrypted CP (HJ 212-2025) and no key to open it */
  | 'no-key'
  /** an encrypted CP whose CRC fails after decryption with every key given (or whose ciphertext is malformed) */
  | 'decrypt-failed'
  /** a device that encrypts sent data (CN 2000–2999, 1014, 3020) in clear: no downgrade */
  | 'plaintext-refused';

/** What the decoder may use to open an SM4-encrypted CP (HJ 212-2025 §6.4). */
export interface DecodeOptions {
  /** the device's SM4 keys to try, in order: the current one first, then those still in their grace window */
  keys?: readonly Uint8Array[];
  /** the device is registered as encrypting: an encryptable command (CN 2000–2999, 1014, 3020) in clear is refused */
  requireEncryption?: boolean;
}

export type DecodeResult =
  | { ok: true; packet: Hj212Packet }
  | {
      ok: false;
      reason: RejectReason;
      detail: string;
      /** what could be read of the header, for the reply and the archive */
      header: Partial<Pick<Hj212Packet, 'qn' | 'st' | 'cn' | 'pw' | 'mn' | 'flag' | 'ack'>>;
    };
