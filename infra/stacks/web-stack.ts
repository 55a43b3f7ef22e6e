import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AppConfig } from '#infra/config.ts';
import { WebHosting } from '#infra/constructs/web-hosting.ts';
import type { ApiStack } from './api-stack.ts';
import type { DataStack } from './data-stack.ts';

/**
 * Stateless: the citizen pages and the officials' console on S3 behind CloudFront, with `/api/*` forwarded to the
 * HTTP API (same origin). Its content is built from the repository at synth, so the stack can be destroyed and
 * deployed again. `-c web=off` leaves it out.
 */
export interface WebStackProps extends StackProps {
  config: AppConfig;
  data: DataStack;
  api: ApiStack;
  partition: 'aws' | 'aws-cn';
}

export class WebStack extends Stack {
  public readonly web: WebHosting;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.web = new WebHosting(this, 'Web', {
      api: props.api.httpApi.api,
      accessLogs: props.data.evidence.accessLogs,
      partition: props.partition,
      ...(config.webDomain ? { domain: config.webDomain } : {}),
      ...(config.webCertificate ? { certificate: config.webCertificate } : {}),
      login: { issuer: config.jwtIssuer, clientId: config.jwtAudience },
      retain: false,
    });
    new CfnOutput(this, 'WebUrl', {
      value: this.web.url,
      description: 'Citizen pages (/tip/) and the officials console (/console/)',
    });
  }
}
