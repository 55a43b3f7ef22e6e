import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import {
  FLOWS,
  FOLLOW_UP_PERIOD,
  hasTimer,
  MAX_ESCALATIONS,
  periodLabelZh,
  type WorkflowName,
} from '#shared/domain/cases/timers.ts';
import type { StepDef } from '#shared/domain/cases/workflow.ts';
import { EnvWatchFunction, retentionFor } from './envwatch-function.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * The two case workflows as Step Functions STANDARD state machines in JSONPath mode, GENERATED from the
 * pure tables REWARD_FLOW (shared/domain/cases/reward-flow.ts) and TRANSFER_FLOW (transfer.ts): the tables stay the
 * single source of steps, actors, actions and deadlines. `caseWorkflowDefinition` is the generator; per step:
 *
 *   human step S   `S:timer`  case-tasks {kind:'timer'} → $.Payload.timer (TIMER_PATH): entry id, dueAt / warnAt and
 *                              timeoutSeconds from deadlines.ts or the reward service level (case-tasks/timers.ts)
 *                  `S`        lambda:invoke.waitForTaskToken case-tasks {kind:'task'} → store.recordTask; waits for
 *                              SendTaskSuccess {action, comment?, by} → $.decision. TimeoutSecondsPath
 *                              $.Payload.timer.timeoutSeconds: the timer fires at the recorded dueAt, holidays included
 *                  `S:route`  Choice on $.decision.action → the next step's entry state; unknown → UnknownAction
 *                  States.Timeout → `S:escalate` (case-tasks {kind:'escalate'}: task lapsed, bureau topic, timeline)
 *                              → `S:escalated` Choice: level ≤ 2 → back to `S` (a new task, 24 h more),
 *                              level 3 → `S:lapsed` Fail `DeadlineLapsed`
 *   system step S  `S`        case-tasks {kind:'system'}: reward-flow.ts systemChoice on the round → $.decision
 *                  `S:route`  Choice as above
 *   followed-up S  `S:follow` case-tasks {kind:'follow'}: the first task of the periodic follow-up (no token) → `S`
 *                              Succeed. A wait with no end in law (the criminal proceedings) never runs inside an
 *                              execution, whose life Step Functions caps at one year: the daily FOLLOW_UP schedule
 *                              re-arms it (shared/domain/cases/follow-up.ts) until a conviction or a return.
 *   terminal S     `S:record` case-tasks {kind:'record'} (the outcome on the case timeline) → `S` Succeed
 *
 * Every action, rejections included, is a SendTaskSuccess: the tables model a rejection as an action leading to a
 * terminal step. SendTaskFailure fails the execution with the caller's error (to cancel a workflow). Every Lambda
 * call retries Lambda service errors and the function's own `CaseTasksRetryable` (a store or SNS fault), so a crashed
 * step is retried and the workflow resumes; the task id is stable per entry and level, so a retry records once.
 *
 * No HeartbeatSeconds: nobody heartbeats a person's task, so a heartbeat timeout would only fail waits early; the
 * reminder is the task's `warnAt` (the cases store's deadline index): every DEADLINE_WARNING_MINUTES a schedule runs
 * case-tasks' warning sweep, which tells the bureau topic once per deadline; the escalation is the timeout.
 *
 * Execution input (the cases API starts it): `{ caseId, round?, reward?: { totalFen, approvals: [{ step }] },
 * commendationConsent?, package? }` — shown to the actors as the task input, so never a reporter identity.
 * Names: `reward-<caseId>-<round>`, `transfer-<caseId>-<round>` (the cases API starts round 1).
 */

export const STATE_MACHINE_ENV = {
  reward: ENV.rewardStateMachine,
  transfer: ENV.transferStateMachine,
} as const;

/** Lambda errors worth retrying: the service's own, and the function's transient faults. */
export const RETRYABLE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'CaseTasksRetryable',
];

// biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder (CloudFormation)
export const FUNCTION_ARN = '${CaseTasksFunctionArn}';
/** the partition-aware `arn:<partition>:states:::lambda:invoke.waitForTaskToken` (aws and aws-cn alike) */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder (CloudFormation)
export const WAIT_FOR_TASK_TOKEN = '${LambdaInvokeWaitForTaskToken}';

/**
 * Where the running step's timer lives in the carried state. It sits under `Payload` on purpose: the wait task's
 * TimeoutSecondsPath then resolves to the same number whether it is read from the state input (AWS's documented
 * behaviour) or from the task's effective Parameters `{FunctionName, Payload}` (what aws-local-stepfunctions and the
 * local runner do), because the task's Payload carries the timer under the same name.
 */
export const TIMER_PATH = '$.Payload.timer';
export const TIMEOUT_PATH = `${TIMER_PATH}.timeoutSeconds`;

const retry = [{ ErrorEquals: RETRYABLE_ERRORS, IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 }];

export const timerState = (step: string) => `${step}:timer`;
export const routeState = (step: string) => `${step}:route`;
export const escalateState = (step: string) => `${step}:escalate`;
export const escalatedState = (step: string) => `${step}:escalated`;
export const lapsedState = (step: string) => `${step}:lapsed`;
export const recordState = (step: string) => `${step}:record`;
export const followState = (step: string) => `${step}:follow`;
export const UNKNOWN_ACTION = 'UnknownAction';

const isSystem = (s: StepDef<string, string>) => s.actors.includes('system');

/** The state a transition into `step` goes to. */
export function entryState(workflow: WorkflowName, step: string): string {
  const def = FLOWS[workflow].steps[step] as StepDef<string, string>;
  if (def.terminal) return recordState(step);
  if (def.followUp) return followState(step);
  if (isSystem(def)) return step;
  return timerState(step);
}

type State = Record<string, unknown>;

/** The ASL (JSONPath) of one workflow, with `${CaseTasksFunctionArn}` for the case-tasks function. */
export function caseWorkflowDefinition(workflow: WorkflowName): Record<string, unknown> {
  const flow = FLOWS[workflow];
  const states: Record<string, State> = {};
  const call = (kind: string, step: string, extra: Record<string, unknown>) => ({
    kind,
    workflow,
    step,
    'caseId.$': '$.caseId',
    'executionArn.$': '$$.Execution.Id',
    ...extra,
  });
  const lambdaTask = (comment: string, payload: Record<string, unknown>, resultPath: string | null, next: string) => ({
    Type: 'Task',
    Comment: comment,
    Resource: FUNCTION_ARN,
    Parameters: payload,
    ResultPath: resultPath,
    Retry: retry,
    Next: next,
  });
  const route = (def: StepDef<string, string>): State => ({
    Type: 'Choice',
    Comment: `${def.labelZh}：按操作分支`,
    Choices: Object.entries(def.actions).map(([action, a]) => ({
      Variable: '$.decision.action',
      StringEquals: action,
      Next: entryState(workflow, (a as { next: string }).next),
    })),
    Default: UNKNOWN_ACTION,
  });

  for (const [step, raw] of Object.entries(flow.steps)) {
    const def = raw as StepDef<string, string>;
    if (def.terminal) {
      states[recordState(step)] = lambdaTask(
        `记录结果：${def.labelZh}`,
        call('record', step, { 'state.$': '$' }),
        null,
        step,
      );
      states[step] = { Type: 'Succeed', Comment: def.labelZh };
      continue;
    }
    if (def.followUp) {
      const period = FOLLOW_UP_PERIOD[step as keyof typeof FOLLOW_UP_PERIOD];
      states[followState(step)] = lambdaTask(
        `转入定期跟踪：${def.labelZh}`,
        call('follow', step, { 'enteredTime.$': '$$.State.EnteredTime', 'state.$': '$' }),
        '$.followUp',
        step,
      );
      states[step] = {
        Type: 'Succeed',
        Comment: `${def.labelZh}：流程在此结束，由定期跟踪${period ? `（每${periodLabelZh(period)}）` : ''}接续，直至判决或退回`,
      };
      continue;
    }
    if (isSystem(def)) {
      states[step] = {
        ...lambdaTask(def.labelZh, call('system', step, { 'state.$': '$' }), '$.decision', routeState(step)),
      };
      states[routeState(step)] = route(def);
      continue;
    }
    const timed = hasTimer(workflow, step);
    states[timerState(step)] = lambdaTask(
      `进入环节：${def.labelZh}（计算期限）`,
      call('timer', step, { 'enteredTime.$': '$$.State.EnteredTime', 'state.$': '$' }),
      TIMER_PATH,
      step,
    );
    states[step] = {
      Type: 'Task',
      Comment: `${def.labelZh}（${def.actors.join(' / ')}）`,
      Resource: WAIT_FOR_TASK_TOKEN,
      Parameters: {
        FunctionName: FUNCTION_ARN,
        Payload: call('task', step, { 'token.$': '$$.Task.Token', 'timer.$': TIMER_PATH, 'input.$': '$' }),
      },
      ...(timed ? { TimeoutSecondsPath: TIMEOUT_PATH } : {}),
      ResultPath: '$.decision',
      Retry: retry,
      ...(timed
        ? { Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.lapse', Next: escalateState(step) }] }
        : {}),
      Next: routeState(step),
    };
    states[routeState(step)] = route(def);
    if (timed) {
      states[escalateState(step)] = lambdaTask(
        `超期督办：${def.labelZh}`,
        call('escalate', step, { 'timer.$': TIMER_PATH, maxEscalations: MAX_ESCALATIONS }),
        TIMER_PATH,
        escalatedState(step),
      );
      states[escalatedState(step)] = {
        Type: 'Choice',
        Comment: `督办${MAX_ESCALATIONS}次后仍未办理则终止`,
        Choices: [{ Variable: `${TIMER_PATH}.level`, NumericGreaterThan: MAX_ESCALATIONS, Next: lapsedState(step) }],
        Default: step,
      };
      states[lapsedState(step)] = {
        Type: 'Fail',
        Error: 'DeadlineLapsed',
        Cause: `${def.labelZh}：期限届满，经${MAX_ESCALATIONS}次督办仍未办理`,
      };
    }
  }
  states[UNKNOWN_ACTION] = {
    Type: 'Fail',
    Error: 'UnknownAction',
    Cause: 'the task was completed with an action the step does not allow (the API validates actions with act())',
  };
  return {
    Comment: `EnvWatch ${flow.name}: generated from ${workflow === 'reward' ? 'REWARD_FLOW' : 'TRANSFER_FLOW'}`,
    QueryLanguage: 'JSONPath',
    StartAt: entryState(workflow, flow.start),
    States: states,
  };
}

/** How often the deadline-warning sweep runs: a warning goes out at most this late after its `warnAt`. */
export const DEADLINE_WARNING_MINUTES = 15;

/** The periodic follow-up of the criminal proceedings: 09:00 Beijing (01:00 UTC) every day, with the event's time. */
export const FOLLOW_UP_SCHEDULE = 'cron(0 1 * * ? *)';

export interface CaseWorkflowsProps {
  casesTable: DataTable;
  auditTable: DataTable;
  /** the reward outcome is posted to the reporter's tip (the follow page) */
  tipsTable: DataTable;
  bureauTopic: ITopic;
  stage: string;
  logRetentionDays: number;
}

export class CaseWorkflows extends Construct {
  public readonly tasks: EnvWatchFunction;
  public readonly reward: StateMachine;
  public readonly transfer: StateMachine;

  constructor(scope: Construct, id: string, props: CaseWorkflowsProps) {
    super(scope, id);
    this.tasks = new EnvWatchFunction(this, 'Tasks', {
      name: 'case-tasks',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      timeout: Duration.seconds(15),
      description: 'EnvWatch case workflows: record tasks and deadlines, escalate lapses, system steps, outcomes',
    })
      .bindTable(props.casesTable, ENV.casesTable, 'readwrite')
      .bindTable(props.auditTable, ENV.auditTable, 'append')
      .bindTable(props.tipsTable, ENV.tipsTable, 'readwrite')
      .bindTopic(props.bureauTopic, ENV.bureauTopic);

    const machine = (name: WorkflowName, label: string) => {
      const logGroup = new LogGroup(this, `${label}Logs`, {
        retention: retentionFor(props.logRetentionDays),
        removalPolicy: props.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      const sm = new StateMachine(this, label, {
        stateMachineType: StateMachineType.STANDARD,
        definitionBody: DefinitionBody.fromString(JSON.stringify(caseWorkflowDefinition(name))),
        definitionSubstitutions: {
          CaseTasksFunctionArn: this.tasks.fn.functionArn,
          LambdaInvokeWaitForTaskToken: `arn:${Aws.PARTITION}:states:::lambda:invoke.waitForTaskToken`,
        },
        comment: `EnvWatch ${FLOWS[name].name}`,
        tracingEnabled: true,
        logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      });
      // the exact function, not `<arn>:*` (grantInvoke adds the versions wildcard)
      sm.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['lambda:InvokeFunction'],
          resources: [this.tasks.fn.functionArn],
        }),
      );
      return sm;
    };
    this.reward = machine('reward', 'Reward');
    this.transfer = machine('transfer', 'Transfer');

    // the reminder before a deadline lapses: a sweep of the deadlines past their warning time (case-tasks)
    new Rule(this, 'DeadlineWarnings', {
      description: 'EnvWatch case deadlines: warn the bureau before a step lapses',
      schedule: Schedule.rate(Duration.minutes(DEADLINE_WARNING_MINUTES)),
      targets: [
        new LambdaFunction(this.tasks.fn, {
          event: RuleTargetInput.fromObject({ kind: 'deadline_warnings' }),
          retryAttempts: 2,
        }),
      ],
    });

    // the periodic follow-up of the criminal proceedings: re-arms the follow-ups due by the scheduled time
    new Rule(this, 'FollowUps', {
      description: 'EnvWatch case follow-ups: remind the bureau and re-arm the criminal proceedings without news',
      schedule: Schedule.expression(FOLLOW_UP_SCHEDULE),
      targets: [
        new LambdaFunction(this.tasks.fn, {
          event: RuleTargetInput.fromObject({ kind: 'follow_ups', time: EventField.time }),
          retryAttempts: 2,
        }),
      ],
    });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:CreateLogDelivery and friends) and X-Ray PutTraceSegments accept no resource but *.',
    });
  }

  /**
   * The cases API: its env vars, StartExecution on both machines, the task responses (SendTaskSuccess / Failure /
   * Heartbeat) and reading the executions (history for the case view).
   */
  bindApi(fn: EnvWatchFunction): void {
    const stack = Stack.of(this);
    for (const [name, sm] of [
      ['reward', this.reward],
      ['transfer', this.transfer],
    ] as const) {
      fn.fn.addEnvironment(STATE_MACHINE_ENV[name], sm.stateMachineArn);
      const executions = stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${sm.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      fn.fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: [
            'states:StartExecution',
            'states:SendTaskSuccess',
            'states:SendTaskFailure',
            'states:SendTaskHeartbeat',
          ],
          resources: [sm.stateMachineArn],
        }),
      );
      fn.fn.addToRolePolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'],
          resources: [executions],
        }),
      );
      acknowledgeWildcardResource(
        fn,
        executions,
        'Executions of one state machine: their names (reward-<caseId>-<round>) are only known at run time.',
      );
    }
  }
}
