import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetter, ParkCode, ParkInfo, SourceName } from '#shared/domain/redrive/model.ts';
import type { DeadLetterQueue, ParkedQueue } from '#shared/domain/redrive/ports.ts';

/**
 * The dead-letter queues and the parked queue on SQS. Bodies are never changed: a parked message is the dead letter as
 * it arrived, with why it was parked in its message attributes (`reason`, `reasonCode`, `source`, `replays`,
 * `payloadKey`, `parkedAt`, `originalMessageId`), so an operator can read, replay or discard it
 * (`npm run replay-dead-letters -- --parked`).
 */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    /** how long received messages stay hidden from other readers (a run must finish within it) */
    private readonly visibilitySeconds = 300,
  ) {}

  async depth(): Promise<number> {
    const out = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  async receive(max: number): Promise<DeadLetter[]> {
    return (await this.receiveWithAttributes(max)).map((m) => m.letter);
  }

  /** The same, with each message's attributes (the parked queue's reasons). */
  async receiveWithAttributes(max: number): Promise<{ letter: DeadLetter; attributes: Record<string, string> }[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
        WaitTimeSeconds: 1,
        VisibilityTimeout: this.visibilitySeconds,
        MessageAttributeNames: ['All'],
      }),
    );
    return (out.Messages ?? []).flatMap((m) =>
      m.ReceiptHandle && m.MessageId
        ? [
            {
              letter: { messageId: m.MessageId, body: m.Body ?? '', handle: m.ReceiptHandle },
              attributes: Object.fromEntries(
                Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
              ),
            },
          ]
        : [],
    );
  }

  async remove(message: DeadLetter): Promise<void> {
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.handle }));
  }

  async release(messages: readonly DeadLetter[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      const out = await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.handle, VisibilityTimeout: 0 })),
        }),
      );
      if (out.Failed?.length) throw new Error(`${out.Failed.length} message(s) could not be released`);
    }
  }
}

const text = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });

export class SqsParkedQueue implements ParkedQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
  ) {}

  async park(message: DeadLetter, info: ParkInfo): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: message.body,
        MessageAttributes: {
          reason: text(info.reason.detail.slice(0, 1000) || info.reason.code),
          reasonCode: text(info.reason.code),
          source: text(info.source),
          replays: { DataType: 'Number', StringValue: String(info.replays) },
          parkedAt: text(info.at),
          originalMessageId: text(message.messageId),
          ...(info.key ? { payloadKey: text(info.key) } : {}),
        },
      }),
    );
  }
}

/** What a parked message's attributes say, read back (the operator's script). */
export interface ParkedAttributes {
  source?: SourceName;
  reasonCode?: ParkCode;
  reason?: string;
  replays?: number;
  parkedAt?: string;
  originalMessageId?: string;
}

export function parkedAttributes(a: Record<string, string>): ParkedAttributes {
  const source = a.source === 'ingest' || a.source === 'alarms' ? a.source : undefined;
  const code = ['unparseable', 'topic-not-allowed', 'replay-limit'].includes(a.reasonCode ?? '')
    ? (a.reasonCode as ParkCode)
    : undefined;
  return {
    ...(source ? { source } : {}),
    ...(code ? { reasonCode: code } : {}),
    ...(a.reason ? { reason: a.reason } : {}),
    ...(a.replays !== undefined && Number.isFinite(Number(a.replays)) ? { replays: Number(a.replays) } : {}),
    ...(a.parkedAt ? { parkedAt: a.parkedAt } : {}),
    ...(a.originalMessageId ? { originalMessageId: a.originalMessageId } : {}),
  };
}
