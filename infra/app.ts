import { App } from 'aws-cdk-lib';
import { buildEnvWatch } from './envwatch-app.ts';

const app = new App();
buildEnvWatch(app);
app.synth();
