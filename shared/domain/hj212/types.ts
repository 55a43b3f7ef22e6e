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
  /** suffixes with no fixed meaning, kept as sent (e.g. ValidNum, TotalNum) */
  extra?: Record<string, string>;
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
  cp: Cp;
  /** the data segment as received */
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
  | 'malformed-cp';

export type DecodeResult =
  | { ok: true; packet: Hj212Packet }
  | {
      ok: false;
      reason: RejectReason;
      detail: string;
      /** what could be read of the header, for the reply and the archive */
      header: Partial<Pick<Hj212Packet, 'qn' | 'st' | 'cn' | 'pw' | 'mn' | 'flag' | 'ack'>>;
    };
