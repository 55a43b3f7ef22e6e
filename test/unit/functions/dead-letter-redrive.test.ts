import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../helpers/events.ts';

const sqs = mockClient(SQSClient);
const ddb = mockClient(DynamoDBDocumentClient);
let handle: (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
const handler = (event: unknown) => handle(event, lambdaContext);

const ENV = {
  INGEST_DEAD_LETTER_QUEUE_URL: 'https://sqs.cn-north-1.amazonaws.com.cn/1/ingest-dlq',
  ALARMS_DEAD_LETTER_QUEUE_URL: 'https://sqs.cn-north-1.amazonaws.com.cn/1/alarms-dlq',
  PARKED_QUEUE_URL: 'https://sqs.cn-north-1.amazonaws.com.cn/1/parked',
  REDRIVE_REPLAY_TOPICS: 'envwatch/devices/+/hj212,envwatch/replay/ingest,envwatch/replay/alarms',
  READINGS_TABLE: 'readings',
  REGISTRY_TABLE: 'registry',
  ALARMS_TABLE: 'alarms',
  EVIDENCE_BUCKET: 'evidence',
  AWS_REGION: 'cn-north-1',
};

beforeAll(async () => {
  for (const [k, v] of Object.entries(ENV)) vi.stubEnv(k, v);
  ({ handler: handle } = await import('#functions/dead-letter-redrive/handler.ts'));
});
afterAll(() => vi.unstubAllEnvs());
beforeEach(() => {
  sqs.reset();
  ddb.reset();
});

describe('dead-letter-redrive handler', () => {
  it('runs at the scheduled time: a queue backing off until later is skipped, an empty one is left alone', async () => {
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        alarms: [{ pk: 'redrive#state#ingest', sk: 'state', failures: 2, nextAttemptAt: '2026-03-02T08:20:00.000Z' }],
      },
    });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
    expect(await handler({ time: '2026-03-02T08:10:00Z' })).toMatchObject({
      ran: true,
      sources: [
        { source: 'ingest', status: 'backoff', nextAttemptAt: '2026-03-02T08:20:00.000Z' },
        { source: 'alarms', status: 'empty', depth: 0 },
      ],
    });
    expect(sqs.commandCalls(GetQueueAttributesCommand).map((c) => c.args[0].input.QueueUrl)).toEqual([
      ENV.ALARMS_DEAD_LETTER_QUEUE_URL,
    ]);
  });

  it('refuses an event that is not the schedule’s', async () => {
    await expect(handler({ time: 'yesterday' })).rejects.toThrow('redrive event must be');
    await expect(handler({ job: 'sweep' })).rejects.toThrow('redrive event must be');
  });

  it('fails its load on a set but invalid limit, naming the variable', async () => {
    const { redrivePolicy } = await import('#functions/dead-letter-redrive/wiring.ts');
    expect(redrivePolicy({ REDRIVE_CAP_PER_RUN: '25' }).capPerRun).toBe(25);
    expect(() => redrivePolicy({ REDRIVE_CAP_PER_RUN: 'many' })).toThrow(
      /REDRIVE_CAP_PER_RUN \(expected a whole number/,
    );
  });
});
