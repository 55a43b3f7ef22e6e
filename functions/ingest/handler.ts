import { IngestEvent } from '#shared/contracts/ingest.ts';
import type { IngestOutcome } from '#shared/domain/ingest/ingest.ts';
import { untracedHandler } from '#shared/observability/lambda-untraced.ts';
import { logger } from '#shared/observability/logger.ts';
import { INGEST_METRICS } from '#shared/observability/metric-names.ts';
import { EmfMetrics, MetricUnit } from '#shared/observability/metrics.ts';
import { ingestServiceFromEnv } from '#shared/wiring/ingest.ts';

/**
 * The ingest function, the one function every device message invokes: IoT rule event → IngestService (verdict, sealed
 * archive, readings, device state, answers to commands) and, on the same decoded message and verdict, the alarm engine
 * (alarm rules → lifecycle → notifications at once). The device lookup (registry snapshot, device keys) is the alarm
 * engine's, shared by both (shared/wiring/ingest.ts). Also invoked by the two replay rules (dead letters; replaying is
 * harmless). Throwing sends the event to Lambda's retries and then to the ingest dead-letter queue
 * (`npm run replay-dead-letters`). Untraced (no X-Ray on the per-message path: docs/decisions.md).
 */
const { service } = ingestServiceFromEnv();

/** EnvWatch/Ingest: messages by source and outcome, readings stored and duplicates, one EMF line per message. */
const metrics = new EmfMetrics({ namespace: INGEST_METRICS.namespace, dimensions: {} });

function count(o: IngestOutcome): void {
  metrics.addDimension('source', o.source);
  metrics.addDimension('outcome', o.accepted ? 'accepted' : (o.reason ?? 'rejected'));
  metrics.addMetric(INGEST_METRICS.messages, MetricUnit.Count, 1);
  metrics.addMetric(INGEST_METRICS.readingsStored, MetricUnit.Count, o.stored);
  metrics.addMetric(INGEST_METRICS.readingDuplicates, MetricUnit.Count, o.duplicates);
  metrics.publishStoredMetrics();
}

export const handler = untracedHandler(async (event: unknown): Promise<IngestOutcome[]> => {
  const parsed = IngestEvent.safeParse(event);
  if (!parsed.success) {
    // not an envelope at all: nothing to archive; fail so the invocation goes to the retry / dead-letter path
    logger.error('ingest event is not an envelope', { issues: parsed.error.issues.slice(0, 5) });
    throw new Error('ingest event is not an IngestEnvelope');
  }
  const envelopes = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const outcomes: IngestOutcome[] = [];
  for (const envelope of envelopes) {
    const outcome = await service.ingest(envelope);
    outcomes.push(outcome);
    const { detail: _d, warnings, alarms: evaluation, ...brief } = outcome;
    const fields = {
      ...brief,
      ...(outcome.detail ? { rejectDetail: outcome.detail } : {}),
      ...(warnings ? { warnings } : {}),
    };
    // an accepted message is counted by the metrics line; its own line only at debug (a line per message is the
    // largest log cost at scale: docs/cost.md); what is refused or odd is always written
    if (outcome.accepted && !warnings) logger.debug('message ingested', fields);
    else if (outcome.accepted) logger.info('message ingested with warnings', fields);
    else logger.warn('message rejected', fields);
    if (outcome.keyRequest === 'failed')
      logger.error('key request not answered', { mn: outcome.mn, error: outcome.keyRequestError });
    count(outcome);
    if (evaluation && (evaluation.transitions.length > 0 || evaluation.deliveries.some((d) => d.failed))) {
      logger.info('alarm transitions', {
        mn: evaluation.mn,
        transitions: evaluation.transitions,
        attempts: evaluation.attempts,
        deliveries: evaluation.deliveries,
      });
    }
  }
  return outcomes;
});
