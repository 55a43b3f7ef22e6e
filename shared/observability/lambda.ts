import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { untracedHandler } from './lambda-untraced.ts';
import type { EnvWatchLogger } from './logger.ts';
import type { EmfMetrics } from './metrics.ts';
import { tracer } from './tracer.ts';

/**
 * The observability stack of a function that is not an HTTP API (alarm jobs, case tasks, the archive sealer, key
 * rotation, dead-letter redrive): lambda-untraced.ts's (the invocation's ids on every log line, `metrics` flushed after
 * the handler, even when it throws) plus an X-Ray segment for the handler (responses never captured).
 * HTTP API functions get the same from shared/http/api-handler.ts; the ingest function is untraced.
 */
export function observedHandler<E, R>(
  handler: (event: E) => Promise<R>,
  opts: { logger?: EnvWatchLogger; metrics?: EmfMetrics } = {},
) {
  return untracedHandler(handler, opts).use(captureLambdaHandler(tracer, { captureResponse: false }));
}
