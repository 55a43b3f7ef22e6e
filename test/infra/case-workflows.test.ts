import { Template } from 'aws-cdk-lib/assertions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEADLINE_WARNING_MINUTES,
  entryState,
  escalatedState,
  escalateState,
  FOLLOW_UP_SCHEDULE,
  FUNCTION_ARN,
  followState,
  lapsedState,
  RETRYABLE_ERRORS,
  recordState,
  routeState,
  STATE_MACHINE_ENV,
  timerState,
  WAIT_FOR_TASK_TOKEN,
} from '#infra/constructs/case-workflows.ts';
import { EnvWatchFunction } from '#infra/constructs/envwatch-function.ts';
import { computeDeadline } from '#shared/domain/cases/deadlines.ts';
import {
  enterStep,
  FLOWS,
  hasTimer,
  MAX_ESCALATIONS,
  REWARD_STEP_SLA,
  TRANSFER_STEP_SLA,
  type WorkflowName,
} from '#shared/domain/cases/timers.ts';
import { TRANSFER_FLOW } from '#shared/domain/cases/transfer.ts';
import { stepFunctionsOutline } from '#shared/domain/cases/workflow.ts';
import {
  asArray,
  type BuiltApp,
  buildForTest,
  formatFindings,
  idsOfType,
  isError,
  isRecord,
  logicalId,
  props,
  type SynthesizedApp,
  synthFindings,
  synthForTest,
} from './helpers.ts';

/**
 * The case workflows as synthesized: two STANDARD state machines whose definitions follow REWARD_FLOW and
 * TRANSFER_FLOW step for step (workflow.ts stepFunctionsOutline), every human step a waitForTaskToken task whose
 * timer is the step's deadline or service level (no task-token wait without a timeout), the criminal proceedings handed
 * to the periodic follow-up instead of waited on, every action leading to the next step's entry state, Lambda faults
 * retried, timeouts escalated at most twice, logging and tracing on, cdk-nag clean.
 */
type Json = Record<string, unknown>;

let s: SynthesizedApp;
const machines = {} as Record<WorkflowName, { id: string; def: Json; states: Record<string, Json> }>;
let tasksFnId: string;

beforeAll(() => {
  s = synthForTest({ stage: 'dev' });
  tasksFnId = logicalId(s.api.caseWorkflows.tasks.fn);
  for (const [name, sm] of [
    ['reward', s.api.caseWorkflows.reward],
    ['transfer', s.api.caseWorkflows.transfer],
  ] as const) {
    const id = logicalId(sm);
    const p = props(s.apiTemplate, id);
    const text = p['DefinitionString'];
    expect(typeof text, 'the definition is a plain JSON string with substitutions').toBe('string');
    const def = JSON.parse(String(text)) as Json;
    machines[name] = { id, def, states: def['States'] as Record<string, Json> };
  }
});

afterAll(() => s?.cleanup());

const WORKFLOWS: WorkflowName[] = ['reward', 'transfer'];

describe.each(WORKFLOWS)('%s state machine', (workflow) => {
  const m = () => machines[workflow];
  const outline = stepFunctionsOutline(FLOWS[workflow]);

  it('is a STANDARD machine in JSONPath mode, logging every event to its log group, traced', () => {
    const p = props(s.apiTemplate, m().id);
    expect(p['StateMachineType']).toBe('STANDARD');
    expect(m().def['QueryLanguage']).toBe('JSONPath');
    expect(p['TracingConfiguration']).toEqual({ Enabled: true });
    const logging = p['LoggingConfiguration'] as Json;
    expect(logging['Level']).toBe('ALL');
    expect(logging['IncludeExecutionData']).toBe(false);
    expect(
      s.render(p['DefinitionSubstitutions'] && (p['DefinitionSubstitutions'] as Json)['CaseTasksFunctionArn']),
    ).toBe(`\${${tasksFnId}.Arn}`);
  });

  it('starts at the entry state of the first step', () => {
    expect(m().def['StartAt']).toBe(entryState(workflow, FLOWS[workflow].start));
    expect(m().def['StartAt']).toBe(timerState(FLOWS[workflow].start));
  });

  it.each(outline.map((o) => [o.state, o] as const))('step %s matches the table', (name, o) => {
    const states = m().states;
    const st = states[name];
    expect(st, `state ${name}`).toBeDefined();
    if (o.type === 'Succeed') {
      expect(st?.['Type']).toBe('Succeed');
      const record = states[recordState(name)];
      expect(record?.['Next']).toBe(name);
      expect(record?.['Parameters']).toMatchObject({ kind: 'record', step: name });
      return;
    }
    if (o.type === 'FollowUp') {
      // no execution waits on it: the follow-up's first task is recorded, and the execution ends
      expect(st?.['Type']).toBe('Succeed');
      const follow = states[followState(name)];
      expect(follow).toMatchObject({
        Type: 'Task',
        Resource: FUNCTION_ARN,
        Next: name,
        Parameters: {
          kind: 'follow',
          workflow,
          step: name,
          'caseId.$': '$.caseId',
          'executionArn.$': '$$.Execution.Id',
          'enteredTime.$': '$$.State.EnteredTime',
          'state.$': '$',
        },
      });
      expect(states[routeState(name)]).toBeUndefined();
      expect(
        Object.values(states).some(
          (x) =>
            JSON.stringify(x['Parameters'] ?? {}).includes(`"step":"${name}"`) && x['Resource'] === WAIT_FOR_TASK_TOKEN,
        ),
      ).toBe(false);
      return;
    }
    if (o.type === 'Choice') {
      // a system step: the case-tasks function decides (systemChoice), then a Choice branches on it
      expect(st?.['Type']).toBe('Task');
      expect(st?.['Resource']).toBe(FUNCTION_ARN);
      expect(st?.['Parameters']).toMatchObject({ kind: 'system', workflow, step: name });
      expect(st?.['ResultPath']).toBe('$.decision');
    } else {
      expect(st?.['Type']).toBe('Task');
      expect(st?.['Resource']).toBe(WAIT_FOR_TASK_TOKEN);
      const params = st?.['Parameters'] as Json;
      expect(params['FunctionName']).toBe(FUNCTION_ARN);
      expect(params['Payload']).toMatchObject({
        kind: 'task',
        workflow,
        step: name,
        'caseId.$': '$.caseId',
        'token.$': '$$.Task.Token',
        'executionArn.$': '$$.Execution.Id',
        'timer.$': '$.Payload.timer',
        'input.$': '$',
      });
      expect(st?.['ResultPath']).toBe('$.decision');
      // entered through its timer state, which computes the deadline
      const timer = states[timerState(name)];
      expect(timer?.['Next']).toBe(name);
      expect(timer?.['ResultPath']).toBe('$.Payload.timer');
      expect(timer?.['Parameters']).toMatchObject({ kind: 'timer', step: name });
      if (hasTimer(workflow, name)) {
        // the same path resolves on the state input and on the task's Parameters {FunctionName, Payload}
        expect(st?.['TimeoutSecondsPath']).toBe('$.Payload.timer.timeoutSeconds');
        expect(st?.['Catch']).toEqual([
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.lapse', Next: escalateState(name) },
        ]);
        const escalate = states[escalateState(name)];
        expect(escalate?.['Parameters']).toMatchObject({ kind: 'escalate', maxEscalations: MAX_ESCALATIONS });
        expect(escalate?.['Next']).toBe(escalatedState(name));
        expect(states[escalatedState(name)]).toMatchObject({
          Type: 'Choice',
          Choices: [
            { Variable: '$.Payload.timer.level', NumericGreaterThan: MAX_ESCALATIONS, Next: lapsedState(name) },
          ],
          Default: name,
        });
        expect(states[lapsedState(name)]).toMatchObject({ Type: 'Fail', Error: 'DeadlineLapsed' });
      } else {
        expect(st?.['TimeoutSecondsPath']).toBeUndefined();
        expect(st?.['Catch']).toBeUndefined();
      }
    }
    expect(st?.['Next']).toBe(routeState(name));
    const route = states[routeState(name)] as Json;
    expect(route['Type']).toBe('Choice');
    expect(route['Default']).toBe('UnknownAction');
    const branches = Object.fromEntries(
      asArray(route['Choices']).map((c) => {
        const choice = c as Json;
        expect(choice['Variable']).toBe('$.decision.action');
        return [String(choice['StringEquals']), String(choice['Next'])];
      }),
    );
    const expected = Object.fromEntries(
      Object.entries(o.choices).map(([action, next]) => [action, entryState(workflow, String(next))]),
    );
    expect(branches).toEqual(expected);
  });

  it('gives every .waitForTaskToken task a timeout, wherever it is in the definition', () => {
    // the Resource as deployed: the definition's `${…}` placeholders resolved through its substitutions
    const subs = props(s.apiTemplate, m().id)['DefinitionSubstitutions'] as Json;
    const resource = (st: Json) => String(st['Resource']).replace(/\$\{(\w+)\}/g, (_, k: string) => s.render(subs[k]));
    const waits: string[] = [];
    const walk = (states: Record<string, Json>) => {
      for (const [name, st] of Object.entries(states)) {
        for (const b of asArray(st['Branches'])) walk((b as Json)['States'] as Record<string, Json>);
        for (const key of ['Iterator', 'ItemProcessor']) {
          if (isRecord(st[key])) walk((st[key] as Json)['States'] as Record<string, Json>);
        }
        if (st['Type'] !== 'Task' || !resource(st).endsWith(':lambda:invoke.waitForTaskToken')) continue;
        waits.push(name);
        expect(
          st['TimeoutSeconds'] !== undefined || st['TimeoutSecondsPath'] !== undefined,
          `${workflow} state ${name} waits for a task token without a timeout`,
        ).toBe(true);
      }
    };
    walk(m().states);
    expect(waits.length).toBe(outline.filter((o) => o.type === 'Task.waitForTaskToken').length);
  });

  it('reaches the named next step from every branch (timer → step, record → Succeed, system step directly)', () => {
    const states = m().states;
    for (const o of outline) {
      for (const next of Object.values(o.choices).map(String)) {
        const entry = entryState(workflow, next);
        if (entry !== next) expect(states[entry]?.['Next'], `${o.state} → ${next}`).toBe(next);
        expect(states[next], next).toBeDefined();
      }
    }
  });

  it('retries every Lambda call on Lambda service faults and the function’s transient errors', () => {
    for (const [name, st] of Object.entries(m().states)) {
      if (st['Type'] !== 'Task') continue;
      const retry = asArray(st['Retry']) as Json[];
      expect(retry.length, name).toBe(1);
      expect(retry[0]?.['ErrorEquals'], name).toEqual(RETRYABLE_ERRORS);
      expect(Number(retry[0]?.['MaxAttempts']), name).toBeGreaterThanOrEqual(3);
      expect(RETRYABLE_ERRORS).toContain('Lambda.ServiceException');
      expect(RETRYABLE_ERRORS).not.toContain('States.TaskFailed'); // a SendTaskFailure is not re-opened
    }
  });

  it('may invoke only the case-tasks function (no version wildcard)', () => {
    const role = s.render(props(s.apiTemplate, m().id)['RoleArn']).replace(/^\$\{(.+)\.Arn\}$/, '$1');
    const invokes: string[] = [];
    for (const id of idsOfType(s.apiTemplate, 'AWS::IAM::Policy')) {
      const p = props(s.apiTemplate, id);
      if (!asArray(p['Roles']).some((r) => s.render(r) === `\${${role}}`)) continue;
      const doc = p['PolicyDocument'];
      for (const st of asArray(isRecord(doc) ? doc['Statement'] : undefined)) {
        if (!isRecord(st)) continue;
        if (asArray(st['Action']).includes('lambda:InvokeFunction')) {
          invokes.push(...asArray(st['Resource']).map((r) => s.render(r)));
        }
      }
    }
    expect(invokes).toEqual([`\${${tasksFnId}.Arn}`]);
  });
});

describe('deadlines of the human steps', () => {
  const at = new Date('2026-09-29T02:00:00Z'); // Tue 10:00 Beijing, before Mid-Autumn and National Day

  it('waits exactly until the statutory dueAt of every transfer step with a deadline (holidays rolled over)', () => {
    const steps = Object.entries(TRANSFER_FLOW.steps).flatMap(([step, d]) =>
      d.deadline ? [[step, d.deadline] as const] : [],
    );
    expect(steps.length).toBeGreaterThanOrEqual(7);
    for (const [step, kind] of steps) {
      const timer = enterStep('transfer', step, undefined, undefined, at, 'seed');
      const due = computeDeadline(kind, at);
      expect(timer.dueAt, step).toBe(due.dueAt);
      expect(timer.warnAt, step).toBe(due.warnAt);
      expect(timer.timeoutSeconds, step).toBe((Date.parse(due.dueAt) - at.getTime()) / 1000);
      expect(hasTimer('transfer', step)).toBe(true);
    }
    // head decision: 3 days from 29 Sep end on 2 Oct, a holiday → rolls to 8 Oct (first working day after the break)
    expect(enterStep('transfer', 'head_decision', undefined, undefined, at, 's').dueAt).toBe(
      '2026-10-08T16:00:00.000Z',
    );
    // the 24 h hand-over is by the clock
    expect(enterStep('transfer', 'handover', undefined, undefined, at, 's').timeoutSeconds).toBe(86_400);
  });

  it('counts the filing decision from the first receipt and applies the police extension', () => {
    const first = enterStep('transfer', 'police_review', undefined, 'acknowledge', at, 'a');
    const later = new Date(at.getTime() + 2 * 86_400_000);
    const again = enterStep('transfer', 'police_review', first, 'extend_clue_check', later, 'b');
    expect(again.startedAt).toBe(first.startedAt);
    expect(again.dueAt).toBe(computeDeadline('filing_decision', at, { extension: 'clue_check' }).dueAt);
    expect(again.timeoutSeconds).toBe((Date.parse(again.dueAt ?? '') - later.getTime()) / 1000);
  });

  it('gives the steps no statute times their service level, escalated as the statutory ones', () => {
    for (const step of Object.keys(REWARD_STEP_SLA)) expect(hasTimer('reward', step), step).toBe(true);
    for (const step of Object.keys(TRANSFER_STEP_SLA)) {
      expect(hasTimer('transfer', step), step).toBe(true);
      const st = machines.transfer.states[step];
      expect(st?.['TimeoutSecondsPath'], step).toBe('$.Payload.timer.timeoutSeconds');
      expect(st?.['Catch'], step).toEqual([
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.lapse', Next: escalateState(step) },
      ]);
    }
    // the criminal proceedings are no wait of the state machine: the execution ends where they begin
    expect(machines.transfer.states['criminal_proceedings']).toMatchObject({ Type: 'Succeed' });
  });
});

describe('case-tasks function', () => {
  it('writes the cases table, appends audit entries and publishes to the bureau topic', () => {
    const fn = s.api.caseWorkflows.tasks.fn as LambdaFunction;
    const env = (props(s.apiTemplate, logicalId(fn))['Environment'] as Json)['Variables'] as Json;
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['CASES_TABLE', 'AUDIT_TABLE', 'BUREAU_TOPIC_ARN']));
    expect(env['ENVWATCH_SERVICE']).toBe('case-tasks');
  });

  it('runs the deadline-warning sweep on a schedule', () => {
    const fn = logicalId(s.api.caseWorkflows.tasks.fn as LambdaFunction);
    const rules = Object.values(s.apiTemplate.findResources('AWS::Events::Rule')).map((r) => r.Properties as Json);
    const sweep = rules.filter((r) =>
      (r['Targets'] as { Input?: string; Arn: unknown }[]).some(
        (t) => t.Input === JSON.stringify({ kind: 'deadline_warnings' }) && JSON.stringify(t.Arn).includes(fn),
      ),
    );
    expect(sweep.map((r) => r['ScheduleExpression'])).toEqual([`rate(${DEADLINE_WARNING_MINUTES} minutes)`]);
  });

  it('runs the follow-up of the criminal proceedings daily at 09:00 Beijing, with the scheduled time', () => {
    const fn = logicalId(s.api.caseWorkflows.tasks.fn as LambdaFunction);
    const rules = Object.values(s.apiTemplate.findResources('AWS::Events::Rule')).map((r) => r.Properties as Json);
    const followUps = rules.filter((r) =>
      (r['Targets'] as { InputTransformer?: Json; Arn: unknown }[]).some(
        (t) => JSON.stringify(t.InputTransformer ?? {}).includes('follow_ups') && JSON.stringify(t.Arn).includes(fn),
      ),
    );
    expect(followUps.map((r) => r['ScheduleExpression'])).toEqual([FOLLOW_UP_SCHEDULE]);
    expect(FOLLOW_UP_SCHEDULE).toBe('cron(0 1 * * ? *)');
    const targets = (followUps[0]?.['Targets'] ?? []) as { InputTransformer: Json }[];
    const target = targets[0]?.InputTransformer ?? {};
    expect(target['InputPathsMap']).toEqual({ time: '$.time' });
    expect(JSON.parse(String(target['InputTemplate']).replace('<time>', '"2027-02-01T01:00:00Z"'))).toEqual({
      kind: 'follow_ups',
      time: '2027-02-01T01:00:00Z',
    });
  });

  it('names the state machine env vars the cases API reads', () => {
    expect(STATE_MACHINE_ENV).toEqual({
      reward: 'REWARD_STATE_MACHINE_ARN',
      transfer: 'TRANSFER_STATE_MACHINE_ARN',
    });
  });
});

describe('cdk-nag', () => {
  let built: BuiltApp | undefined;
  afterAll(() => built?.cleanup());

  it('reports no unacknowledged error on the case workflows, nor on a function bound to them as the cases API', () => {
    built = buildForTest({ stage: 'dev' });
    const probe = new EnvWatchFunction(built.api, 'ProbeCasesApi', {
      name: 'case-tasks',
      stage: 'dev',
      logRetentionDays: 30,
    });
    built.api.caseWorkflows.bindApi(probe);
    const errors = synthFindings(built)
      .filter(isError)
      .filter((f) => f.paths.some((p) => p.includes('/CaseWorkflows/') || p.includes('/ProbeCasesApi/')));
    expect(errors, formatFindings(errors)).toEqual([]);
    const env = (props(Template.fromStack(built.api), logicalId(probe.fn))['Environment'] as Json)['Variables'] as Json;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['REWARD_STATE_MACHINE_ARN', 'TRANSFER_STATE_MACHINE_ARN']),
    );
  });
});
