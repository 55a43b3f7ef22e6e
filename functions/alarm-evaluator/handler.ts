import { IngestEvent } from '#shared/contracts/ingest.ts';
import { sha256Hex } from '#shared/domain/archive/record.ts';
import { decodeMessage, judgeMessage } from '#shared/domain/ingest/ingest.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';
import { alarmServicesFromEnv } from '#shared/wiring/alarm-engine.ts';

/**
 * The alarm evaluator: the same IoT rule envelopes as ingestion (it is the rules' second action) and replays from the
 * alarm replay topic. Each envelope is decoded once and judged exactly as ingestion judges it (decodeMessage and
 * judgeMessage: decode, MN, registered device); accepted readings go through the alarm engine; a transition is
 * committed with the engine state and notified at once.
 * Throwing sends the event to Lambda's retries and then to the alarms dead-letter queue (`npm run replay-dead-letters`).
 */
const services = alarmServicesFromEnv();

export const handler = observedHandler(async (event: unknown) => {
  const parsed = IngestEvent.safeParse(event);
  if (!parsed.success) {
    logger.error('alarm evaluator event is not an envelope', { issues: parsed.error.issues.slice(0, 5) });
    throw new Error('alarm evaluator event is not an IngestEnvelope');
  }
  const envelopes = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const outcomes = [];
  for (const envelope of envelopes) {
    const message = decodeMessage(envelope);
    const verdict = await judgeMessage(message, services.devices, services.keys);
    const readings = verdict.normalized?.readings ?? [];
    if (!verdict.accepted || !verdict.device || readings.length === 0) continue;
    const packet = { receivedAt: message.receivedAt, source: envelope.source, rawSha256: sha256Hex(message.raw) };
    const outcome = await services.evaluator.evaluate(verdict.device.mn, readings, packet);
    outcomes.push(outcome);
    if (outcome.transitions.length > 0 || outcome.deliveries.some((d) => d.failed)) {
      logger.info('alarm transitions', {
        mn: outcome.mn,
        transitions: outcome.transitions,
        attempts: outcome.attempts,
        deliveries: outcome.deliveries,
      });
    }
  }
  return outcomes;
});
