import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger as defaultLogger, type EnvWatchLogger } from './logger.ts';
import type { EmfMetrics } from './metrics.ts';
import { tracer } from './tracer.ts';

/**
 * The observability stack of a function that is not an HTTP API (ingest, alarm evaluator, alarm jobs, case tasks):
 * the invocation's ids on every log line (temporary keys cleared after each event), an X-Ray segment for the handler
 * (responses never captured), and `metrics` flushed after the handler, even when it throws.
 * HTTP API functions get the same from shared/http/api-handler.ts.
 */
export function observedHandler<E, R>(
  handler: (event: E) => Promise<R>,
  opts: { logger?: EnvWatchLogger; metrics?: EmfMetrics } = {},
) {
  const stack = middy<E, R, Error, Context>(handler)
    .use(injectLambdaContext(opts.logger ?? defaultLogger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer, { captureResponse: false }));
  return opts.metrics ? stack.use(logMetrics(opts.metrics)) : stack;
}
