import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * One SNS topic per audience. Alarm messages carry attributes (township, industry, enterprise, level) so that
 * subscriptions select what each person hears with filter policies.
 */
export const AUDIENCES = {
  bureau: '生态环境分局值班人员 bureau duty officers',
  regulator: '行业主管部门 industry regulators',
  enterprise: '排污单位责任人 enterprise responsible persons',
  ops: '平台运维 platform operators',
} as const;

export type Audience = keyof typeof AUDIENCES;

export class NotificationTopics extends Construct {
  public readonly byAudience: Record<Audience, Topic>;

  /** `key` encrypts every topic but those given their own in `keys` (the ops topic: CloudWatch alarms publish to it) */
  constructor(scope: Construct, id: string, props: { key: IKey; keys?: Partial<Record<Audience, IKey>> }) {
    super(scope, id);
    const out = {} as Record<Audience, Topic>;
    for (const [audience, label] of Object.entries(AUDIENCES) as [Audience, string][]) {
      out[audience] = new Topic(this, audience, {
        displayName: `EnvWatch ${label}`.slice(0, 100),
        masterKey: props.keys?.[audience] ?? props.key,
        enforceSSL: true,
      });
    }
    this.byAudience = out;
  }
}
