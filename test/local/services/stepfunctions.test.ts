import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { longTimer, mintToken } from '#infra/local/services/stepfunctions/runner.ts';
import {
  STANDARD_MAX_EXECUTION_SECONDS,
  type StepFunctionsService,
  startStepFunctions,
} from '#infra/local/services/stepfunctions.ts';
import type { StateMachineSpec } from '#infra/local/spec.ts';

const fn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const smArn = (name: string) => `arn:aws:states:us-east-1:000000000000:stateMachine:${name}`;

class CustomError extends Error {
  override name = 'CustomError';
}

const flakyCalls: number[] = [];
const notified = new Map<string, string[]>();

async function invoke(ref: string, event: unknown): Promise<unknown> {
  const e = (event ?? {}) as Record<string, unknown>;
  if (ref === fn('add')) return { sum: Number(e.a) + Number(e.b) };
  if (ref === fn('double')) return { value: Number(e.sum) * 2 };
  if (ref === fn('flaky')) {
    flakyCalls.push(Date.now());
    throw new CustomError('sensor offline');
  }
  if (ref === fn('notify')) {
    const id = String(e.id);
    notified.set(id, [...(notified.get(id) ?? []), String(e.token)]);
    return { notified: id };
  }
  throw new Error(`no function ${ref}`);
}

function machine(name: string, definition: Record<string, unknown>): StateMachineSpec {
  return { id: name, name, arn: smArn(name), definition, type: 'STANDARD' };
}

const callbackTask = (extra: Record<string, unknown>) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  Parameters: { FunctionName: fn('notify'), Payload: { 'id.$': '$.id', 'token.$': '$$.Task.Token' } },
  ResultPath: '$.decision',
  ...extra,
});

const machines: StateMachineSpec[] = [
  machine('chain', {
    StartAt: 'Add',
    States: {
      Add: { Type: 'Task', Resource: fn('add'), Next: 'Positive?' },
      'Positive?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.sum', NumericGreaterThan: 0, Next: 'Double' }],
        Default: 'Done',
      },
      Double: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: fn('double'), 'Payload.$': '$' },
        ResultSelector: { 'value.$': '$.Payload.value', 'status.$': '$.StatusCode' },
        Next: 'Pause',
      },
      Pause: { Type: 'Wait', Seconds: 20, Next: 'Done' },
      Done: { Type: 'Pass', End: true },
    },
  }),
  machine('approval', {
    StartAt: 'Ask',
    States: {
      Ask: callbackTask({
        TimeoutSeconds: 86_400,
        Catch: [{ ErrorEquals: ['Rejected'], ResultPath: '$.error', Next: 'Rejected' }],
        Next: 'Approved',
      }),
      Approved: { Type: 'Pass', End: true },
      Rejected: { Type: 'Pass', End: true },
    },
  }),
  machine('deadline', {
    StartAt: 'Ask',
    States: {
      Ask: callbackTask({
        TimeoutSeconds: 200,
        Catch: [
          { ErrorEquals: ['States.TaskFailed'], Next: 'WrongCatch' },
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expired' },
        ],
        End: true,
      }),
      WrongCatch: { Type: 'Fail', Error: 'Wrong' },
      Expired: { Type: 'Pass', End: true },
    },
  }),
  // a wait that catches its own timeout: the execution's time limit is not a task timeout and cannot be caught
  machine('patient', {
    StartAt: 'Ask',
    States: {
      Ask: callbackTask({
        TimeoutSeconds: 86_400,
        Catch: [{ ErrorEquals: ['States.Timeout', 'States.ALL'], ResultPath: '$.error', Next: 'Expired' }],
        End: true,
      }),
      Expired: { Type: 'Pass', End: true },
    },
  }),
  machine('bounded', {
    TimeoutSeconds: 100,
    StartAt: 'Ask',
    States: { Ask: callbackTask({ End: true }) },
  }),
  machine('heartbeat', {
    StartAt: 'Ask',
    States: { Ask: callbackTask({ TimeoutSeconds: 86_400, HeartbeatSeconds: 1000, End: true }) },
  }),
  machine('fanout', {
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Map',
        ItemsPath: '$.ids',
        ItemSelector: { 'id.$': '$$.Map.Item.Value' },
        ItemProcessor: { StartAt: 'AskEach', States: { AskEach: callbackTask({ End: true }) } },
        End: true,
      },
    },
  }),
  machine('retry', {
    StartAt: 'Flaky',
    States: {
      Flaky: {
        Type: 'Task',
        Resource: fn('flaky'),
        Retry: [{ ErrorEquals: ['CustomError'], IntervalSeconds: 50, BackoffRate: 2, MaxAttempts: 2 }],
        Catch: [{ ErrorEquals: ['CustomError'], ResultPath: '$.err', Next: 'Recovered' }],
        End: true,
      },
      Recovered: { Type: 'Pass', End: true },
    },
  }),
];

const dataDir = mkdtempSync(join(tmpdir(), 'envwatch-sfn-'));
let service: StepFunctionsService;
let sfn: SFNClient;

async function startService(): Promise<void> {
  service = await startStepFunctions({ port: 0, dataDir, stateMachines: machines, invoke, timeScale: 1000 });
  sfn = new SFNClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpoint: service.endpoint,
    maxAttempts: 1,
  });
}

async function stopService(): Promise<void> {
  sfn.destroy();
  await service.stop();
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function start(machineName: string, input: unknown, name?: string): Promise<string> {
  const out = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: smArn(machineName), input: JSON.stringify(input), name }),
  );
  return out.executionArn ?? '';
}

async function finished(executionArn: string) {
  return until(async () => {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return d.status === 'RUNNING' ? undefined : d;
  }, `${executionArn} to finish`);
}

const tokenFor = (id: string) => until(() => notified.get(id)?.at(-1), `a task token for ${id}`);

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return out.events ?? [];
}
const types = (events: HistoryEvent[]) => events.map((e) => e.type);

beforeAll(startService);

afterAll(async () => {
  await stopService();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('stepfunctions', () => {
  it('lists and describes the state machines it was given', async () => {
    const list = await sfn.send(new ListStateMachinesCommand({}));
    expect(list.stateMachines?.map((m) => m.name)).toEqual(machines.map((m) => m.name));
    const d = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: smArn('chain') }));
    expect(JSON.parse(d.definition ?? '')).toMatchObject({ StartAt: 'Add' });
    await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: smArn('nope') }))).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
  });

  it('runs a Lambda chain with Choice, lambda:invoke and a scaled Wait to success', async () => {
    const arn = await start('chain', { a: 2, b: 3 }, 'chain-1');
    const d = await finished(arn);
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output ?? '')).toEqual({ value: 10, status: 200 });
    expect(d.startDate).toBeInstanceOf(Date);
    const events = await history(arn);
    expect(types(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'WaitStateEntered',
      'WaitStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.timestamp).toBeInstanceOf(Date);
    expect(events[9]?.taskScheduledEventDetails).toMatchObject({ resourceType: 'lambda', resource: 'invoke' });
    expect(events[1]?.stateEnteredEventDetails).toMatchObject({ name: 'Add', input: '{"a":2,"b":3}' });
  });

  it('pages history with maxResults and nextToken, and reverses it on request', async () => {
    const executionArn = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: smArn('chain') })))
      .executions?.[0]?.executionArn;
    const all = await history(executionArn ?? '');
    const paged: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const out = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5, nextToken }));
      paged.push(...(out.events ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    expect(types(paged)).toEqual(types(all));
    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }),
    );
    expect(reversed.events?.[0]?.type).toBe('ExecutionSucceeded');
  });

  it('finishes a callback task with the output sent by SendTaskSuccess', async () => {
    const arn = await start('approval', { id: 'ok-1' });
    const token = await tokenFor('ok-1');
    const running = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(running.status).toBe('RUNNING');
    expect(service.listExecutions().find((e) => e.executionArn === arn)?.waitingTokens).toEqual([
      expect.objectContaining({ stateName: 'Ask', token }),
    ]);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: true }) }));
    const d = await finished(arn);
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output ?? '')).toEqual({ id: 'ok-1', decision: { approved: true } });
    expect(types(await history(arn))).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('routes SendTaskFailure to the matching Catch', async () => {
    const arn = await start('approval', { id: 'no-1' });
    const token = await tokenFor('no-1');
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'evidence incomplete' }));
    const d = await finished(arn);
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output ?? '')).toEqual({
      id: 'no-1',
      error: { Error: 'Rejected', Cause: 'evidence incomplete' },
    });
    const events = await history(arn);
    expect(events.find((e) => e.type === 'TaskFailed')?.taskFailedEventDetails).toMatchObject({
      error: 'Rejected',
      cause: 'evidence incomplete',
    });
    expect(events.find((e) => e.type === 'PassStateEntered')?.stateEnteredEventDetails?.name).toBe('Rejected');
  });

  it('times a callback task out after TimeoutSeconds, past a States.TaskFailed catcher', async () => {
    const arn = await start('deadline', { id: 'late-1' });
    const d = await finished(arn);
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output ?? '')).toMatchObject({ error: { Error: 'States.Timeout' } });
    const events = await history(arn);
    expect(events.find((e) => e.type === 'TaskTimedOut')?.taskTimedOutEventDetails?.error).toBe('States.Timeout');
    const token = await tokenFor('late-1');
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
  });

  it('fails a callback task with States.HeartbeatTimeout when heartbeats stop', async () => {
    const arn = await start('heartbeat', { id: 'hb-1' });
    const token = await tokenFor('hb-1');
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    const d = await finished(arn);
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.HeartbeatTimeout');
    expect(types(await history(arn))).toContain('TaskTimedOut');
    await expect(sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
  });

  it('rejects forged, unknown and already settled tokens', async () => {
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'forged', output: '{}' }))).rejects.toMatchObject({
      name: 'InvalidToken',
    });
    const arn = await start('approval', { id: 'tok-1' });
    const token = await tokenFor('tok-1');
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: mintToken(arn), output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: 'not json' }))).rejects.toMatchObject({
      name: 'InvalidOutput',
    });
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    await expect(sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    expect((await finished(arn)).status).toBe('SUCCEEDED');
  });

  it('retries a custom Lambda error MaxAttempts times, then catches it', async () => {
    flakyCalls.length = 0;
    const arn = await start('retry', { reading: 1 });
    const d = await finished(arn);
    expect(d.status).toBe('SUCCEEDED');
    expect(flakyCalls).toHaveLength(3);
    const output = JSON.parse(d.output ?? '') as { err: { Error: string; Cause: string } };
    expect(output.err.Error).toBe('CustomError');
    expect(JSON.parse(output.err.Cause)).toMatchObject({ errorType: 'CustomError', errorMessage: 'sensor offline' });
    expect(types(await history(arn)).filter((t) => t === 'LambdaFunctionFailed')).toHaveLength(3);
  });

  it('treats StartExecution with the same name and input as idempotent while it runs', async () => {
    const first = await start('approval', { id: 'idem-1' }, 'idem');
    const again = await start('approval', { id: 'idem-1' }, 'idem');
    expect(again).toBe(first);
    await expect(start('approval', { id: 'other' }, 'idem')).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await sfn.send(new StopExecutionCommand({ executionArn: first, error: 'Withdrawn', cause: 'test over' }));
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: first }));
    expect(d).toMatchObject({ status: 'ABORTED', error: 'Withdrawn', cause: 'test over' });
    await expect(start('approval', { id: 'idem-1' }, 'idem')).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('answers with the named AWS exceptions for bad requests', async () => {
    const executionArn = `${smArn('chain').replace(':stateMachine:', ':execution:')}:missing`;
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: smArn('chain'), input: '{oops' })),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: smArn('nope') }))).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
  });

  it('lists executions by state machine and status', async () => {
    const byStatus = async (statusFilter: ExecutionStatus) =>
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn: smArn('approval'), statusFilter }))).executions ??
      [];
    expect((await byStatus('SUCCEEDED')).length).toBeGreaterThanOrEqual(3);
    expect((await byStatus('ABORTED')).map((e) => e.name)).toEqual(['idem']);
    expect((await byStatus('FAILED')).length).toBe(0);
  });

  it('resumes an execution waiting on a token after a restart, with the same token', async () => {
    const arn = await start('approval', { id: 'persist-1' }, 'persist');
    const token = await tokenFor('persist-1');
    await stopService();
    await startService();
    const restored = service.listExecutions().find((e) => e.executionArn === arn);
    expect(restored).toMatchObject({ status: 'RUNNING', currentState: 'Ask' });
    expect(restored?.waitingTokens.map((t) => t.token)).toEqual([token]);
    const chainArn = `${smArn('chain').replace(':stateMachine:', ':execution:')}:chain-1`;
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: chainArn }))).status).toBe('SUCCEEDED');
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approved: 'after restart' }) }),
    );
    const d = await finished(arn);
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output ?? '')).toEqual({ id: 'persist-1', decision: { approved: 'after restart' } });
    expect(notified.get('persist-1')).toHaveLength(1);
    const events = await history(arn);
    expect(types(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
  });

  it('fails an execution that was inside a Map state when the platform restarted, with a clear cause', async () => {
    const arn = await start('fanout', { ids: ['map-1', 'map-2'] });
    await tokenFor('map-1');
    const token = await tokenFor('map-2');
    const before = types(await history(arn));
    expect(before.indexOf('MapIterationStarted')).toBeLessThan(before.indexOf('TaskScheduled'));
    expect(before.indexOf('TaskStateEntered')).toBeLessThan(before.indexOf('TaskScheduled'));
    await stopService();
    await startService();
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.Runtime');
    expect(d.cause).toMatch(/inside Map state 'Fan'/);
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
  });

  it('times out an execution at its machine’s TimeoutSeconds: TIMED_OUT, States.Timeout, ExecutionTimedOut', async () => {
    const arn = await start('bounded', { id: 'bounded-1' });
    const token = await tokenFor('bounded-1');
    const d = await finished(arn);
    expect(d).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(d.cause).toContain('TimeoutSeconds');
    expect((await history(arn)).at(-1)).toMatchObject({
      type: 'ExecutionTimedOut',
      executionTimedOutEventDetails: { error: 'States.Timeout' },
    });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
  });
});

describe('stepfunctions: the maximum execution time', () => {
  const SCALE = 1000;
  const dir = mkdtempSync(join(tmpdir(), 'envwatch-sfn-max-'));
  let limited: StepFunctionsService;
  let client: SFNClient;
  /** one second of real time at SCALE */
  const MAX = 1000;

  const boot = async () => {
    limited = await startStepFunctions({
      port: 0,
      dataDir: dir,
      stateMachines: machines,
      invoke,
      timeScale: SCALE,
      maxExecutionSeconds: MAX,
    });
    client = new SFNClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      endpoint: limited.endpoint,
      maxAttempts: 1,
    });
  };
  const halt = async () => {
    client.destroy();
    await limited.stop();
  };
  const run = async (id: string) =>
    (
      await client.send(
        new StartExecutionCommand({ stateMachineArn: smArn('patient'), input: JSON.stringify({ id }), name: id }),
      )
    ).executionArn ?? '';
  const describeIt = (executionArn: string) => client.send(new DescribeExecutionCommand({ executionArn }));
  const done = (executionArn: string) =>
    until(async () => {
      const d = await describeIt(executionArn);
      return d.status === 'RUNNING' ? undefined : d;
    }, `${executionArn} to finish`);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(boot);
  afterAll(async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to one year, a Standard workflow’s limit', () => {
    expect(STANDARD_MAX_EXECUTION_SECONDS).toBe(365 * 24 * 3600);
  });

  it('ends a waiting execution past the maximum TIMED_OUT with States.Timeout, which no Catch sees', async () => {
    const arn = await run('max-1');
    const token = await tokenFor('max-1');
    const d = await done(arn);
    expect(d).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(d.cause).toBe('The execution reached the maximum execution time of a Standard workflow (1000 seconds).');
    const elapsed = (d.stopDate?.getTime() ?? 0) - (d.startDate?.getTime() ?? 0);
    expect(elapsed).toBeGreaterThanOrEqual((MAX * 1000) / SCALE - 5);
    const events = await client.send(new GetExecutionHistoryCommand({ executionArn: arn }));
    expect(types(events.events ?? []).slice(-2)).toEqual(['TaskSubmitted', 'ExecutionTimedOut']);
    expect(events.events?.at(-1)?.executionTimedOutEventDetails).toEqual({ error: 'States.Timeout', cause: d.cause });
    // the platform's page shows it, and the token is closed
    expect(limited.listExecutions().find((e) => e.executionArn === arn)).toMatchObject({
      status: 'TIMED_OUT',
      error: 'States.Timeout',
      waitingTokens: [],
    });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    const timedOut = await client.send(
      new ListExecutionsCommand({ stateMachineArn: smArn('patient'), statusFilter: 'TIMED_OUT' }),
    );
    expect(timedOut.executions?.map((e) => e.name)).toContain('max-1');
  });

  it('keeps the instant across a restart: a resumed execution times out when it would have, not counted again', async () => {
    const arn = await run('max-2');
    await tokenFor('max-2');
    await halt();
    await sleep(500);
    await boot();
    expect((await describeIt(arn)).status).toBe('RUNNING');
    const d = await done(arn);
    expect(d.status).toBe('TIMED_OUT');
    const elapsed = (d.stopDate?.getTime() ?? 0) - (d.startDate?.getTime() ?? 0);
    // from the start: a limit counted again from the restart would end it ~500 ms later
    expect(elapsed).toBeLessThan((MAX * 1000) / SCALE + 400);
  });

  it('times out at once, running nothing again, an execution whose instant passed while the platform was stopped', async () => {
    const arn = await run('max-3');
    await tokenFor('max-3');
    const started = (await describeIt(arn)).startDate?.getTime() ?? 0;
    await halt();
    await sleep(Math.max(0, started + (MAX * 1000) / SCALE + 50 - Date.now()));
    await boot();
    const d = await describeIt(arn);
    expect(d).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    const events = await client.send(new GetExecutionHistoryCommand({ executionArn: arn }));
    expect(types(events.events ?? []).filter((t) => t === 'TaskScheduled')).toHaveLength(1);
    expect(notified.get('max-3')).toHaveLength(1);
  });
});

describe('long timers', () => {
  it('fire once at the instant even past setTimeout’s 24.8-day ceiling, and not before', () => {
    vi.useFakeTimers();
    try {
      let fired = 0;
      const thirtyDays = 30 * 86_400_000;
      longTimer(thirtyDays, () => fired++);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(thirtyDays - 2);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(1);
      vi.advanceTimersByTime(thirtyDays);
      expect(fired).toBe(1);
      const cancelled = longTimer(thirtyDays, () => fired++);
      vi.advanceTimersByTime(25 * 86_400_000);
      cancelled.cancel();
      vi.advanceTimersByTime(thirtyDays);
      expect(fired).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
