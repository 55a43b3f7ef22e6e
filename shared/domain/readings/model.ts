/**
 * Normalized readings: one item per device, pollutant (or facility / info code), kind and DataTime, whichever way the
 * device spoke (HJ 212 over TCP or MQTT, JSON over MQTT). The alarm engine and the officials' API read these.
 */
export const READING_KINDS = ['realtime', 'minute', 'hour', 'day', 'check', 'furnace'] as const;
export type ReadingKind = (typeof READING_KINDS)[number];
/** The kinds of monitoring data proper (the data-gap job and the limits judge these). */
export const DATA_KINDS = ['realtime', 'minute', 'hour', 'day'] as const;

/**
 * HJ 212 CN → reading kind (docs/domain.md §1.6). 2021 (facility status) is real-time, 2041 (facility run time) daily.
 * HJ 212-2025 adds 2062 (automatic standard-sample check results, kind `check`: `sampleRd`, `standardValue`, `result`
 * 1 pass / 0 fail) and 2111 (furnace temperature 5-minute averages, kind `furnace`: `a01901-Avg`). 2013 (raw data)
 * gives no readings: it is kept in the sealed archive only (docs/devices.md §2.3).
 */
const KIND_BY_CN: Record<string, ReadingKind> = {
  '2011': 'realtime',
  '2021': 'realtime',
  '2051': 'minute',
  '2061': 'hour',
  '2031': 'day',
  '2041': 'day',
  '2062': 'check',
  '2111': 'furnace',
};

export const kindOfCn = (cn: string): ReadingKind | undefined => KIND_BY_CN[cn];

/**
 * Value keys: the HJ 212 suffixes in lower camel case (`rtd avg min max cou zsRtd zsAvg zsMin zsMax`), `rs`/`rt` for a
 * treatment facility (SBx-RS status, SBx-RT run hours), `info` for a numeric field-information code (i332xx current
 * and energy, I33400 production load), and for a standard-sample check (CN 2062) `sampleRd` (the instrument's reading of
 * the standard sample), `standardValue` (the sample's certified value) and `result` (ResultType: 1 pass, 0 fail).
 */
export type ValueKey =
  | 'rtd'
  | 'avg'
  | 'min'
  | 'max'
  | 'cou'
  | 'zsRtd'
  | 'zsAvg'
  | 'zsMin'
  | 'zsMax'
  | 'rs'
  | 'rt'
  | 'info'
  | 'sampleRd'
  | 'standardValue'
  | 'result';
export type ReadingValues = Partial<Record<ValueKey, number>>;

/**
 * What a reading measures: a pollutant, a treatment facility, a field-information quantity, an electricity meter of
 * HJ 212-2025's electricity monitoring (ST=44, `d2xxxx` production and `d3xxxx` treatment facilities) or a key
 * production condition (ST=45, `pxxxxx`). Electricity and condition readings keep their suffixes (`rtd`, `avg` …) and
 * flag like a pollutant's; docs/devices.md.
 */
export type ReadingSubject = 'pollutant' | 'facility' | 'info' | 'power' | 'condition';
export const READING_SUBJECTS = ['pollutant', 'facility', 'info', 'power', 'condition'] as const;

/** Electricity monitoring codes (HJ 212-2025, ST=44): `d2xxxx` production facilities, `d3xxxx` treatment facilities. */
export const POWER_CODE = /^d[23]\d{4}$/;
/** Key production condition codes (HJ 212-2025, ST=45), e.g. `p99101`. */
export const CONDITION_CODE = /^p\d{5}$/;

/** The subject of a code sent with value suffixes: electricity, a production condition, or a pollutant. */
export const valueSubject = (code: string): 'pollutant' | 'power' | 'condition' =>
  POWER_CODE.test(code) ? 'power' : CONDITION_CODE.test(code) ? 'condition' : 'pollutant';

export interface Reading {
  mn: string;
  enterpriseId: string;
  outletId: string;
  /**
   * HJ 212-2017 pollutant code (2005 codes mapped), `SBx` for a facility, `i33200` … for info codes, `d20105` … for
   * an electricity meter, `p99101` … for a production condition
   */
  pollutant: string;
  subject: ReadingSubject;
  kind: ReadingKind;
  /** DataTime as an ISO instant (UTC); for minute/hour/day data the start of the period */
  dataTime: string;
  values: ReadingValues;
  /** data flag (N F M S D C T B …); facilities and info carry none */
  flag?: string;
  eflag?: string;
  /** the code as the device sent it, when it was an old (2005) code */
  sentCode?: string;
  sampleTime?: string;
  /**
   * values the device could not compute: HJ 212-2025 §8.1.1 d) sends a converted (折算) value as +9999.99 when it
   * cannot be computed; such a value is absent from `values` and named here (shown as 不可计算), never a number and
   * never judged against a limit
   */
  notComputable?: ValueKey[];
  /** HJ 212-2025 `RF=1`: the packet was re-sent (补传); the alarm engine judges it retrospectively, never pages */
  resent?: boolean;
  /** how it arrived and when the platform received it (ISO) */
  source: string;
  receivedAt: string;
}

/**
 * The dedupe identity of a reading: device, pollutant, kind and DataTime. The same packet delivered twice (MQTT QoS 1
 * redelivery, a device retrying) yields the same identity and is stored once; the first stored wins, so a later packet
 * cannot silently replace a value that was already received (the sealed archive keeps both).
 */
export function readingIdentity(r: Pick<Reading, 'mn' | 'pollutant' | 'kind' | 'dataTime'>): {
  series: string;
  at: string;
} {
  return { series: seriesKey(r.mn, r.pollutant, r.kind), at: new Date(r.dataTime).toISOString() };
}

/**
 * The partition of one device's readings of one pollutant and kind in the first layout (one item per reading); read
 * only by the migration to the row layout (rowKey), docs/operations.md.
 */
export const seriesKey = (mn: string, pollutant: string, kind: ReadingKind): string => `r#${mn}#${pollutant}#${kind}`;

/**
 * The partition of one device's readings of one kind: one item per DataTime holds every code of that DataTime
 * (docs/architecture.md, readings layout).
 */
export const rowKey = (mn: string, kind: ReadingKind): string => `rd#${mn}#${kind}`;

/** The readings of one device, kind and DataTime (one item of the row layout). */
export interface ReadingRow {
  mn: string;
  kind: ReadingKind;
  /** ISO instant (UTC) */
  dataTime: string;
  readings: Reading[];
}

/**
 * Retention of raw-ish data: real-time and minute readings (and furnace 5-minute averages, kept like minute data)
 * expire; hourly, daily and standard-sample checks are kept.
 */
export interface RetentionPolicy {
  realtimeDays: number;
  minuteDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { realtimeDays: 30, minuteDays: 180 };

/** Epoch seconds when a reading expires (DynamoDB TTL), or undefined when it is kept. Counted from its DataTime. */
export function expiresAt(kind: ReadingKind, dataTime: string, policy: RetentionPolicy): number | undefined {
  const days =
    kind === 'realtime' ? policy.realtimeDays : kind === 'minute' || kind === 'furnace' ? policy.minuteDays : undefined;
  if (days === undefined) return undefined;
  return Math.floor(new Date(dataTime).getTime() / 1000) + days * 86_400;
}

/** The latest state of one device and kind, for the alarm engine and the API. */
export interface KindState {
  kind: ReadingKind;
  /** DataTime of the newest data of this kind */
  lastDataTime: string;
  /** when that data was received */
  lastReceivedAt: string;
  /** when data of this kind last arrived at all, older DataTimes included (a backfill keeps a device "heard") */
  lastArrivalAt?: string;
  values: Record<string, { values: ReadingValues; flag?: string; subject: ReadingSubject; notComputable?: ValueKey[] }>;
}
