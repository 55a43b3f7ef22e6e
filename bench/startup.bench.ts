import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { defaultPorts, firstBusyPort } from '#infra/local/ports.ts';
import { atMost, ROOT, ratio, seconds, tempDir } from './lib.ts';

/**
 * Time from `npm start` to ready: spawns `node --import tsx infra/local/main.ts` on free ports with a fresh data dir,
 * waits for the "local platform ready" line, then stops it with SIGINT (Ctrl-C) and waits for it to exit. Then a
 * restart on the same data dir (data already seeded). Reports the split main.ts prints (synth seconds, ready seconds).
 */
const TARGET_SECONDS = 30;
const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 30_000;

async function freeBase(start = 5610): Promise<number> {
  for (let base = start; base < 6500; base += 100) {
    if (!(await firstBusyPort(Object.values(defaultPorts(base))))) return base;
  }
  throw new Error('no free port base between 5610 and 6500');
}

interface StartRun {
  wallToReadySeconds: number;
  reportedSynthSeconds: number | null;
  reportedReadySeconds: number | null;
  stopSeconds: number;
  exitCode: number | null;
}

async function startOnce(dataDir: string, base: number): Promise<StartRun> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'infra/local/main.ts', '--data-dir', dataDir, '--port-base', String(base)],
    {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const readyAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not ready in time')), READY_TIMEOUT_MS);
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('local platform ready')) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString('utf8');
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before ready: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      });
    });
    const stopStart = performance.now();
    const exitCode = await stop(child, exited);
    const number = (re: RegExp) => {
      const m = re.exec(out);
      return m?.[1] ? Number(m[1]) : null;
    };
    return {
      wallToReadySeconds: seconds(readyAt - t0),
      reportedSynthSeconds: number(/synthesized the CDK app in ([\d.]+) s/),
      reportedReadySeconds: number(/local platform ready in ([\d.]+) s/),
      stopSeconds: seconds(performance.now() - stopStart),
      exitCode,
    };
  } catch (e) {
    await stop(child, exited);
    throw e;
  }
}

/** SIGINT (what Ctrl-C sends), then SIGKILL to this child only if it does not exit in time. */
async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGINT');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
  const result = await Promise.race([exited, timeout]);
  if (result !== 'timeout') return result;
  child.kill('SIGKILL');
  return exited;
}

export async function run(): Promise<Record<string, unknown>> {
  const data = tempDir('start');
  try {
    const base = await freeBase();
    const first = await startOnce(join(data.dir, 'data'), base);
    const restart = await startOnce(join(data.dir, 'data'), base);
    const split = (r: StartRun) =>
      r.reportedSynthSeconds === null
        ? null
        : {
            synthSeconds: r.reportedSynthSeconds,
            servicesAndSeedSeconds:
              r.reportedReadySeconds === null
                ? null
                : Math.round((r.reportedReadySeconds - r.reportedSynthSeconds) * 10) / 10,
            processStartSeconds:
              r.reportedReadySeconds === null
                ? null
                : Math.round((r.wallToReadySeconds - r.reportedReadySeconds) * 1000) / 1000,
          };
    return {
      what: '`npm start` (node --import tsx infra/local/main.ts) to the "local platform ready" line, then SIGINT',
      portBase: base,
      firstStart: { ...first, split: split(first) },
      restartSameData: { ...restart, split: split(restart) },
      targets: [
        atMost('first start to ready', first.wallToReadySeconds, TARGET_SECONDS, 's'),
        atMost('restart to ready', restart.wallToReadySeconds, TARGET_SECONDS, 's'),
      ],
      ratios: { restartOverFirst: ratio(restart.wallToReadySeconds, first.wallToReadySeconds) },
    };
  } finally {
    data.remove();
  }
}
