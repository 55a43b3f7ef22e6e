import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { BureauNotifier } from '#shared/domain/cases/ports.ts';

/**
 * The bureau topic (SNS): a case workflow's message in Chinese, its attributes for subscription filters, and
 * `dedupeId` (a retried escalation may publish twice).
 */
export function bureauPublisher(sns: SNSClient, topicArn: string): BureauNotifier {
  return async (m) => {
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: m.subject,
        Message: m.textZh,
        MessageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
        ),
      }),
    );
  };
}
