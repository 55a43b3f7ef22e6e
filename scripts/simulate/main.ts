/**
 * `npm run simulate -- [options]`: simulated DAQs of the seeded Qingyuan enterprises talking to the running local
 * platform (`npm start`), HJ 212 over TCP to the gateway and MQTT (JSON and HJ 212) over TLS to the broker, each MQTT
 * device with its own certificate from the registry API (credentials.ts, as an installer with an admin token). Endpoints
 * come from `<data-dir>/endpoints.json` (`mqtts`, `mqttCa`, `api`, `auth`, `hj212`; `mqtt` with --plain-mqtt). Type
 * `help` while it runs for the injection commands.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { readKeys, signToken } from '#infra/local/jwt.ts';
import { HELP, parseDuration } from './commands.ts';
import { localDataGapJob, realtimeArrivals, registryCredentials, registryKeys } from './credentials.ts';
import type { SimDevice } from './devices.ts';
import type { MqttTls } from './mqtt-link.ts';
import { type Endpoints, runSimulation, type SimSummary, type SimulationOptions } from './runner.ts';
import { DEMO_DURATION_MS, DEMO_INTRO, DEMO_SPEED, DEMO_STEPS, demoStart } from './scenario.ts';

const USAGE = `usage: npm run simulate -- [options]
  --data-dir <dir>          where endpoints.json is (default .envwatch)
  --speed <K>               simulated time runs K× faster (default 1; e.g. 60 = an hour per minute)
  --duration <10m>          stop after this much wall time (default: until quit or Ctrl-C)
  --seed <n>                deterministic values
  --start <ISO time>        simulated start (default now), e.g. 2026-11-30T07:30:00+08:00
  --only <BW01,GA01>        only these devices (MN or its last characters)
  --mqtt-hj212              HJ 212 devices publish HJ 212 text over MQTT instead of TCP (switched to
                            transport mqtt in the registry, with a certificate each)
  --plain-mqtt              MQTT devices use the platform's plain listener (npm start -- --plain-mqtt), no TLS
  --include-unregistered    add synthetic devices with unregistered MNs (rejected by the platform)
  --devices <N>             how many synthetic devices (with --include-unregistered; default 1)
  --inject "<command>"      apply a command at start (repeatable), e.g. --inject "exceed BW01 cod 2"
  --scenario demo           scripted 2-minute demo of every injection
  --report-every <1m>       per-device count lines (default 1m)
  --json                    print the final summary as JSON on stdout (progress goes to stderr)
${HELP}`;

class CliError extends Error {}

interface PlatformEndpoints extends Endpoints {
  api?: string;
  mqttCa?: string;
  auth?: { issuer?: string; audience?: string };
}

async function readEndpoints(dataDir: string): Promise<PlatformEndpoints> {
  const file = join(dataDir, 'endpoints.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`no ${file}: start the platform first with \`npm start\``);
  }
  const parsed: unknown = JSON.parse(text);
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? { [k]: o[k] as string } : {});
  return {
    ...str('mqtt'),
    ...str('mqtts'),
    ...str('mqttCa'),
    ...str('api'),
    ...str('hj212'),
    ...(typeof o.auth === 'object' && o.auth !== null ? { auth: o.auth as PlatformEndpoints['auth'] } : {}),
  };
}

/** The registry API with an admin token of the running platform's local issuer (the simulator acts as the installer). */
async function adminAccess(dataDir: string, e: PlatformEndpoints): Promise<{ api: string; token: string }> {
  const keys = await readKeys(dataDir);
  if (!keys || !e.api || !e.auth?.issuer || !e.auth.audience)
    throw new CliError(`${join(dataDir, 'endpoints.json')} lacks api or auth: is the platform up to date?`);
  const token = signToken(
    keys,
    {
      iss: e.auth.issuer,
      aud: e.auth.audience,
      sub: 'simulator-installer',
      roles: ['admin'],
      townships: ['*'],
      name: '模拟安装人员',
    },
    3600,
  );
  return { api: e.api, token };
}

/** MQTT devices' certificates from the registry API. */
async function credentialsFor(
  dataDir: string,
  e: PlatformEndpoints,
  log: (line: string) => void,
): Promise<(device: SimDevice) => Promise<MqttTls>> {
  if (!e.mqttCa) throw new CliError(`${join(dataDir, 'endpoints.json')} lacks mqttCa: is the platform up to date?`);
  const access = await adminAccess(dataDir, e);
  return registryCredentials({ ...access, dataDir, ca: await readFile(e.mqttCa, 'utf8'), log });
}

function number(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number, got "${text}"`);
  return n;
}

function duration(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (typeof ms === 'string') throw new CliError(`--${name}: ${ms}`);
  return ms;
}

function summaryText(s: SimSummary): string {
  const lines = [
    `summary: ${s.totals.sent} sent, ${s.totals.acked} acknowledged, ${s.totals.rejected} rejected, ${s.totals.failed} unanswered, ${s.totals.dropped} dropped in ${Math.round(s.elapsedMs / 1000)} s (simulated ${s.simStart} → ${s.simNow}, seed ${s.seed})`,
  ];
  for (const d of s.devices) {
    const reasons = Object.entries(d.rejectReasons)
      .map(([k, v]) => `${k}×${v}`)
      .join(' ');
    lines.push(
      `  ${d.label.padEnd(8)} ${d.transport.padEnd(10)} sent ${d.sent} (rt ${d.byCn['2011']}, min ${d.byCn['2051']}, hour ${d.byCn['2061']}) acked ${d.acked} rejected ${d.rejected}${reasons ? ` [${reasons}]` : ''} unanswered ${d.failed}` +
        (d.protocol === 'hj212-2025'
          ? ` | 2025: ${d.heartbeats} heartbeats, ${d.resent} re-sent (RF=1), ${d.keyChanges} key change(s)`
          : ''),
    );
  }
  if (s.skipped.length > 0) lines.push(`  skipped: ${s.skipped.join(', ')}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string', default: '.envwatch' },
      speed: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      only: { type: 'string' },
      'mqtt-hj212': { type: 'boolean' },
      'plain-mqtt': { type: 'boolean' },
      'include-unregistered': { type: 'boolean' },
      devices: { type: 'string' },
      inject: { type: 'string', multiple: true },
      scenario: { type: 'string' },
      'report-every': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const out = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  const demo = values.scenario !== undefined;
  if (demo && values.scenario !== 'demo')
    throw new CliError(`unknown scenario "${values.scenario}"; the only one is demo`);

  let start: number | undefined;
  if (values.start !== undefined) {
    start = Date.parse(values.start);
    if (Number.isNaN(start)) throw new CliError(`--start "${values.start}" is not an ISO time`);
  }
  const extra = number(values.devices, 'devices');
  if (extra !== undefined && (!Number.isInteger(extra) || extra < 0))
    throw new CliError('--devices must be a whole number ≥ 0');
  const durationMs = duration(values.duration, 'duration') ?? (demo ? DEMO_DURATION_MS : undefined);
  const simStart = start ?? (demo ? demoStart() : undefined);
  const opts: SimulationOptions = {
    speed: number(values.speed, 'speed') ?? (demo ? DEMO_SPEED : 1),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(values.seed !== undefined ? { seed: number(values.seed, 'seed') as number } : {}),
    ...(simStart !== undefined ? { start: simStart } : {}),
    ...(values.only
      ? {
          only: values.only
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    mqttHj212: values['mqtt-hj212'] ?? false,
    includeUnregistered: values['include-unregistered'] ?? false,
    ...(extra !== undefined ? { extraDevices: extra } : {}),
    inject: values.inject ?? [],
    reportEveryMs: duration(values['report-every'], 'report-every') ?? (demo ? 20_000 : 60_000),
    log: out,
  };

  const dataDir = resolve(values['data-dir'] ?? '.envwatch');
  const all = await readEndpoints(dataDir);
  const plain = values['plain-mqtt'] === true;
  if (plain && !all.mqtt)
    throw new CliError(
      '--plain-mqtt: the platform has no plain MQTT listener; start it with npm start -- --plain-mqtt',
    );
  const endpoints: Endpoints = {
    ...(plain ? { mqtt: all.mqtt } : all.mqtts ? { mqtts: all.mqtts } : {}),
    ...(all.hj212 ? { hj212: all.hj212 } : {}),
  };
  if (!endpoints.mqtts && !endpoints.mqtt && !endpoints.hj212)
    throw new CliError('endpoints.json lists neither mqtts nor hj212: is the platform up to date?');
  if (endpoints.mqtts) opts.credentials = await credentialsFor(dataDir, all, out);
  // HJ 212-2025 devices: their SM4 keys through the registry; the local scheduler for `datagaps`
  const access = await adminAccess(dataDir, all);
  opts.keys = registryKeys({ ...access, dataDir, log: out });
  opts.dataGapJob = localDataGapJob(access.api);
  opts.arrivals = realtimeArrivals(access);
  let sim: ReturnType<typeof runSimulation>;
  try {
    sim = runSimulation(opts, endpoints);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  if (sim.devices.length === 0) {
    await sim.stop(0);
    throw new CliError('no device can run with these endpoints');
  }
  out(`simulating ${sim.devices.length} device(s): ${sim.devices.map((d) => `${d.label} (${d.protocol})`).join(', ')}`);
  out(
    `speed ×${opts.speed}, seed ${sim.stats().seed}${opts.durationMs ? `, for ${Math.round(opts.durationMs / 1000)} s` : ''}. Type \`help\` for commands, \`quit\` or Ctrl-C to stop.`,
  );

  const timers: NodeJS.Timeout[] = [];
  if (demo) {
    out(DEMO_INTRO);
    for (const step of DEMO_STEPS) {
      timers.push(
        setTimeout(() => {
          out(
            `\n[demo +${step.at / 1000}s] > ${step.command}\n${sim.command(step.command)}\n  look for: ${step.lookFor}`,
          );
        }, step.at),
      );
    }
  }

  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    out(sim.command(line));
  });

  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    out('stopping (Ctrl-C again to quit at once)…');
    void sim.stop();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const summary = await sim.done;
  for (const t of timers) clearTimeout(t);
  rl.close();
  process.stdin.unref?.();
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
  if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else out(summaryText(summary));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const known =
      err instanceof CliError ||
      (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(
      `simulate: ${err instanceof Error ? (known ? err.message : (err.stack ?? err.message)) : String(err)}\n`,
    );
    process.exitCode = known ? 2 : 1;
  },
);
