/**
 * The CloudWatch metrics the code emits (EMF lines, shared/observability/metrics.ts): namespaces, names and dimension
 * sets in one place, for the emitters and for whatever alarms on them. A metric's identity is its namespace, name and
 * full set of dimensions: changing any of them here starts a new metric and leaves alarms on the old one silent.
 */

/** Ingest, one line per IoT message: dimensions `source` (mqtt-hj212, tcp-gateway …) and `outcome` (accepted or the reject reason). */
export const INGEST_METRICS = {
  namespace: 'EnvWatch/Ingest',
  dimensions: ['source', 'outcome'],
  /** messages (1 per line) */
  messages: 'Messages',
  /** readings written */
  readingsStored: 'ReadingsStored',
  /** readings already stored (a resend) */
  readingDuplicates: 'ReadingDuplicates',
} as const;

/**
 * The HJ 212 gateway, one line per flush (every minute): dimension `Service` = `hj212-gateway`. Counters since the
 * previous flush (unit Count) are named like `frames.accepted`, `rejected.bad-crc`, `auth.ok`, `publish.failed`,
 * `connections.refused` (gateway/connection.ts and server.ts), never after a device; gauges (unit None) are
 * `connections` and `publishesInFlight`.
 */
export const GATEWAY_METRICS = {
  namespace: 'EnvWatch/Gateway',
  dimension: 'Service',
  service: 'hj212-gateway',
  gauges: ['connections', 'publishesInFlight'],
} as const;

/** The HTTP API functions: dimension `service` (the function's folder name). */
export const API_METRICS = {
  namespace: 'EnvWatch/Api',
  dimension: 'service',
  /** a request answered 500 (the function itself succeeds, so Lambda's Errors metric does not count it) */
  serverErrors: 'ServerErrors',
} as const;
