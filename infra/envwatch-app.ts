import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readAppConfig } from './config.ts';
import { ApiStack } from './stacks/api-stack.ts';
import { DataStack } from './stacks/data-stack.ts';
import { IngestStack } from './stacks/ingest-stack.ts';

/**
 * Builds every EnvWatch stack into `app`. Stacks are split by lifecycle: Data (stateful, kept), Api and Ingest (stateless).
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
  Tags.of(app).add('project', 'envwatch');
  Tags.of(app).add('stage', config.stage);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { config, data, api, ingest };
}
