import { MAX_FRAME } from '#shared/domain/hj212/frame-stream.ts';

/**
 * The gateway's limits, with the reasons for their defaults. Every limit protects the other connections: a slow,
 * broken or hostile sender costs at most its own buffers and is disconnected, never the gateway.
 */
export interface GatewayLimits {
  /** longest frame FrameStream waits for; longer runs become garbage */
  maxFrameBytes: number;
  /** close a connection that sends nothing for this long (HJ 212 real-time intervals are ≤ 3600 s; DAQs reconnect) */
  idleTimeoutMs: number;
  /** close a connection whose started frame has not ended after this long (slow senders) */
  frameTimeoutMs: number;
  /** frames waiting to be processed on one connection: above this the socket is paused (TCP backpressure) */
  maxBufferedBytes: number;
  /** open connections; more are closed on accept and counted */
  maxConnections: number;
  /** publishes in flight across all connections; more wait, their connections' queues fill and pause */
  maxPendingPublishes: number;
  /** failed authentications after which a connection is closed (the device got its QnRtn each time) */
  maxAuthFailures: number;
  /** bad bytes (garbage, and rejected frames beyond the envelope budget) before the ratio check applies */
  garbageMinBytes: number;
  /** close a connection once bad bytes exceed this share of everything it sent */
  garbageMaxRatio: number;
  /** garbage kept per aggregated envelope (the rest is counted, not kept) */
  garbageEnvelopeBytes: number;
  /** an aggregated garbage envelope is published at most this long after its first byte */
  garbageFlushMs: number;
  /** rejected frames published one envelope each: a bucket of this many … */
  rejectBurst: number;
  /** … refilled at this rate per second; beyond it rejected frames join the garbage aggregate */
  rejectPerSecond: number;
  /** an incomplete split message is given up (and reported) after this long */
  splitTimeoutMs: number;
  /** (mn, pw) pairs verified per connection (a DAQ may speak for a few MNs) */
  maxVerifiedPerConnection: number;
  /** new loggers (CN 1001 without MN) one connection may report: more are dropped */
  maxLoggersPerConnection: number;
  /** a logger's report is written to the registry at most this often per connection (repeats answered, not written) */
  loggerReportIntervalMs: number;
  /** registry writes for logger reports per minute per gateway task (a bucket of this many, refilled per minute) */
  loggerReportsPerMinute: number;
  /** how often idle, slow-frame, garbage-flush and split-expiry checks run */
  sweepMs: number;
  /** on stop(): how long in-flight frames may take to be published and acknowledged */
  drainMs: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxFrameBytes: MAX_FRAME,
  idleTimeoutMs: 5 * 60_000,
  frameTimeoutMs: 60_000,
  maxBufferedBytes: 64 * 1024,
  maxConnections: 10_000,
  maxPendingPublishes: 1_000,
  maxAuthFailures: 3,
  garbageMinBytes: 16 * 1024,
  garbageMaxRatio: 0.5,
  garbageEnvelopeBytes: 16 * 1024,
  garbageFlushMs: 1_000,
  rejectBurst: 20,
  rejectPerSecond: 2,
  splitTimeoutMs: 60_000,
  maxVerifiedPerConnection: 8,
  maxLoggersPerConnection: 2,
  loggerReportIntervalMs: 10 * 60_000,
  loggerReportsPerMinute: 30,
  sweepMs: 1_000,
  drainMs: 10_000,
};
