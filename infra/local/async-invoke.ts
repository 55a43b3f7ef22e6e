import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type AsyncInvokeSpec, type InvokeFn, LOCAL_REGION } from './spec.ts';

/**
 * Asynchronous invocation, as Lambda runs it for a function whose template says how (AWS::Lambda::EventInvokeConfig):
 * the call is accepted at once; a failing invocation is retried `maximumRetryAttempts` times (locally after
 * `retryDelayMs`, 2 × `retryDelayMs` …, where Lambda waits about one and two minutes); when the retries are exhausted
 * a failure record goes to the on-failure destination, an SQS queue:
 *   { version, timestamp, requestContext: { requestId, functionArn, condition: 'RetriesExhausted',
 *     approximateInvokeCount }, requestPayload, responseContext: { statusCode, executedVersion, functionError },
 *     responsePayload: { errorType, errorMessage } }
 * IoT rules invoke their Lambda actions this way in AWS, so the local IoT stand-in invokes through it: a function error
 * of the ingest function (which also evaluates the alarm rules) reaches its dead-letter queue as in the cloud (with the envelope, which
 * the redrive replays), not the rule's error action. Functions without such a configuration are invoked directly, as
 * before (their errors still reach the rule's error action locally, where the team wants to see them).
 */
export interface AsyncInvoker {
  invoke: InvokeFn;
  /** settles the invocations in flight (at most `graceMs`) and releases the SQS client */
  close(): Promise<void>;
}

const bare = (arn: string) => arn.replace(/:(\$LATEST|\d+)$/, '');

/** `arn:aws:sqs:<region>:<account>:<name>` → the local queue URL (fauxqs keys queues by endpoint/account/name). */
function queueUrl(endpoint: string, arn: string): string {
  const [, , , , account, name] = arn.split(':');
  return `${endpoint.replace(/\/+$/, '')}/${account}/${name}`;
}

export function asyncInvoker(opts: {
  configs: readonly AsyncInvokeSpec[];
  invoke: InvokeFn;
  sqsEndpoint: string;
  retryDelayMs?: number;
  graceMs?: number;
  log?: (line: string) => void;
}): AsyncInvoker {
  const log = opts.log ?? (() => {});
  const byArn = new Map(opts.configs.map((c) => [bare(c.functionArn), c]));
  const pending = new Set<Promise<void>>();
  let sqs: SQSClient | undefined;
  const delay = opts.retryDelayMs ?? 100;

  const run = async (config: AsyncInvokeSpec, event: unknown) => {
    let last: unknown;
    const attempts = config.maximumRetryAttempts + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await opts.invoke(config.functionArn, event);
        return;
      } catch (err) {
        last = err;
        if (attempt < attempts) await new Promise((r) => setTimeout(r, delay * attempt));
      }
    }
    const error = last instanceof Error ? last : new Error(String(last));
    log(`lambda: ${config.functionArn} failed ${attempts} time(s) asynchronously: ${error.message}`);
    if (!config.onFailure) return;
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: randomUUID(),
        functionArn: `${bare(config.functionArn)}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: error.name, errorMessage: error.message },
    };
    sqs ??= new SQSClient({
      region: LOCAL_REGION,
      endpoint: opts.sqsEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl(opts.sqsEndpoint, config.onFailure),
          MessageBody: JSON.stringify(record),
        }),
      );
    } catch (err) {
      log(`lambda: the failure record of ${config.functionArn} could not be sent: ${String(err)}`);
    }
  };

  return {
    invoke: async (ref, event) => {
      const config = byArn.get(bare(ref));
      if (!config) return opts.invoke(ref, event);
      // a structured clone now, as Lambda serializes the event when it accepts it
      const work = run(config, JSON.parse(JSON.stringify(event ?? null)));
      pending.add(work);
      void work.finally(() => pending.delete(work));
      return undefined;
    },
    async close() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...pending]),
        new Promise<void>((r) => {
          timer = setTimeout(r, opts.graceMs ?? 5_000);
        }),
      ]);
      clearTimeout(timer);
      sqs?.destroy();
    },
  };
}
