import * as z from 'zod';
import { IngestEnvelope } from '#shared/domain/ingest/envelope.ts';

/**
 * What an IoT topic rule hands the ingest function: one envelope (the rule's SELECT output). The three rules
 * (infra/constructs/iot-ingest.ts) produce it as follows:
 *   gateway  (Basic Ingest)  SELECT *, 'tcp-gateway' AS source FROM 'envwatch/gateway/+'
 *   hj212                    SELECT encode(*, 'base64') AS raw, topic(3) AS mn, timestamp() AS receivedAt,
 *                                   clientid() AS clientId, 'mqtt-hj212' AS source FROM 'envwatch/devices/+/hj212'
 *   json                     the same with 'mqtt-json' FROM 'envwatch/devices/+/telemetry'
 * A list of envelopes is accepted too (replays from the dead-letter queue).
 */
export const IngestEvent = z.union([IngestEnvelope, z.array(IngestEnvelope).max(100)]);
export type IngestEvent = z.infer<typeof IngestEvent>;

export { IngestEnvelope };
