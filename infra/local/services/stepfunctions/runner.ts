/**
 * Runs one execution on aws-local-stepfunctions and turns it into Step Functions history.
 *
 * How it bends the library (3.0.0):
 * - Every Task state is a local override (`taskResourceLocalHandlers`) that calls `Integrations`, so the
 *   runner owns task history events, `TimeoutSeconds`, and the `.waitForTaskToken` callback pattern.
 * - The root event logger's `dispatch` is replaced (through a per-instance `execute` wrapper) so state events
 *   arrive synchronously, in order with the task events; nested Map/Parallel events arrive forwarded (later).
 * - `$$.Task.Token` is a getter on the context object: reading it mints the token that the Task override,
 *   called synchronously right after the Parameters are evaluated, adopts. One token per attempt.
 * - `waitTimeOverrides` is a Proxy that computes each top-level Wait state's (scaled) duration, so `SecondsPath`,
 *   `Timestamp` and a wait resumed after a restart work; nested Wait states only scale `Seconds`.
 *
 * - The execution's own clock: it times out (TIMED_OUT, `States.Timeout`, an `ExecutionTimedOut` event, as AWS) at
 *   its machine's `TimeoutSeconds` or at the service's maximum execution time (`maxExecutionSeconds`: a Standard
 *   workflow's one year unless configured), whichever comes first, scaled like every other wait. The instant is
 *   fixed when the execution starts and kept in its record, so a restart neither resets nor forgets it: an execution
 *   whose instant passed while the platform was down times out as soon as it is resumed, without running a state.
 * - Timers longer than Node's setTimeout ceiling (2^31-1 ms, ~24.8 days) are armed in chunks.
 *
 * Limits vs AWS: `$$.State.RetryCount` is always 0; after a resume `$$.Execution.StartTime` is the resume time
 * (the library overwrites it) and `$$.State.EnteredTime` the re-entry time; Retry counters restart after a resume; `*SecondsPath` fields take
 * simple paths only.
 */
import { randomBytes } from 'node:crypto';
import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '#infra/local/spec.ts';
import { isObject, type Json, type PreparedMachine, readPath, resumeDefinition, toJson, waitMillis } from './asl.ts';
import { appendEvent, type ExecutionRecord, type ExecutionStatus, type TokenRecord } from './history.ts';
import type { ExecutionStore } from './store.ts';
import { type Integrations, type ParsedResource, parseResource, TaskError, UncatchableError } from './tasks.ts';

export const ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:role/local-stepfunctions`;

/** A Standard workflow's maximum execution time: one year (the Step Functions service quotas). */
export const STANDARD_MAX_EXECUTION_SECONDS = 365 * 86_400;

/** Node's setTimeout ceiling: a longer delay fires at once, so longer timers are armed in chunks. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Timer {
  cancel(): void;
}

/** Calls `fn` once after `ms`, of any length: beyond setTimeout's ceiling it re-arms until the instant is reached. */
export function longTimer(ms: number, fn: () => void): Timer {
  const due = Date.now() + Math.max(0, ms);
  let handle: NodeJS.Timeout | undefined;
  const arm = () => {
    handle = setTimeout(() => (due > Date.now() ? arm() : fn()), Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS));
  };
  arm();
  return { cancel: () => clearTimeout(handle) };
}

export interface RunnerContext {
  timeScale: number;
  /** the service's maximum execution time in (unscaled) seconds */
  maxExecutionSeconds: number;
  integrations: Integrations;
  store: ExecutionStore;
  log: (line: string) => void;
  /** a `States.Timeout` error the library treats as its own (not matched by `States.TaskFailed`) */
  timeoutError: () => Error;
  onEnd: (run: ExecutionRun) => void;
}

/** Where a restarted execution picks up: a top-level state, its raw input and, if it was waiting, its token. */
export interface ResumePoint {
  stateName: string;
  rawInput: Json;
  token?: string;
  waitRemainingMs?: number;
}

export type Outcome =
  | { kind: 'success'; output: Json }
  | { kind: 'failure'; error: string; cause: string }
  | { kind: 'timeout'; error: 'States.Timeout' | 'States.HeartbeatTimeout' };

interface Waiter {
  settle(outcome: Outcome): boolean;
  heartbeat(): void;
  abandon(err: Error): void;
  promise: Promise<Outcome>;
  timedOut: Promise<void>;
}

type ExecuteFn = (
  input: unknown,
  options: { eventLogger: { dispatch: (event: unknown) => void } },
  cleanup: unknown,
) => unknown;
type TaskHandler = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>[string];

const TOKEN_PREFIX = 'AQCEAAAAKgAAA';

export function mintToken(executionArn: string): string {
  const body = Buffer.from(JSON.stringify({ x: executionArn, n: randomBytes(24).toString('base64url') }));
  return TOKEN_PREFIX + body.toString('base64url');
}

/** The execution ARN a token belongs to, or undefined if it is not one of ours. */
export function tokenExecution(token: string): string | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    return isObject(parsed) && typeof parsed.x === 'string' && typeof parsed.n === 'string' ? parsed.x : undefined;
  } catch {
    return undefined;
  }
}

const ended = () => new UncatchableError('States.Runtime', 'the execution is no longer running');
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: Json) => JSON.stringify(v);
const TERMINAL_EVENTS: Record<Exclude<ExecutionStatus, 'RUNNING'>, [string, string]> = {
  SUCCEEDED: ['ExecutionSucceeded', 'executionSucceededEventDetails'],
  FAILED: ['ExecutionFailed', 'executionFailedEventDetails'],
  ABORTED: ['ExecutionAborted', 'executionAbortedEventDetails'],
  TIMED_OUT: ['ExecutionTimedOut', 'executionTimedOutEventDetails'],
};

const maxTimeText = (seconds: number) => (seconds % 86_400 === 0 ? `${seconds / 86_400} days` : `${seconds} seconds`);

export class ExecutionRun {
  private ended = false;
  private detached = false;
  private handle?: { abort: () => void; result: Promise<unknown> };
  private pendingToken?: string;
  private resume?: ResumePoint & { enterSuppressed?: boolean };
  private hiddenState?: string;
  private stopInfo?: { error?: string; cause?: string };
  private readonly waiters = new Map<string, Waiter>();
  private readonly timers = new Set<Timer>();

  constructor(
    readonly rec: ExecutionRecord,
    private readonly machine: PreparedMachine,
    private readonly ctx: RunnerContext,
  ) {}

  get running(): boolean {
    return !this.ended && !this.detached;
  }

  start(resume?: ResumePoint): void {
    const input = JSON.parse(this.rec.input) as Json;
    const deadlineAt = this.deadline();
    if (deadlineAt <= Date.now()) {
      this.timeOut(); // it ran out while the platform was stopped: no state runs again
      return;
    }
    this.timer(deadlineAt - Date.now(), () => this.timeOut());
    let definition = this.machine.definition;
    if (resume) {
      const r = resumeDefinition(this.machine, resume.stateName, resume.rawInput);
      definition = r.definition;
      this.hiddenState = r.resumeStateName;
      this.resume = { ...resume };
      this.pendingToken = resume.token;
    }
    const sm = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
    const original = (StateMachine.prototype as unknown as { execute: ExecuteFn }).execute;
    (sm as unknown as { execute: ExecuteFn }).execute = (i, options, cleanup) => {
      options.eventLogger.dispatch = (event) => this.onEvent(event);
      return original.call(sm, i, options, cleanup);
    };
    const handlers: Record<string, TaskHandler> = {};
    for (const name of this.machine.taskStates.keys()) {
      handlers[name] = ((taskInput: unknown) => this.runTask(name, toJson(taskInput))) as TaskHandler;
    }
    const waitTimeOverrides = new Proxy({} as Record<string, number>, {
      get: (_target, name) => (typeof name === 'string' ? this.waitOverride(name) : undefined),
    });
    this.handle = sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides },
      context: this.contextObject(),
    });
    this.handle.result.catch(() => undefined);
  }

  /**
   * The instant the execution times out, fixed at its start: its TimeoutSeconds or the service's maximum, whichever
   * comes first (an execution recorded before the maximum was emulated gets it from its start date).
   */
  private deadline(): number {
    const rec = this.rec;
    if (rec.deadlineAt === undefined) {
      const own = this.machine.timeoutSeconds;
      const byOwn = own !== undefined && own < this.ctx.maxExecutionSeconds;
      rec.deadlineAt = rec.startDate + ((byOwn ? own : this.ctx.maxExecutionSeconds) * 1000) / this.ctx.timeScale;
      rec.deadlineReason = byOwn ? 'TimeoutSeconds' : 'MaxExecutionTime';
      this.save();
    }
    return rec.deadlineAt;
  }

  /** The execution ran out of time: TIMED_OUT with `States.Timeout`, whatever state it was in (not catchable). */
  private timeOut(): void {
    if (!this.running) return;
    const cause =
      this.rec.deadlineReason === 'TimeoutSeconds'
        ? `The execution ran longer than its TimeoutSeconds (${this.machine.timeoutSeconds} s).`
        : `The execution reached the maximum execution time of a Standard workflow (${maxTimeText(this.ctx.maxExecutionSeconds)}).`;
    // finish first: the abort below makes the library report an abort, which a finished run ignores
    this.finish('TIMED_OUT', { error: 'States.Timeout', cause });
    this.handle?.abort();
  }

  /** StopExecution. */
  stop(error?: string, cause?: string): void {
    if (!this.running) return;
    this.stopInfo = { error, cause };
    this.handle?.abort();
    if (!this.ended) this.finish('ABORTED', {});
  }

  /** Platform shutdown: leave the record RUNNING (resumable), release timers and waiters. */
  detach(): void {
    if (!this.running) return;
    this.detached = true;
    this.clearTimers();
    for (const waiter of [...this.waiters.values()]) waiter.abandon(ended());
    this.handle?.abort();
  }

  /** SendTaskSuccess / SendTaskFailure; false when the task is no longer waiting. */
  settleToken(token: string, outcome: Outcome): boolean {
    return this.waiters.get(token)?.settle(outcome) ?? false;
  }

  heartbeatToken(token: string): boolean {
    const waiter = this.waiters.get(token);
    waiter?.heartbeat();
    return waiter !== undefined;
  }

  private contextObject(): Record<string, unknown> {
    const task: Record<string, unknown> = {};
    Object.defineProperty(task, 'Token', {
      enumerable: true,
      get: () => {
        this.pendingToken ??= mintToken(this.rec.executionArn);
        return this.pendingToken;
      },
    });
    const state: Record<string, unknown> = { RetryCount: 0 };
    Object.defineProperty(state, 'Name', { enumerable: true, get: () => this.rec.position?.stateName ?? null });
    Object.defineProperty(state, 'EnteredTime', {
      enumerable: true,
      get: () => new Date(this.rec.position?.enteredAt ?? Date.now()).toISOString(),
    });
    return {
      Execution: {
        Id: this.rec.executionArn,
        Name: this.rec.name,
        RoleArn: ROLE_ARN,
        StartTime: new Date(this.rec.startDate).toISOString(),
      },
      StateMachine: { Id: this.rec.stateMachineArn, Name: this.rec.stateMachineName },
      Task: task,
      State: state,
    };
  }

  private save(): void {
    this.ctx.store.save(this.rec);
  }

  private event(type: string, detailsKey?: string, details?: Record<string, unknown>): void {
    appendEvent(this.rec, type, detailsKey, details);
    this.save();
  }

  private onEvent(raw: unknown): void {
    if (!this.running || !isObject(raw)) return;
    const state = isObject(raw.state) ? raw.state : {};
    const name = typeof state.name === 'string' ? state.name : '';
    const type = typeof state.type === 'string' ? state.type : '';
    if (name && name === this.hiddenState) return;
    switch (raw.type) {
      case 'StateEntered': {
        const input = toJson(state.input);
        if (this.machine.topStates.has(name) && raw.index === undefined) {
          this.rec.position = { stateName: name, stateType: type, rawInput: str(input), enteredAt: Date.now() };
        }
        if (this.resume && !this.resume.enterSuppressed && name === this.resume.stateName) {
          this.resume.enterSuppressed = true; // the original entry is already in the history
          this.save();
          return;
        }
        this.event(`${type}StateEntered`, 'stateEnteredEventDetails', {
          name,
          input: str(input),
          inputDetails: { truncated: false },
        });
        if (type === 'Map' || type === 'Parallel') this.event(`${type}StateStarted`);
        return;
      }
      case 'StateExited':
        if (type === 'Map' || type === 'Parallel') this.event(`${type}StateSucceeded`);
        this.event(`${type}StateExited`, 'stateExitedEventDetails', {
          name,
          output: str(toJson(state.output)),
          outputDetails: { truncated: false },
        });
        return;
      case 'StateFailed':
        if (type === 'Map' || type === 'Parallel') this.event(`${type}StateFailed`);
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const parent = isObject(raw.parentState) ? raw.parentState : {};
        this.event(raw.type, 'mapIterationEventDetails', { name: parent.name, index: raw.index });
        return;
      }
      case 'ExecutionSucceeded':
        this.finish('SUCCEEDED', { output: str(toJson(raw.output)) });
        return;
      case 'ExecutionFailed': {
        const cause = typeof raw.Cause === 'string' ? raw.Cause : raw.Cause instanceof Error ? raw.Cause.message : '';
        this.finish('FAILED', { error: String(raw.Error), cause });
        return;
      }
      case 'ExecutionAborted':
        this.finish('ABORTED', {});
        return;
      default:
        return;
    }
  }

  private finish(
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    fields: { output?: string; error?: string; cause?: string },
  ): void {
    if (!this.running) return;
    this.ended = true;
    const rec = this.rec;
    rec.status = status;
    rec.stopDate = Date.now();
    if (status === 'ABORTED') {
      if (this.stopInfo?.error !== undefined) fields.error = this.stopInfo.error;
      if (this.stopInfo?.cause !== undefined) fields.cause = this.stopInfo.cause;
    }
    Object.assign(rec, fields);
    const [eventType, key] = TERMINAL_EVENTS[status];
    const details: Record<string, unknown> =
      status === 'SUCCEEDED'
        ? { output: fields.output, outputDetails: { truncated: false } }
        : Object.fromEntries(
            Object.entries({ error: fields.error, cause: fields.cause }).filter(([, v]) => v !== undefined),
          );
    appendEvent(rec, eventType, key, details);
    this.clearTimers();
    for (const [token, waiter] of [...this.waiters]) {
      const t = rec.tokens[token];
      if (t?.status === 'WAITING') t.status = 'CLOSED';
      waiter.abandon(ended());
    }
    rec.position = undefined;
    this.ctx.store.saveNow(rec);
    this.ctx.log(`stepfunctions: ${rec.name} (${rec.stateMachineName}) ${status}`);
    this.ctx.onEnd(this);
  }

  private clearTimers(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  private timer(ms: number, fn: () => void): Timer {
    const t = longTimer(ms, () => {
      this.timers.delete(t);
      fn();
    });
    this.timers.add(t);
    return t;
  }

  private clear(t: Timer | undefined): void {
    if (!t) return;
    t.cancel();
    this.timers.delete(t);
  }

  private waitOverride(name: string): number | undefined {
    const pos = this.rec.position;
    const state = this.machine.topStates.get(name);
    if (!pos || pos.stateName !== name || !state || !this.running) return undefined;
    let ms: number | undefined;
    if (this.resume?.stateName === name && this.resume.waitRemainingMs !== undefined) {
      ms = this.resume.waitRemainingMs;
      this.resume.waitRemainingMs = undefined;
    } else {
      ms = waitMillis(state, JSON.parse(pos.rawInput), this.ctx.timeScale, Date.now());
    }
    if (ms !== undefined) {
      pos.waitUntil = Date.now() + ms;
      this.save();
    }
    return ms;
  }

  private async runTask(stateName: string, input: Json): Promise<Json> {
    if (!this.running) throw ended();
    const state = this.machine.taskStates.get(stateName) ?? {};
    const res = parseResource(String(state.Resource));
    const pathNum = (field: string) => {
      const p = state[field];
      return typeof p === 'string' ? num(readPath(input, p)) : undefined;
    };
    const timeoutSeconds = num(state.TimeoutSeconds) ?? pathNum('TimeoutSecondsPath');
    const heartbeatSeconds = num(state.HeartbeatSeconds) ?? pathNum('HeartbeatSecondsPath');
    const scale = this.ctx.timeScale;
    const timeoutAt = timeoutSeconds !== undefined ? Date.now() + (timeoutSeconds * 1000) / scale : undefined;
    const heartbeatMs = heartbeatSeconds !== undefined ? (heartbeatSeconds * 1000) / scale : undefined;
    // Nested (Map/Parallel) state events reach the root logger a few microtasks late: let them land first.
    if (!this.machine.topStates.has(stateName)) await new Promise((resolve) => setImmediate(resolve));
    const limits = {
      ...(timeoutSeconds !== undefined ? { timeoutInSeconds: timeoutSeconds } : {}),
      ...(heartbeatSeconds !== undefined && res.waitForTaskToken ? { heartbeatInSeconds: heartbeatSeconds } : {}),
    };
    if (res.waitForTaskToken) {
      const token = this.pendingToken ?? mintToken(this.rec.executionArn);
      this.pendingToken = undefined;
      return this.runCallbackTask(stateName, res, input, token, { timeoutAt, heartbeatMs, limits });
    }
    this.pendingToken = undefined;
    return this.runRequestTask(res, input, timeoutAt, limits);
  }

  private scheduled(res: ParsedResource, input: Json, limits: Record<string, number>): void {
    if (res.kind === 'lambda-function') {
      this.event('LambdaFunctionScheduled', 'lambdaFunctionScheduledEventDetails', {
        resource: res.arn,
        input: str(input),
        inputDetails: { truncated: false },
        ...(limits.timeoutInSeconds !== undefined ? { timeoutInSeconds: limits.timeoutInSeconds } : {}),
      });
      this.event('LambdaFunctionStarted');
      return;
    }
    const ids = { resourceType: res.resourceType, resource: res.resource };
    this.event('TaskScheduled', 'taskScheduledEventDetails', {
      ...ids,
      region: LOCAL_REGION,
      parameters: str(input),
      ...limits,
    });
    this.event('TaskStarted', 'taskStartedEventDetails', ids);
  }

  private closed(res: ParsedResource, outcome: Outcome): Error | undefined {
    const lambda = res.kind === 'lambda-function';
    const ids = lambda ? {} : { resourceType: res.resourceType, resource: res.resource };
    if (outcome.kind === 'success') {
      const details = { ...ids, output: str(outcome.output), outputDetails: { truncated: false } };
      if (lambda) this.event('LambdaFunctionSucceeded', 'lambdaFunctionSucceededEventDetails', details);
      else this.event('TaskSucceeded', 'taskSucceededEventDetails', details);
      return undefined;
    }
    if (outcome.kind === 'timeout') {
      const details = { ...ids, error: outcome.error, cause: '' };
      if (lambda) this.event('LambdaFunctionTimedOut', 'lambdaFunctionTimedOutEventDetails', details);
      else this.event('TaskTimedOut', 'taskTimedOutEventDetails', details);
      return outcome.error === 'States.Timeout' ? this.ctx.timeoutError() : new TaskError(outcome.error, '');
    }
    const details = { ...ids, error: outcome.error, cause: outcome.cause };
    if (lambda) this.event('LambdaFunctionFailed', 'lambdaFunctionFailedEventDetails', details);
    else this.event('TaskFailed', 'taskFailedEventDetails', details);
    return undefined;
  }

  private async runRequestTask(
    res: ParsedResource,
    input: Json,
    timeoutAt: number | undefined,
    limits: Record<string, number>,
  ): Promise<Json> {
    this.scheduled(res, input, limits);
    const result = await new Promise<{ ok: Json } | { err: unknown } | { timeout: true }>((resolve) => {
      const t =
        timeoutAt !== undefined ? this.timer(timeoutAt - Date.now(), () => resolve({ timeout: true })) : undefined;
      this.ctx.integrations.call(res, input).then(
        (ok) => {
          this.clear(t);
          resolve({ ok });
        },
        (err: unknown) => {
          this.clear(t);
          resolve({ err });
        },
      );
    });
    if (!this.running) throw ended();
    if ('ok' in result) {
      this.closed(res, { kind: 'success', output: result.ok });
      return result.ok;
    }
    if ('timeout' in result) throw this.closed(res, { kind: 'timeout', error: 'States.Timeout' });
    const err = result.err instanceof Error ? result.err : new TaskError('Error', String(result.err));
    this.closed(res, { kind: 'failure', error: err.name, cause: err.message });
    throw err;
  }

  private async runCallbackTask(
    stateName: string,
    res: ParsedResource,
    input: Json,
    token: string,
    opts: { timeoutAt?: number; heartbeatMs?: number; limits: Record<string, number> },
  ): Promise<Json> {
    const existing = this.rec.tokens[token];
    const resumed = existing?.status === 'WAITING';
    const tokenRec: TokenRecord = resumed
      ? existing
      : {
          stateName,
          topLevel: this.machine.topStates.has(stateName),
          status: 'WAITING',
          createdAt: Date.now(),
          submitted: false,
          ...(opts.timeoutAt !== undefined ? { timeoutAt: opts.timeoutAt } : {}),
          ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
        };
    if (resumed && opts.heartbeatMs !== undefined) tokenRec.heartbeatMs = opts.heartbeatMs;
    this.rec.tokens[token] = tokenRec;
    const waiter = this.createWaiter(token, tokenRec);
    this.ctx.store.saveNow(this.rec);
    if (!tokenRec.submitted) {
      this.scheduled(res, input, opts.limits);
      const submitted = await Promise.race([
        this.ctx.integrations.call(res, input).then(
          (ok) => ({ ok }),
          (err: unknown) => ({ err }),
        ),
        waiter.timedOut.then(() => ({ timedOut: true as const })),
      ]);
      if (!this.running) throw ended();
      if ('ok' in submitted) {
        tokenRec.submitted = true;
        this.event('TaskSubmitted', 'taskSubmittedEventDetails', {
          resourceType: res.resourceType,
          resource: res.resource,
          output: str(submitted.ok),
          outputDetails: { truncated: false },
        });
      } else if ('err' in submitted) {
        const err = submitted.err instanceof Error ? submitted.err : new TaskError('Error', String(submitted.err));
        if (waiter.settle({ kind: 'failure', error: err.name, cause: err.message })) {
          this.closed(res, { kind: 'failure', error: err.name, cause: err.message });
          throw err;
        }
      }
    }
    const outcome = await waiter.promise;
    if (!this.running) throw ended();
    const timeoutErr = this.closed(res, outcome);
    if (outcome.kind === 'success') return outcome.output;
    if (timeoutErr) throw timeoutErr;
    throw new TaskError(
      outcome.kind === 'failure' ? outcome.error : 'States.TaskFailed',
      outcome.kind === 'failure' ? outcome.cause : '',
    );
  }

  private createWaiter(token: string, tokenRec: TokenRecord): Waiter {
    let resolve: (o: Outcome) => void = () => undefined;
    let reject: (e: Error) => void = () => undefined;
    let onTimedOut: () => void = () => undefined;
    const promise = new Promise<Outcome>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    const timedOut = new Promise<void>((res) => {
      onTimedOut = res;
    });
    let timeoutTimer: Timer | undefined;
    let heartbeatTimer: Timer | undefined;
    const release = () => {
      this.clear(timeoutTimer);
      this.clear(heartbeatTimer);
      this.waiters.delete(token);
    };
    const waiter: Waiter = {
      promise,
      timedOut,
      settle: (outcome) => {
        if (tokenRec.status !== 'WAITING' || !this.running) return false;
        tokenRec.status =
          outcome.kind === 'success' ? 'SUCCEEDED' : outcome.kind === 'failure' ? 'FAILED' : 'TIMED_OUT';
        release();
        if (outcome.kind === 'timeout') onTimedOut();
        this.save();
        resolve(outcome);
        return true;
      },
      heartbeat: () => {
        if (tokenRec.heartbeatMs === undefined) return;
        this.clear(heartbeatTimer);
        heartbeatTimer = this.timer(tokenRec.heartbeatMs, () =>
          waiter.settle({ kind: 'timeout', error: 'States.HeartbeatTimeout' }),
        );
      },
      abandon: (err) => {
        release();
        reject(err);
      },
    };
    if (tokenRec.timeoutAt !== undefined) {
      timeoutTimer = this.timer(tokenRec.timeoutAt - Date.now(), () =>
        waiter.settle({ kind: 'timeout', error: 'States.Timeout' }),
      );
    }
    waiter.heartbeat();
    this.waiters.set(token, waiter);
    return waiter;
  }
}
