import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger as defaultLogger, type EnvWatchLogger } from './logger.ts';
import type { EmfMetrics } from './metrics.ts';

/**
 * The observability stack of a function without X-Ray: the invocation's ids on every log line (temporary keys cleared
 * after each event) and `metrics` flushed after the handler, even when it throws. The ingest function uses it alone
 * (one invocation per device message: docs/decisions.md, "No X-Ray on the per-message path"): this module does not
 * load the X-Ray SDK, whose async hooks cost every promise of every message. Traced functions: lambda.ts.
 */
export function untracedHandler<E, R>(
  handler: (event: E) => Promise<R>,
  opts: { logger?: EnvWatchLogger; metrics?: EmfMetrics } = {},
) {
  const stack = middy<E, R, Error, Context>(handler).use(
    injectLambdaContext(opts.logger ?? defaultLogger, { resetKeys: true }),
  );
  return opts.metrics ? stack.use(logMetrics(opts.metrics)) : stack;
}
