import * as z from 'zod';

/**
 * What reaches the ingest function, whichever way a device spoke. IoT topic rules (and the HJ 212 TCP gateway, through
 * Basic Ingest) deliver one envelope per received message, always with the exact bytes received (`raw`, base64) so the
 * sealed archive keeps the original as evidence.
 *
 *  - `tcp-gateway`: the gateway already framed, decoded and authenticated the packet (`accepted`, `reason`, `packet`).
 *  - `mqtt-hj212`: raw HJ 212 text published to `envwatch/devices/{mn}/hj212`; the function decodes it.
 *  - `mqtt-json`: JSON published to `envwatch/devices/{mn}/telemetry` (schema: `JsonTelemetry`).
 */
export const IngestSource = z.enum(['tcp-gateway', 'mqtt-hj212', 'mqtt-json']);
export type IngestSource = z.infer<typeof IngestSource>;

export const IngestEnvelope = z.object({
  source: IngestSource,
  /** MN from the topic (MQTT) or the packet (gateway) */
  mn: z.string().min(1).max(64),
  /** when the platform received it: ISO string or epoch ms (IoT `timestamp()`) */
  receivedAt: z.union([z.iso.datetime(), z.number().int().positive()]),
  /** the exact bytes received, base64 */
  raw: z.string().max(2_000_000),
  /** MQTT client id (`clientid()`), or the gateway's connection id */
  clientId: z.string().max(128).optional(),
  /**
   * gateway only: `split-message` carries the data segments of a split message's parts (one per line, PNO order),
   * reassembled after every part was published (and archived) as its own `frame`; readings come from it.
   */
  kind: z.enum(['frame', 'split-message']).default('frame'),
  /** gateway only: its verdict and, when accepted, the decoded packet (re-validated by the function) */
  accepted: z.boolean().optional(),
  reason: z.string().max(64).optional(),
  detail: z.string().max(500).optional(),
});
export type IngestEnvelope = z.infer<typeof IngestEnvelope>;

/** JSON telemetry from newer devices: one message, one DataTime, values per pollutant code. */
export const JsonTelemetry = z.object({
  /** data kind, as HJ 212 CN: 2011 real-time, 2051 minute, 2061 hourly, 2031 daily */
  cn: z.enum(['2011', '2051', '2061', '2031']),
  /** ISO 8601 with an offset, e.g. 2026-11-29T16:00:00+08:00 */
  dataTime: z.iso.datetime({ offset: true }),
  pw: z.string().max(32).optional(),
  values: z
    .record(
      z.string().regex(/^[a-z]\d{5}$|^[A-Z0-9]{2,3}$/, 'pollutant code, e.g. w01018'),
      z.object({
        rtd: z.number().optional(),
        avg: z.number().optional(),
        min: z.number().optional(),
        max: z.number().optional(),
        cou: z.number().optional(),
        /** flue gas: the converted (折算) concentrations, as HJ 212's -ZsRtd / -ZsAvg / -ZsMin / -ZsMax */
        zsRtd: z.number().optional(),
        zsAvg: z.number().optional(),
        zsMin: z.number().optional(),
        zsMax: z.number().optional(),
        flag: z
          .string()
          .regex(/^[A-Z]$/)
          .default('N'),
      }),
    )
    .refine((v) => Object.keys(v).length > 0, 'at least one pollutant'),
  /** treatment-facility and production equipment status, e.g. { "SB1": { "rs": 1 } } */
  facilities: z
    .record(
      z.string().regex(/^SB\w{1,8}$/),
      z.object({ rs: z.number().int().min(0).max(5).optional(), rt: z.number().min(0).max(24).optional() }),
    )
    .optional(),
});
export type JsonTelemetry = z.infer<typeof JsonTelemetry>;
