import { describe, expect, it } from 'vitest';
import { observedHandler } from '#shared/observability/lambda.ts';
import { createLogger } from '#shared/observability/logger.ts';
import { EmfMetrics, MetricUnit } from '#shared/observability/metrics.ts';
import { lambdaContext } from '../helpers/events.ts';

describe('observedHandler', () => {
  it('logs with the invocation id, clears appended keys after each event and flushes the metrics', async () => {
    const lines: string[] = [];
    const emf: string[] = [];
    const logger = createLogger('jobs', 'info', (l) => lines.push(l));
    const metrics = new EmfMetrics({ namespace: 'EnvWatch/Test', service: 'jobs', write: (l) => emf.push(l) });
    const handler = observedHandler(
      async (event: { n: number }) => {
        if (event.n === 1) logger.append({ caseId: 'c-1' });
        logger.info('event handled', { n: event.n });
        metrics.addMetric('Handled', MetricUnit.Count, 1);
        return { done: event.n };
      },
      { logger, metrics },
    );

    expect(await handler({ n: 1 }, lambdaContext)).toEqual({ done: 1 });
    await handler({ n: 2 }, { ...lambdaContext, awsRequestId: 'second' });

    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ message: 'event handled', function_request_id: 'test-request', caseId: 'c-1' });
    expect(second).toMatchObject({ function_request_id: 'second', n: 2 });
    expect(second?.caseId).toBeUndefined();
    expect(emf.map((l) => JSON.parse(l).Handled)).toEqual([1, 1]);
  });

  it('rethrows the handler error unchanged (Step Functions retries by its name)', async () => {
    const handler = observedHandler(
      async () => {
        throw Object.assign(new Error('store unavailable'), { name: 'CaseTasksRetryable' });
      },
      { logger: createLogger('case-tasks', 'error', () => {}) },
    );

    await expect(handler({}, lambdaContext)).rejects.toMatchObject({
      name: 'CaseTasksRetryable',
      message: 'store unavailable',
    });
  });
});
