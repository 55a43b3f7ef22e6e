import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { asyncInvoker } from '#infra/local/async-invoke.ts';

expect.extend(allCustomMatcher);

const sqs = mockClient(SQSClient);
const FN = 'arn:aws:lambda:us-east-1:000000000000:function:EnvWatch-dev-Ingest-IngestFunction';
const DLQ = 'arn:aws:sqs:us-east-1:000000000000:EnvWatch-dev-Ingest-IngestDeadLetters';
const ENDPOINT = 'http://127.0.0.1:4513';

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
});

/** An invoke that fails the first `failures` calls of each function, recording every call. */
function flaky(failures: number) {
  const calls: { ref: string; event: unknown }[] = [];
  return {
    calls,
    invoke: async (ref: string, event: unknown) => {
      calls.push({ ref, event });
      if (calls.filter((c) => c.ref === ref).length <= failures) throw new Error('NoSuchBucket: gone');
      return { ok: true };
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('asyncInvoker', () => {
  it('invokes a function without an EventInvokeConfig directly, errors included', async () => {
    const f = flaky(1);
    const a = asyncInvoker({ configs: [], invoke: f.invoke, sqsEndpoint: ENDPOINT, retryDelayMs: 1 });
    await expect(a.invoke(FN, { x: 1 })).rejects.toThrow('NoSuchBucket');
    await a.close();
  });

  it('accepts at once and retries a configured function until it succeeds, sending nothing', async () => {
    const f = flaky(2);
    const a = asyncInvoker({
      configs: [{ functionArn: FN, maximumRetryAttempts: 2, onFailure: DLQ }],
      invoke: f.invoke,
      sqsEndpoint: ENDPOINT,
      retryDelayMs: 1,
    });
    expect(await a.invoke(`${FN}:$LATEST`, { x: 1 })).toBeUndefined();
    await a.close();
    expect(f.calls).toHaveLength(3);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('sends a Lambda failure record with the event to the on-failure queue when the retries are exhausted', async () => {
    const f = flaky(99);
    const a = asyncInvoker({
      configs: [{ functionArn: FN, maximumRetryAttempts: 2, onFailure: DLQ }],
      invoke: f.invoke,
      sqsEndpoint: ENDPOINT,
      retryDelayMs: 1,
    });
    await a.invoke(FN, { mn: 'M1', receivedAt: 1 });
    await settle();
    await a.close();
    expect(f.calls).toHaveLength(3);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: `${ENDPOINT}/000000000000/EnvWatch-dev-Ingest-IngestDeadLetters`,
    });
    const body = JSON.parse(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? '{}');
    expect(body).toMatchObject({
      version: '1.0',
      requestContext: { functionArn: `${FN}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { mn: 'M1', receivedAt: 1 },
      responseContext: { functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'NoSuchBucket: gone' },
    });
  });
});
