import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';

/** A message for people on a topic: an ASCII subject (e-mail), the Chinese text, string attributes for filter policies. */
export interface TopicMessage {
  subject: string;
  textZh: string;
  attributes: Record<string, string>;
}

/** Publishes plain-text messages to one SNS topic. */
export function topicPublisher(sns: SNSClient, topicArn: string): (m: TopicMessage) => Promise<void> {
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
