import { Annotations, type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type AppConfig, readAppConfig } from './config.ts';
import { ApiStack } from './stacks/api-stack.ts';
import { DataStack } from './stacks/data-stack.ts';
import { IngestStack } from './stacks/ingest-stack.ts';
import { OpsStack } from './stacks/ops-stack.ts';
import { WebStack } from './stacks/web-stack.ts';

/**
 * Builds every EnvWatch stack into `app`. Stacks are split by lifecycle: Data (stateful, kept), Api, Ingest and Web
 * (stateless), and Ops (alarms and a dashboard over the others).
 * Used by infra/app.ts (`cdk synth` / `cdk deploy`), by the infra tests and by the local platform.
 */
const STRONG_REFS = '@aws-cdk/core:defaultCrossStackReferences';

export function buildEnvWatch(app: App) {
  if (app.node.tryGetContext(STRONG_REFS) === undefined) app.node.setContext(STRONG_REFS, 'strong');
  const config = readAppConfig((key) => app.node.tryGetContext(key));
  const prefix = `EnvWatch-${config.stage}`;
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const data = new DataStack(app, `${prefix}-Data`, {
    config,
    env,
    description: 'EnvWatch stateful resources: tables, evidence, keys, topics',
    terminationProtection: config.stage === 'prod',
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    config,
    data,
    env,
    description: 'EnvWatch HTTP API and its functions',
  });
  const ingest = new IngestStack(app, `${prefix}-Ingest`, {
    config,
    data,
    env,
    description: 'EnvWatch device ingestion: IoT rules, ingest function, dead-letter queue, device policy',
  });
  api.addStackDependency(ingest, 'the registry attaches the device IoT policy the Ingest stack defines');
  const web = webHosting(app, config, env.region);
  const webStack = web.on
    ? new WebStack(app, `${prefix}-Web`, {
        config,
        data,
        api,
        env,
        partition: web.partition,
        description: 'EnvWatch web pages and console: S3 behind CloudFront, /api/* to the HTTP API',
      })
    : undefined;
  const ops = new OpsStack(app, `${prefix}-Ops`, {
    config,
    data,
    api,
    ingest,
    web: webStack,
    env,
    description: 'EnvWatch operations: CloudWatch alarms to the ops topic, one dashboard',
  });
  Tags.of(app).add('project', 'envwatch');
  Tags.of(app).add('stage', config.stage);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { config, data, api, ingest, web: webStack, ops };
}

/**
 * Whether the Web stack is built, and for which partition. `auto`: always in the global partition; in a China region
 * only with a domain and certificate (CloudFront there serves nothing without an ICP-filed domain), else a warning says
 * how to add it. An environment-agnostic synth (no region) is treated as global.
 */
function webHosting(app: App, config: AppConfig, region: string | undefined) {
  const partition = region?.startsWith('cn-') ? ('aws-cn' as const) : ('aws' as const);
  const configured = config.webDomain !== undefined && config.webCertificate !== undefined;
  if (config.web === 'off') return { on: false, partition };
  if (config.web === 'auto' && partition === 'aws-cn' && !configured) {
    Annotations.of(app).addWarningV2(
      'envwatch:web-needs-domain',
      'Web hosting left out: CloudFront in China regions needs an ICP-filed domain and an IAM server certificate (-c webDomain=… -c webCertificate=…; docs/operations.md). -c web=off silences this.',
    );
    return { on: false, partition };
  }
  return { on: true, partition };
}
