import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from './demo-accounts.ts';
import { type Platform, startPlatform } from './platform.ts';
import { defaultPorts, firstBusyPort } from './ports.ts';
import { synthEnvWatch } from './synth.ts';

/**
 * `npm start`: synthesizes the app, starts the embedded platform from the synthesized template, prints where
 * everything is and runs until Ctrl-C. Problems a user can fix get one line saying what to do.
 * ENVWATCH_SFN_MAX_EXECUTION_SECONDS shortens the Step Functions maximum execution time (default one year, as AWS)
 * to watch what happens to an execution that outlives it. ENVWATCH_LAMBDA_CONCURRENCY sets how many worker threads each
 * function may use at once (default 4; the load bench explores it). `--in-memory` keeps DynamoDB Local's data in memory
 * (gone at exit): on disk, its SQLite file is synced on every write, which caps the whole local pipeline well below
 * what the functions can do (bench ingestCpu shows both); load runs use it, everyday use keeps its data.
 * ENVWATCH_LAMBDA_BACKGROUND_NICE (default 10; 0 turns it off) is the nice value of the batch jobs' workers (functions
 * only schedules invoke), so that an hourly job over thousands of devices does not take the device messages' CPU.
 */
const { values: args } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: '.envwatch' },
    'port-base': { type: 'string', default: '4510' },
    'no-synth': { type: 'boolean', default: false },
    /** also plain MQTT without authentication, for debugging (IoT Core has none; devices use TLS) */
    'plain-mqtt': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    /** DynamoDB Local's data in memory, lost at exit (load runs: on disk it syncs every write) */
    'in-memory': { type: 'boolean', default: false },
  },
});

const root = resolve(import.meta.dirname, '..', '..');
const dataDir = resolve(root, args['data-dir'] ?? '.envwatch');
const cdkOut = join(dataDir, 'cdk.out');
const verbose = !args.quiet;

function fail(message: string): never {
  process.stderr.write(`envwatch: ${message}\n`);
  process.exit(1);
}

function javaAvailable(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const t0 = performance.now();
  if (!javaAvailable())
    fail(
      'Java 17+ is needed for DynamoDB Local: install it (Debian: apt-get install openjdk-17-jre-headless) and retry.',
    );
  const base = Number(args['port-base']);
  if (!Number.isInteger(base) || base < 1024 || base > 65000)
    fail('--port-base must be a port number between 1024 and 65000.');
  const plainMqtt = args['plain-mqtt'] === true;
  const { mqtt: plainPort, ...always } = defaultPorts(base);
  const ports = { ...always, mqtt: plainPort };
  const busy = await firstBusyPort([...Object.values(always), ...(plainMqtt ? [plainPort] : [])]);
  if (busy)
    fail(
      `port ${busy} is already in use (is another \`npm start\` running?). Stop it, or start on other ports: npm start -- --port-base ${base + 100}`,
    );

  if (!args['no-synth'] || !existsSync(join(cdkOut, 'manifest.json'))) {
    try {
      const { ms } = synthEnvWatch(cdkOut);
      if (verbose) process.stdout.write(`synthesized the CDK app in ${(ms / 1000).toFixed(1)} s → ${cdkOut}\n`);
    } catch (err) {
      const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      fail(`synth failed: ${first}. Run \`npm run synth\` to see the whole error.`);
    }
  }

  const maxText = process.env.ENVWATCH_SFN_MAX_EXECUTION_SECONDS;
  const maxExecutionSeconds = maxText ? Number(maxText) : undefined;
  if (maxExecutionSeconds !== undefined && !(Number.isFinite(maxExecutionSeconds) && maxExecutionSeconds > 0))
    fail(`ENVWATCH_SFN_MAX_EXECUTION_SECONDS must be a positive number of seconds, not "${maxText}".`);

  const concurrencyText = process.env.ENVWATCH_LAMBDA_CONCURRENCY;
  const lambdaConcurrency = concurrencyText ? Number(concurrencyText) : undefined;
  if (
    lambdaConcurrency !== undefined &&
    !(Number.isInteger(lambdaConcurrency) && lambdaConcurrency >= 1 && lambdaConcurrency <= 64)
  )
    fail(
      `ENVWATCH_LAMBDA_CONCURRENCY must be a whole number of workers per function from 1 to 64, not "${concurrencyText}".`,
    );

  const niceText = process.env.ENVWATCH_LAMBDA_BACKGROUND_NICE;
  const backgroundNice = niceText ? Number(niceText) : undefined;
  if (
    backgroundNice !== undefined &&
    !(Number.isInteger(backgroundNice) && backgroundNice >= 0 && backgroundNice <= 19)
  )
    fail(`ENVWATCH_LAMBDA_BACKGROUND_NICE must be a whole nice value from 0 to 19, not "${niceText}".`);

  let platform: Platform;
  try {
    platform = await startPlatform({
      cdkOut,
      dataDir,
      ports,
      plainMqtt,
      ...(args['in-memory'] ? { dynamodbInMemory: true } : {}),
      ...(maxExecutionSeconds ? { maxExecutionSeconds } : {}),
      ...(lambdaConcurrency ? { lambdaConcurrency } : {}),
      ...(backgroundNice !== undefined ? { backgroundNice } : {}),
      log: verbose ? (line) => process.stdout.write(`  ${line}\n`) : undefined,
    });
  } catch (err) {
    fail(`the local platform did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  const e = platform.endpoints;
  const ready = ((performance.now() - t0) / 1000).toFixed(1);
  process.stdout.write(
    [
      '',
      `EnvWatch 本地平台已启动 / local platform ready in ${ready} s`,
      `  网页 Web pages        ${e.web}   举报 ${e.web}tip/`,
      `  政务工作台 Console    ${e.web}console/   (sign in at ${e.auth.oidc})`,
      `  示例账号 demo accounts (password ${DEMO_PASSWORD}): ${DEMO_ACCOUNTS.map((a) => a.username).join(' ')}`,
      `  API                   ${e.api}   (token: npm run -s token -- --role admin)`,
      `  MQTT (TLS, 设备证书)   ${e.mqtts}   (CA ${e.mqttCa}; docs/devices.md)`,
      ...(e.mqtt ? [`  MQTT 明文（仅调试）     ${e.mqtt}   (--plain-mqtt: no authentication)`] : []),
      `  IoT control plane     ${e.iot}   IoT Data Plane ${e.iotData}`,
      ...(e.hj212 ? [`  HJ 212 TCP 数采仪接入  ${e.hj212}`] : []),
      `  已发送消息 Messages   ${e.pages.messages}`,
      `  工作流 Workflows      ${e.pages.executions}`,
      `  DynamoDB ${e.dynamodb}   S3 ${e.s3}   SNS/SQS ${e.sns}   Step Functions ${e.stepfunctions}`,
      `  data ${e.dataDir}   function logs ${e.logs}`,
      `  endpoints written to ${join(dataDir, 'endpoints.json')}`,
      '按 Ctrl-C 停止 / Ctrl-C to stop',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping…\n`);
    const timer = setTimeout(() => fail('stop took longer than 15 s; exiting anyway'), 15_000);
    await platform.stop();
    clearTimeout(timer);
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

void main();
