import { RedriveEvent } from '#shared/contracts/redrive.ts';
import { observedHandler } from '#shared/observability/lambda.ts';
import { logger } from '#shared/observability/logger.ts';
import { redriveServiceFromEnv } from './wiring.ts';

/**
 * The dead-letter redrive (infra/constructs/dead-letter-redrive.ts): every 5 minutes, with the scheduled time, it
 * replays what the ingest and alarms dead-letter queues hold once their dependencies answer, backs off while they do
 * not, and parks what cannot be replayed (shared/domain/redrive/use-cases.ts). One log line per queue.
 */
const service = redriveServiceFromEnv();

export const handler = observedHandler(async (event: unknown) => {
  const parsed = RedriveEvent.safeParse(event ?? {});
  if (!parsed.success) {
    logger.error('redrive event is not { time? }', { issues: parsed.error.issues.slice(0, 3) });
    throw new Error('redrive event must be { "time"?: ISO 8601 instant }');
  }
  const outcome = await service.run(parsed.data.time ? new Date(parsed.data.time) : new Date());
  if (!outcome.ran) logger.warn('redrive skipped', { reason: outcome.reason });
  else {
    for (const s of outcome.sources) {
      (s.status === 'unhealthy' || s.status === 'interrupted' ? logger.warn : logger.info)('redrive done', { ...s });
    }
  }
  return outcome;
});
