/**
 * Dead letters by hand, for operators (the scheduled redrive does the same by itself; docs/operations.md「死信与重放」):
 *   npm run replay-dead-letters -- [--queue <url>]… [--source ingest|alarms] [--max 100] [--dry-run] [--stage dev]
 *   npm run replay-dead-letters -- --parked [--queue <parked url>] [--max 100] [--dry-run]
 *   npm run replay-dead-letters -- --parked --discard <message id>[,<message id>…]
 * Each message goes back where it can be processed again, read by the redrive's own code (shared/domain/redrive/
 * decide.ts describeLetters): an IoT rule error record to the topic the device published to, a Lambda failure record
 * (an envelope) to its source's replay topic (ingest → envwatch/replay/ingest, alarms → envwatch/replay/alarms). Only the
 * replay topics are published to. A message is deleted only after its publish succeeded; what cannot be replayed is
 * kept and printed with the reason. Unlike the schedule, the script neither probes nor counts: the operator decides.
 *
 * `--parked` reads the parked queue: each message is the dead letter as it arrived, with why it was parked (reason,
 * source, replays, parkedAt); `--dry-run` lists them, no flag replays them, `--discard` deletes the named ones.
 *
 * Locally it reads `<data-dir>/endpoints.json` (SQS and the IoT data plane of `npm start`) and, without --queue, takes
 * the queues whose names contain "DeadLetters" (or, with --parked, "RedriveParked"); the source of a dead-letter queue
 * comes from its name (IngestDeadLetters, AlarmsDeadLetters) unless --source says it. In AWS pass --queue and
 * --stage; the IoT data endpoint is the partition's default (`IOT_DATA_ENDPOINT` overrides it).
 * Exit code 0 when everything was replayed (or discarded), 1 when something was left, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ruleNames } from '#infra/constructs/iot-ingest.ts';
import { parkedAttributes, SqsDeadLetterQueue } from '#shared/adapters/dead-letter-queues.ts';
import { iotReplayPublisher } from '#shared/adapters/replay-publisher.ts';
import { ALARM_REPLAY_TOPIC, INGEST_REPLAY_TOPIC, replayTopicFilters } from '#shared/domain/ingest/dead-letter.ts';
import { describeLetters } from '#shared/domain/redrive/decide.ts';
import type { DeadLetter, SourceName } from '#shared/domain/redrive/model.ts';
import { clientConfig, localEndpoints } from './cli.ts';

const USAGE =
  'usage: npm run replay-dead-letters -- [--queue <url>]… [--source ingest|alarms] [--max 1-10000] [--dry-run] [--stage dev|prod]\n' +
  '       npm run replay-dead-letters -- --parked [--queue <url>] [--max 1-10000] [--dry-run | --discard <id>[,<id>…]]\n';

const LAMBDA_REPLAY: Record<SourceName, string> = { ingest: INGEST_REPLAY_TOPIC, alarms: ALARM_REPLAY_TOPIC };

function sourceOfQueue(url: string): SourceName | undefined {
  if (/IngestDeadLetters/i.test(url)) return 'ingest';
  if (/AlarmsDeadLetters/i.test(url)) return 'alarms';
  return undefined;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      queue: { type: 'string', multiple: true },
      source: { type: 'string' },
      max: { type: 'string', default: '100' },
      'dry-run': { type: 'boolean', default: false },
      parked: { type: 'boolean', default: false },
      discard: { type: 'string' },
      stage: { type: 'string', default: 'dev' },
      'data-dir': { type: 'string', default: '.envwatch' },
    },
  });
  const max = Number(values.max);
  const source = values.source;
  const discard = new Set((values.discard ?? '').split(',').filter(Boolean));
  if (
    !Number.isInteger(max) ||
    max < 1 ||
    max > 10_000 ||
    (source !== undefined && source !== 'ingest' && source !== 'alarms') ||
    (discard.size > 0 && !values.parked) ||
    !/^[a-z0-9]+$/.test(values.stage ?? '')
  ) {
    process.stderr.write(USAGE);
    return 2;
  }
  const local = localEndpoints(values['data-dir']);
  let sqs: SQSClient;
  let iot: IoTDataPlaneClient;
  if (local) {
    sqs = new SQSClient(clientConfig(local, 'sqs'));
    iot = new IoTDataPlaneClient(clientConfig(local, 'iotData'));
  } else {
    sqs = new SQSClient({});
    const endpoint = process.env.IOT_DATA_ENDPOINT;
    iot = new IoTDataPlaneClient(endpoint ? { endpoint: `https://${endpoint.replace(/^https:\/\//, '')}` } : {});
  }
  const pattern = values.parked ? /RedriveParked/i : /DeadLetters/i;
  const queues =
    values.queue ?? ((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).filter((u) => pattern.test(u));
  if (queues.length === 0) {
    process.stderr.write(`no ${values.parked ? 'parked' : 'dead-letter'} queue found: pass --queue <url>\n`);
    return 2;
  }
  const allowedTopics = replayTopicFilters(`$aws/rules/${ruleNames(values.stage as string).gateway}/envwatch/gateway`);
  const publisher = iotReplayPublisher(iot);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let replayed = 0;
  let discarded = 0;
  let left = 0;
  for (const queueUrl of queues) {
    const queue = new SqsDeadLetterQueue(sqs, queueUrl, 120);
    const queueSource = (source as SourceName | undefined) ?? sourceOfQueue(queueUrl);
    if (!values.parked && !queueSource) {
      process.stderr.write(`${queueUrl}: which source is it? pass --source ingest|alarms\n`);
      return 2;
    }
    // kept messages stay hidden until the end, so that one pass sees each message once; then they are released
    const kept: DeadLetter[] = [];
    let seen = 0;
    while (seen < max) {
      const batch = await queue.receiveWithAttributes(max - seen);
      if (batch.length === 0) break;
      seen += batch.length;
      for (const { letter, attributes } of batch) {
        const parked = values.parked ? parkedAttributes(attributes) : undefined;
        if (parked) {
          say(
            `${letter.messageId}  parked ${parked.parkedAt ?? '?'} from ${parked.source ?? '?'}: ${parked.reasonCode ?? '?'} (${parked.reason ?? ''}), replays ${parked.replays ?? '?'}`,
          );
        }
        if (discard.size > 0) {
          if (discard.has(letter.messageId)) {
            await queue.remove(letter);
            discarded++;
            say(`${letter.messageId}  discarded`);
          } else kept.push(letter);
          continue;
        }
        const from = parked?.source ?? queueSource ?? 'ingest';
        const [d] = describeLetters([letter], { lambdaReplayTopic: LAMBDA_REPLAY[from], allowedTopics });
        const r = d?.replay;
        if (!d || !r?.ok || !d.allowed) {
          kept.push(letter);
          left++;
          say(
            `${queueUrl}  kept ${letter.messageId}: ${r && !r.ok ? r.reason : `topic ${r?.topic} is not a replay topic`}`,
          );
          continue;
        }
        say(
          `${queueUrl}  ${values['dry-run'] ? 'would replay' : 'replay'} ${letter.messageId} → ${r.topic} (${r.from}${r.why ? `: ${r.why}` : ''})`,
        );
        if (values['dry-run']) {
          kept.push(letter);
          continue;
        }
        await publisher.publish(r.topic, r.payload);
        await queue.remove(letter);
        replayed++;
      }
    }
    await queue.release(kept);
  }
  const missing = [...discard].length - discarded;
  say(
    discard.size > 0
      ? `discarded ${discarded}${missing > 0 ? `, ${missing} not found` : ''}`
      : `replayed ${replayed}, left ${left}`,
  );
  return left > 0 || missing > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`replay-dead-letters: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
