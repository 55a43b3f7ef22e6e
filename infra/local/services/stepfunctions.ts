/**
 * Local Step Functions: aws-local-stepfunctions 3.0.0 behind an HTTP facade that speaks the real wire protocol
 * (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Op>`), so handlers and tests use the real `SFNClient`.
 *
 * Operations: StartExecution, DescribeExecution, GetExecutionHistory, ListExecutions, StopExecution,
 * ListStateMachines, DescribeStateMachine, DescribeStateMachineForExecution, SendTaskSuccess, SendTaskFailure,
 * SendTaskHeartbeat. Errors are HTTP 400 `{"__type","message"}`, so the SDK raises its named exceptions.
 *
 * Tasks: Lambda ARNs and `lambda:invoke` through `invoke`; `sns:publish`, `sqs:sendMessage`, DynamoDB
 * put/get/update/deleteItem through `awsEndpoints`; `.waitForTaskToken` emulated (one opaque token per waiting
 * attempt, `TimeoutSeconds` → States.Timeout, `HeartbeatSeconds` → States.HeartbeatTimeout). An execution that runs
 * past its machine's `TimeoutSeconds` or the service's maximum execution time (`maxExecutionSeconds`, one year as a
 * Standard workflow's unless configured) ends TIMED_OUT with `States.Timeout`, as AWS ends it (the quotas say: "it
 * will fail with a States.Timeout error and emit a ExecutionsTimedOut CloudWatch metric"). `timeScale` divides
 * Wait, Retry and timeout durations and the maximum. Not supported: JSONata, `Assign`, `.sync`, `aws-sdk:*`, activities, redrive,
 * versions/aliases, Map `ItemReader`; EXPRESS machines run like STANDARD ones.
 *
 * Persistence: each execution (status, input, output, history, tokens, current top-level state) is a JSON file
 * under `${dataDir}/stepfunctions/executions/`. On start, executions still RUNNING are resumed at the top-level
 * state they were in: a callback task keeps waiting on the SAME token (its message is not sent again unless the
 * send itself was interrupted), a Wait state waits out its remaining time, a Lambda task is invoked again
 * (at-least-once, like a retry), a Pass/Choice state re-runs. An execution that was inside a Map or Parallel
 * state cannot be resumed: it is marked FAILED (`States.Runtime`) with a cause saying so.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { StateMachine } from 'aws-local-stepfunctions';
import type { InvokeFn, LocalService, StateMachineSpec } from '#infra/local/spec.ts';
import { isObject, type Json, type PreparedMachine, prepareMachine } from './stepfunctions/asl.ts';
import {
  appendEvent,
  decodePageToken,
  describe,
  type ExecutionRecord,
  type ExecutionStatus,
  encodePageToken,
  summarize,
  wireEvent,
} from './stepfunctions/history.ts';
import {
  ExecutionRun,
  type Outcome,
  ROLE_ARN,
  type RunnerContext,
  STANDARD_MAX_EXECUTION_SECONDS,
  tokenExecution,
} from './stepfunctions/runner.ts';
import { ExecutionStore, ValidationCache } from './stepfunctions/store.ts';
import { Integrations, parseResource } from './stepfunctions/tasks.ts';

export type { ExecutionStatus } from './stepfunctions/history.ts';
export { STANDARD_MAX_EXECUTION_SECONDS } from './stepfunctions/runner.ts';

export interface ExecutionSummary {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  /** ISO 8601 UTC */
  startDate: string;
  stopDate?: string;
  /** the top-level state a RUNNING execution is in */
  currentState?: string;
  /** task tokens it waits on (to approve or reject by hand from the platform's pages) */
  waitingTokens: { stateName: string; token: string; since: string }[];
  error?: string;
  cause?: string;
}

export interface StepFunctionsService extends LocalService {
  endpoint: string;
  /** for the platform's pages, newest first */
  listExecutions(): ExecutionSummary[];
}

export interface StartStepFunctionsOptions {
  host?: string;
  /** 0 = pick a free one */
  port: number;
  /** persists under `${dataDir}/stepfunctions/` */
  dataDir: string;
  stateMachines: StateMachineSpec[];
  invoke: InvokeFn;
  awsEndpoints?: { sns?: string; dynamodb?: string; sqs?: string };
  /** divide Wait seconds, Retry intervals, TimeoutSeconds and HeartbeatSeconds by this (tests use e.g. 1000) */
  timeScale?: number;
  /**
   * the longest an execution may run, in seconds (scaled like the waits): past it the execution ends TIMED_OUT with
   * `States.Timeout`. Default STANDARD_MAX_EXECUTION_SECONDS (one year, as AWS); tests shorten it.
   */
  maxExecutionSeconds?: number;
  log?: (line: string) => void;
}

class SfnError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUSES: ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
const validName = (name: string) =>
  name.length >= 1 &&
  name.length <= 80 &&
  !/[\s<>{}[\]?*"#%\\^|~`$&,;:/]/.test(name) &&
  ![...name].some((c) => c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f));

/** aws-local-stepfunctions 3.x calls Promise.withResolvers, which Node 20 lacks. */
function polyfillWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: <T>() => {
      let resolve: (v: T) => void = () => undefined;
      let reject: (e: unknown) => void = () => undefined;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/** The library's internal StatesTimeoutError class, captured from a 1 ms run, so `States.TaskFailed` skips it. */
async function timeoutErrorFactory(): Promise<() => Error> {
  const probe = new StateMachine(
    {
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
          TimeoutSeconds: 0.001,
          End: true,
        },
      },
    } as never,
    { validationOptions: { noValidate: true } },
  );
  const run = probe.run(
    {},
    { overrides: { taskResourceLocalHandlers: { T: () => new Promise<never>(() => undefined) } } },
  );
  try {
    await run.result;
  } catch (err) {
    const cause = err instanceof Error ? err.cause : undefined;
    if (cause instanceof Error && cause.name === 'States.Timeout') {
      const Ctor = cause.constructor as new () => Error;
      return () => new Ctor();
    }
  }
  return () => Object.assign(new Error('States.Timeout'), { name: 'States.Timeout' });
}

function reqStr(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw new SfnError('ValidationException', `${key} is required`);
  return v;
}

function optStr(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SfnError('ValidationException', `${key} must be a string`);
  return v;
}

function page<T>(items: T[], body: Record<string, unknown>, tag: string): { items: T[]; nextToken?: string } {
  const raw = body.maxResults;
  const max = typeof raw === 'number' && raw > 0 ? Math.min(raw, 1000) : 100;
  let offset = 0;
  const token = optStr(body, 'nextToken');
  if (token !== undefined) {
    const decoded = decodePageToken(tag, token);
    if (decoded === undefined) throw new SfnError('InvalidToken', 'Invalid pagination token');
    offset = decoded;
  }
  const slice = items.slice(offset, offset + max);
  return offset + max < items.length
    ? { items: slice, nextToken: encodePageToken(tag, offset + max) }
    : { items: slice };
}

export async function startStepFunctions(opts: StartStepFunctionsOptions): Promise<StepFunctionsService> {
  polyfillWithResolvers();
  const log = opts.log ?? (() => undefined);
  const timeScale = opts.timeScale && opts.timeScale > 0 ? opts.timeScale : 1;
  const maxExecutionSeconds = opts.maxExecutionSeconds ?? STANDARD_MAX_EXECUTION_SECONDS;
  if (!(maxExecutionSeconds > 0)) throw new Error(`maxExecutionSeconds must be positive, not ${maxExecutionSeconds}`);
  const host = opts.host ?? '127.0.0.1';
  const createdAt = Date.now();
  const store = new ExecutionStore(opts.dataDir, log);
  const integrations = new Integrations({ invoke: opts.invoke, awsEndpoints: opts.awsEndpoints ?? {} });

  const validated = new ValidationCache(opts.dataDir);
  const machines = new Map<string, { spec: StateMachineSpec; prepared: PreparedMachine }>();
  for (const spec of opts.stateMachines) {
    const prepared = prepareMachine(spec.definition, timeScale);
    const problem = validated.check(spec.definition);
    if (problem) log(`stepfunctions: ${spec.name}: ASL validation warnings (running anyway): ${problem}`);
    for (const [name, state] of prepared.taskStates) {
      if (parseResource(String(state.Resource)).kind === 'unsupported') {
        log(`stepfunctions: ${spec.name}: state '${name}' uses unsupported resource ${String(state.Resource)}`);
      }
    }
    for (const problem of prepared.problems) log(`stepfunctions: ${spec.name}: ${problem}`);
    machines.set(spec.arn, { spec, prepared });
  }

  const records = new Map<string, ExecutionRecord>();
  const runs = new Map<string, ExecutionRun>();
  const ctx: RunnerContext = {
    timeScale,
    maxExecutionSeconds,
    integrations,
    store,
    log,
    timeoutError: await timeoutErrorFactory(),
    onEnd: (run) => runs.delete(run.rec.executionArn),
  };

  const failRecord = (rec: ExecutionRecord, error: string, cause: string) => {
    rec.status = 'FAILED';
    rec.stopDate = Date.now();
    rec.error = error;
    rec.cause = cause;
    rec.position = undefined;
    for (const t of Object.values(rec.tokens)) if (t.status === 'WAITING') t.status = 'CLOSED';
    appendEvent(rec, 'ExecutionFailed', 'executionFailedEventDetails', { error, cause });
    store.saveNow(rec);
    log(`stepfunctions: ${rec.name} (${rec.stateMachineName}) FAILED: ${cause}`);
  };

  const resume = (rec: ExecutionRecord) => {
    const m = machines.get(rec.stateMachineArn);
    if (!m) return failRecord(rec, 'States.Runtime', 'The state machine no longer exists in the local platform.');
    const pos = rec.position ?? {
      stateName: String(m.spec.definition.StartAt),
      stateType: '',
      rawInput: rec.input,
      enteredAt: rec.startDate,
    };
    const state = m.prepared.topStates.get(pos.stateName);
    if (!state) {
      return failRecord(
        rec,
        'States.Runtime',
        `The local platform restarted and state '${pos.stateName}' no longer exists.`,
      );
    }
    if (state.Type === 'Map' || state.Type === 'Parallel') {
      return failRecord(
        rec,
        'States.Runtime',
        `The local platform restarted while this execution was inside ${String(state.Type)} state '${pos.stateName}'; ` +
          'the local Step Functions runner can only resume executions at top-level states.',
      );
    }
    if (m.prepared.problems.length > 0) return failRecord(rec, 'States.Runtime', m.prepared.problems.join('; '));
    let token: string | undefined;
    for (const [t, info] of Object.entries(rec.tokens)) {
      if (info.status !== 'WAITING') continue;
      if (!token && info.topLevel && info.stateName === pos.stateName) token = t;
      else info.status = 'CLOSED';
    }
    const run = new ExecutionRun(rec, m.prepared, ctx);
    runs.set(rec.executionArn, run);
    log(`stepfunctions: resuming ${rec.name} (${rec.stateMachineName}) at '${pos.stateName}'`);
    run.start({
      stateName: pos.stateName,
      rawInput: JSON.parse(pos.rawInput) as Json,
      ...(token ? { token } : {}),
      ...(pos.waitUntil !== undefined ? { waitRemainingMs: Math.max(0, pos.waitUntil - Date.now()) } : {}),
    });
  };

  for (const rec of store.loadAll()) records.set(rec.executionArn, rec);
  for (const rec of records.values()) if (rec.status === 'RUNNING') resume(rec);

  const execution = (body: Record<string, unknown>) => {
    const arn = reqStr(body, 'executionArn');
    const rec = records.get(arn);
    if (!rec) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return rec;
  };
  const machine = (arn: string) => {
    const m = machines.get(arn);
    if (!m) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  };
  const describeMachine = (spec: StateMachineSpec) => ({
    stateMachineArn: spec.arn,
    name: spec.name,
    status: 'ACTIVE',
    definition: JSON.stringify(spec.definition),
    roleArn: ROLE_ARN,
    type: spec.type,
    creationDate: createdAt / 1000,
    loggingConfiguration: { level: 'OFF', includeExecutionData: false },
    tracingConfiguration: { enabled: false },
  });
  const waitingRun = (token: string) => {
    const arn = tokenExecution(token);
    if (!arn) throw new SfnError('InvalidToken', 'Invalid Token: the task token is malformed');
    const rec = records.get(arn);
    const info = rec?.tokens[token];
    if (!rec || !info) throw new SfnError('TaskDoesNotExist', 'Task Does Not Exist');
    const run = runs.get(arn);
    if (info.status !== 'WAITING' || rec.status !== 'RUNNING' || !run) {
      throw new SfnError('TaskTimedOut', 'Task Timed Out: the task has already been closed');
    }
    return run;
  };
  const settle = (token: string, outcome: Outcome) => {
    if (!waitingRun(token).settleToken(token, outcome)) {
      throw new SfnError('TaskTimedOut', 'Task Timed Out: the task has already been closed');
    }
    return {};
  };

  const ops: Record<string, (body: Record<string, unknown>) => unknown> = {
    StartExecution: (body) => {
      const m = machine(reqStr(body, 'stateMachineArn'));
      const name = optStr(body, 'name') ?? randomUUID();
      if (!validName(name)) throw new SfnError('InvalidName', `Invalid Name: '${name}'`);
      const input = optStr(body, 'input') ?? '{}';
      try {
        JSON.parse(input);
      } catch {
        throw new SfnError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input is not valid JSON');
      }
      const executionArn = `${m.spec.arn.replace(':stateMachine:', ':execution:')}:${name}`;
      const existing = records.get(executionArn);
      if (existing) {
        if (existing.status === 'RUNNING' && existing.input === input) {
          return { executionArn, startDate: existing.startDate / 1000 };
        }
        throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      }
      const rec: ExecutionRecord = {
        executionArn,
        stateMachineArn: m.spec.arn,
        stateMachineName: m.spec.name,
        name,
        status: 'RUNNING',
        input,
        startDate: Date.now(),
        tokens: {},
        history: [],
      };
      appendEvent(rec, 'ExecutionStarted', 'executionStartedEventDetails', {
        input,
        inputDetails: { truncated: false },
        roleArn: ROLE_ARN,
      });
      records.set(executionArn, rec);
      log(`stepfunctions: start ${name} (${m.spec.name})`);
      if (m.prepared.problems.length > 0) {
        failRecord(rec, 'States.Runtime', m.prepared.problems.join('; '));
      } else {
        const run = new ExecutionRun(rec, m.prepared, ctx);
        runs.set(executionArn, run);
        store.saveNow(rec);
        run.start();
      }
      return { executionArn, startDate: rec.startDate / 1000 };
    },
    DescribeExecution: (body) => describe(execution(body)),
    DescribeStateMachineForExecution: (body) => {
      const rec = execution(body);
      const m = machines.get(rec.stateMachineArn);
      if (!m) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${rec.stateMachineArn}'`);
      const { status: _status, type: _type, creationDate, ...rest } = describeMachine(m.spec);
      return { ...rest, updateDate: creationDate };
    },
    GetExecutionHistory: (body) => {
      const rec = execution(body);
      const reverse = body.reverseOrder === true;
      const events = reverse ? [...rec.history].reverse() : rec.history;
      const result = page(events, body, `h:${rec.executionArn}:${reverse}`);
      const includeData = body.includeExecutionData !== false;
      return { events: result.items.map((e) => wireEvent(e, includeData)), nextToken: result.nextToken };
    },
    ListExecutions: (body) => {
      const m = machine(reqStr(body, 'stateMachineArn'));
      const statusFilter = optStr(body, 'statusFilter');
      if (statusFilter !== undefined && !STATUSES.includes(statusFilter as ExecutionStatus)) {
        throw new SfnError('ValidationException', `Invalid statusFilter '${statusFilter}'`);
      }
      const list = [...records.values()]
        .filter((r) => r.stateMachineArn === m.spec.arn && (!statusFilter || r.status === statusFilter))
        .sort((a, b) => b.startDate - a.startDate);
      const result = page(list, body, `e:${m.spec.arn}:${statusFilter ?? ''}`);
      return { executions: result.items.map(summarize), nextToken: result.nextToken };
    },
    StopExecution: (body) => {
      const rec = execution(body);
      runs.get(rec.executionArn)?.stop(optStr(body, 'error'), optStr(body, 'cause'));
      return { stopDate: (rec.stopDate ?? Date.now()) / 1000 };
    },
    ListStateMachines: (body) => {
      const list = [...machines.values()].map(({ spec }) => ({
        stateMachineArn: spec.arn,
        name: spec.name,
        type: spec.type,
        creationDate: createdAt / 1000,
      }));
      const result = page(list, body, 'sm');
      return { stateMachines: result.items, nextToken: result.nextToken };
    },
    DescribeStateMachine: (body) => describeMachine(machine(reqStr(body, 'stateMachineArn')).spec),
    SendTaskSuccess: (body) => {
      const token = reqStr(body, 'taskToken');
      const output = reqStr(body, 'output');
      let parsed: Json;
      try {
        parsed = JSON.parse(output) as Json;
      } catch {
        throw new SfnError('InvalidOutput', 'Invalid Output: output is not valid JSON');
      }
      return settle(token, { kind: 'success', output: parsed });
    },
    SendTaskFailure: (body) => {
      const token = reqStr(body, 'taskToken');
      return settle(token, { kind: 'failure', error: optStr(body, 'error') ?? '', cause: optStr(body, 'cause') ?? '' });
    },
    SendTaskHeartbeat: (body) => {
      const token = reqStr(body, 'taskToken');
      waitingRun(token).heartbeatToken(token);
      return {};
    },
  };

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
      const handler = ops[op];
      try {
        if (req.method !== 'POST' || !handler) {
          throw new SfnError('UnknownOperationException', `Unsupported operation '${target}'`);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = {};
        try {
          body = text ? JSON.parse(text) : {};
        } catch {
          throw new SfnError('SerializationException', 'Request body is not valid JSON');
        }
        send(res, 200, handler(isObject(body) ? body : {}) ?? {});
      } catch (err) {
        if (err instanceof SfnError) {
          send(res, 400, { __type: err.type, message: err.message });
        } else {
          log(`stepfunctions: ${op} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          send(res, 500, { __type: 'InternalFailure', message: 'internal error in the local Step Functions service' });
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host}:${port}`;
  log(`stepfunctions: ${machines.size} state machine(s) at ${endpoint}`);

  return {
    name: 'stepfunctions',
    endpoint,
    listExecutions: () =>
      [...records.values()]
        .sort((a, b) => b.startDate - a.startDate)
        .map((rec) => {
          const summary: ExecutionSummary = {
            executionArn: rec.executionArn,
            stateMachineArn: rec.stateMachineArn,
            stateMachineName: rec.stateMachineName,
            name: rec.name,
            status: rec.status,
            startDate: new Date(rec.startDate).toISOString(),
            waitingTokens: Object.entries(rec.tokens)
              .filter(([, t]) => t.status === 'WAITING')
              .map(([token, t]) => ({ stateName: t.stateName, token, since: new Date(t.createdAt).toISOString() })),
          };
          if (rec.stopDate !== undefined) summary.stopDate = new Date(rec.stopDate).toISOString();
          if (rec.status === 'RUNNING' && rec.position) summary.currentState = rec.position.stateName;
          if (rec.error !== undefined) summary.error = rec.error;
          if (rec.cause !== undefined) summary.cause = rec.cause;
          return summary;
        }),
    stop: async () => {
      for (const run of [...runs.values()]) run.detach();
      runs.clear();
      store.flush();
      integrations.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      log('stepfunctions: stopped');
    },
  };
}
