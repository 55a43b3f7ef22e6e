import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FunctionSpec } from './spec.ts';

/**
 * Runs the synthesized functions in-process, unchanged: each function's bundled asset (the same file `cdk deploy`
 * uploads) is loaded in worker threads with that function's own environment (the template's variables plus local
 * endpoints and dummy credentials). A worker is one warm execution environment handling one invocation at a time;
 * a function scales out to `maxConcurrency` workers. A timeout ends the worker, as Lambda ends the sandbox.
 * Function output (console, logger) goes to `${logDir}/<function>.log`.
 */
export class LambdaError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly trace: string[] = [],
  ) {
    super(message);
    this.name = errorType;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

class ExecutionEnvironment {
  readonly worker: Worker;
  busy = false;
  private pending: Pending | undefined;
  private nextId = 0;

  constructor(
    private readonly fn: FunctionSpec,
    env: Record<string, string>,
    logStream: WriteStream,
    private readonly onExit: (e: ExecutionEnvironment) => void,
    nice = 0,
  ) {
    const [file, exportName] = splitHandler(fn.handler);
    this.worker = new Worker(new URL('./lambda-worker.mjs', import.meta.url), {
      env,
      stdout: true,
      stderr: true,
      workerData: {
        modulePath: join(fn.assetDir, `${file}.mjs`),
        exportName,
        functionName: fn.functionName,
        functionArn: fn.arn,
        memoryMb: fn.memoryMb,
        timeoutSeconds: fn.timeoutSeconds,
        logGroupName: `/aws/lambda/${fn.functionName}`,
        nice,
      },
      execArgv: [],
    });
    this.worker.stdout.pipe(logStream, { end: false });
    this.worker.stderr.pipe(logStream, { end: false });
    this.worker.on(
      'message',
      (msg: { ok: boolean; value?: unknown; error?: { errorType: string; errorMessage: string; stack: string[] } }) => {
        const p = this.pending;
        if (!p) return;
        this.pending = undefined;
        clearTimeout(p.timer);
        this.busy = false;
        if (msg.ok) p.resolve(msg.value);
        else
          p.reject(
            new LambdaError(
              msg.error?.errorType ?? 'Error',
              msg.error?.errorMessage ?? 'unknown error',
              msg.error?.stack,
            ),
          );
      },
    );
    this.worker.on('error', (err) => this.fail(new LambdaError('Runtime.ExitError', err.message)));
    this.worker.on('exit', () => {
      this.fail(new LambdaError('Runtime.ExitError', `${this.fn.functionName}: execution environment exited`));
      this.onExit(this);
    });
  }

  invoke(event: unknown): Promise<unknown> {
    this.busy = true;
    const requestId = randomUUID();
    const deadline = Date.now() + this.fn.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(
          new LambdaError('Sandbox.Timedout', `Task timed out after ${this.fn.timeoutSeconds.toFixed(2)} seconds`),
        );
        void this.worker.terminate();
      }, this.fn.timeoutSeconds * 1000);
      this.pending = { resolve, reject, timer };
      this.worker.postMessage({ id: this.nextId++, requestId, event, deadline });
    });
  }

  private fail(err: Error) {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.reject(err);
  }
}

function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

export interface LambdaRuntimeOptions {
  functions: FunctionSpec[];
  /** endpoints, credentials and region every function gets */
  baseEnv: Record<string, string>;
  logDir: string;
  maxConcurrency?: number;
  /**
   * Functions (ids) whose workers run at a lower CPU priority: the batch jobs only schedules invoke (spec.ts
   * `scheduledOnly`). In AWS every function has its own containers; here all share the machine's cores, and an hourly
   * roll-up over thousands of devices would otherwise take its CPU from the device messages' path (Linux: the worker
   * thread's nice value; elsewhere nothing changes).
   */
  background?: ReadonlySet<string>;
  /** the background workers' nice value (default 10; 0 leaves them as the others) */
  backgroundNice?: number;
}

/** What one function's execution environments have done so far (`/_local/stats.json`; the load bench reads it). */
export interface FunctionStats {
  functionName: string;
  invocations: number;
  errors: number;
  /** environments (workers) alive / busy now */
  environments: number;
  busy: number;
  /** invocations waiting for a free environment now: a queue that keeps growing means the function falls behind */
  queued: number;
  /** the most invocations that ever waited at once */
  maxQueued: number;
  /** summed invocation time (ms), waiting excluded */
  busyMs: number;
}

export class LambdaRuntime {
  private readonly byRef = new Map<string, FunctionSpec>();
  private readonly counters = new Map<string, Omit<FunctionStats, 'environments' | 'busy' | 'queued'>>();
  private readonly pools = new Map<string, ExecutionEnvironment[]>();
  private readonly waiters = new Map<string, ((e: ExecutionEnvironment) => void)[]>();
  private readonly logs = new Map<string, WriteStream>();
  private readonly maxConcurrency: number;
  private stopped = false;

  constructor(private readonly opts: LambdaRuntimeOptions) {
    this.maxConcurrency = opts.maxConcurrency ?? 4;
    mkdirSync(opts.logDir, { recursive: true });
    for (const fn of opts.functions) {
      for (const ref of [fn.id, fn.arn, fn.functionName, fn.logicalId, fn.path]) this.byRef.set(ref, fn);
    }
  }

  find(ref: string): FunctionSpec | undefined {
    return this.byRef.get(ref) ?? this.byRef.get(ref.replace(/:(\$LATEST|\d+)$/, ''));
  }

  /** Invokes a function by id, ARN, name, logical id or construct path; rejects with a LambdaError as Lambda reports it. */
  invoke = async (ref: string, event: unknown): Promise<unknown> => {
    const fn = this.find(ref);
    if (!fn) throw new LambdaError('ResourceNotFoundException', `Function not found: ${ref}`);
    if (this.stopped) throw new LambdaError('ServiceException', 'the local platform is stopping');
    const counter = this.counterOf(fn);
    const env = await this.acquire(fn);
    const started = performance.now();
    counter.invocations++;
    try {
      // a structured clone, as a real invocation serializes the event
      return await env.invoke(JSON.parse(JSON.stringify(event ?? null)));
    } catch (err) {
      counter.errors++;
      throw err;
    } finally {
      counter.busyMs += performance.now() - started;
      this.release(fn, env);
    }
  };

  /** Per function: invocations, errors, environments, busy and queued now (see FunctionStats). */
  stats(): FunctionStats[] {
    return [...this.counters.entries()].map(([id, c]) => {
      const pool = this.pools.get(id) ?? [];
      return {
        ...c,
        busyMs: Math.round(c.busyMs),
        environments: pool.length,
        busy: pool.filter((e) => e.busy).length,
        queued: this.waiters.get(id)?.length ?? 0,
      };
    });
  }

  private counterOf(fn: FunctionSpec) {
    let c = this.counters.get(fn.id);
    if (!c) {
      c = { functionName: fn.functionName, invocations: 0, errors: 0, maxQueued: 0, busyMs: 0 };
      this.counters.set(fn.id, c);
    }
    return c;
  }

  private acquire(fn: FunctionSpec): Promise<ExecutionEnvironment> {
    const pool = this.pools.get(fn.id) ?? [];
    this.pools.set(fn.id, pool);
    const idle = pool.find((e) => !e.busy);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (pool.length < this.maxConcurrency) {
      const nice = this.opts.background?.has(fn.id) ? (this.opts.backgroundNice ?? 10) : 0;
      const created = new ExecutionEnvironment(
        fn,
        this.envFor(fn),
        this.logFor(fn),
        (gone) => {
          const i = pool.indexOf(gone);
          if (i >= 0) pool.splice(i, 1);
        },
        nice,
      );
      created.busy = true;
      pool.push(created);
      return Promise.resolve(created);
    }
    return new Promise((resolve) => {
      const queue = this.waiters.get(fn.id) ?? [];
      queue.push(resolve);
      this.waiters.set(fn.id, queue);
      const counter = this.counterOf(fn);
      counter.maxQueued = Math.max(counter.maxQueued, queue.length);
    });
  }

  private release(fn: FunctionSpec, env: ExecutionEnvironment) {
    const next = this.waiters.get(fn.id)?.shift();
    const pool = this.pools.get(fn.id) ?? [];
    if (!next) {
      env.busy = false;
      return;
    }
    if (pool.includes(env)) {
      env.busy = true;
      next(env);
      return;
    }
    // the environment died (timeout): hand the waiter a fresh one
    env.busy = false;
    void this.acquire(fn).then(next);
  }

  private envFor(fn: FunctionSpec): Record<string, string> {
    return {
      ...this.opts.baseEnv,
      ...fn.environment,
      AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: fn.assetDir,
    };
  }

  private logFor(fn: FunctionSpec): WriteStream {
    let stream = this.logs.get(fn.id);
    if (!stream) {
      stream = createWriteStream(join(this.opts.logDir, `${fn.functionName}.log`), { flags: 'a' });
      this.logs.set(fn.id, stream);
    }
    return stream;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const workers = [...this.pools.values()].flat().map((e) => e.worker.terminate());
    await Promise.allSettled(workers);
    await Promise.all([...this.logs.values()].map((s) => new Promise<void>((resolve) => s.end(resolve))));
  }
}
