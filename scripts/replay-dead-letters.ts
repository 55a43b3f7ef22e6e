/**
 * Replays the device pipeline's dead letters (the ingest and alarm dead-letter queues):
 *   npm run replay-dead-letters -- [--queue <url>] [--max 100] [--dry-run] [--data-dir .envwatch]
 * Each message is sent back where it can be processed again (shared/domain/ingest/dead-letter.ts): an IoT rule error
 * record to the topic the device published to, a Lambda failure record (an envelope) to the alarm replay topic. A
 * message is deleted from its queue only after its publish succeeded; what cannot be parsed stays and is reported.
 * Locally it reads `<data-dir>/endpoints.json` (SQS and the IoT data plane of `npm start`) and, without --queue, takes
 * every queue whose name contains "DeadLetters"; in AWS pass --queue and have IOT_DATA_ENDPOINT set (the account's
 * `iot:Data-ATS` endpoint). Exit code 0 when everything was replayed, 1 when something was left, 2 on bad usage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { DeleteMessageCommand, ListQueuesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ALARM_REPLAY_TOPIC } from '#infra/constructs/alarm-engine.ts';
import { replayOf } from '#shared/domain/ingest/dead-letter.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      queue: { type: 'string', multiple: true },
      max: { type: 'string', default: '100' },
      'dry-run': { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: '.envwatch' },
    },
  });
  const max = Number(values.max);
  if (!Number.isInteger(max) || max < 1 || max > 10_000) {
    process.stderr.write('usage: npm run replay-dead-letters -- [--queue <url>] [--max 1-10000] [--dry-run]\n');
    return 2;
  }
  const endpointsFile = join(values['data-dir'] as string, 'endpoints.json');
  let sqs: SQSClient;
  let iot: IoTDataPlaneClient;
  if (existsSync(endpointsFile)) {
    const e = JSON.parse(readFileSync(endpointsFile, 'utf8')) as { sqs: string; iotData: string };
    const local = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    sqs = new SQSClient({ ...local, endpoint: e.sqs });
    iot = new IoTDataPlaneClient({ ...local, endpoint: e.iotData });
  } else {
    sqs = new SQSClient({});
    const endpoint = process.env.IOT_DATA_ENDPOINT;
    iot = new IoTDataPlaneClient(endpoint ? { endpoint: `https://${endpoint.replace(/^https:\/\//, '')}` } : {});
  }
  const queues =
    values.queue ?? ((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).filter((u) => /DeadLetters/i.test(u));
  if (queues.length === 0) {
    process.stderr.write('no dead-letter queue found: pass --queue <url>\n');
    return 2;
  }
  let replayed = 0;
  let left = 0;
  for (const queueUrl of queues) {
    let seen = 0;
    while (seen < max) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 60,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      for (const m of messages) {
        seen++;
        const r = replayOf(m.Body ?? '', ALARM_REPLAY_TOPIC);
        if (!r.ok) {
          left++;
          process.stdout.write(`${queueUrl}  kept ${m.MessageId}: ${r.reason}\n`);
          continue;
        }
        process.stdout.write(
          `${queueUrl}  ${values['dry-run'] ? 'would replay' : 'replay'} ${m.MessageId} → ${r.topic} (${r.from}${r.why ? `: ${r.why}` : ''})\n`,
        );
        if (values['dry-run']) continue;
        await iot.send(new PublishCommand({ topic: r.topic, qos: 1, payload: r.payload }));
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
        replayed++;
      }
    }
  }
  process.stdout.write(`replayed ${replayed}, left ${left}\n`);
  return left > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`replay-dead-letters: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
