import {
  ExecutionAlreadyExists,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { sfnWorkflows } from '#shared/adapters/case-workflows.ts';

expect.extend(allCustomMatcher);

/** The case workflows on Step Functions: the commands sent, and how Step Functions' refusals read. */
const client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
const sfn = mockClient(client);
const REWARD_ARN = 'arn:aws:states:cn-northwest-1:123456789012:stateMachine:envwatch-reward';
const workflows = sfnWorkflows(client, { reward: REWARD_ARN });
const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';

beforeEach(() => sfn.reset());

describe('sfnWorkflows', () => {
  it('starts a named execution of the workflow’s state machine with the input as JSON', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${REWARD_ARN}:reward-${CASE_ID}-1` });

    const started = await workflows.start('reward', `reward-${CASE_ID}-1`, { caseId: CASE_ID, round: 1 });

    expect(started).toEqual({
      workflow: 'reward',
      executionName: `reward-${CASE_ID}-1`,
      executionArn: `${REWARD_ARN}:reward-${CASE_ID}-1`,
      started: true,
    });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: REWARD_ARN,
      name: `reward-${CASE_ID}-1`,
      input: JSON.stringify({ caseId: CASE_ID, round: 1 }),
    });
  });

  it('answers started: false when an execution of that name exists (a retried request)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    expect(await workflows.start('reward', `reward-${CASE_ID}-1`, {})).toEqual({
      workflow: 'reward',
      executionName: `reward-${CASE_ID}-1`,
      started: false,
    });
  });

  it('refuses to start a workflow without a configured state machine', async () => {
    await expect(workflows.start('transfer', `transfer-${CASE_ID}-1`, {})).rejects.toThrow('no state machine');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('hands the decision to the token, and answers 409 when Step Functions no longer waits for it', async () => {
    sfn.on(SendTaskSuccessCommand).resolvesOnce({});
    await workflows.sendSuccess('tok', { action: 'approve', comment: '同意', by: 'u-head-01' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 'tok',
      output: JSON.stringify({ action: 'approve', comment: '同意', by: 'u-head-01' }),
    });

    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    await expect(workflows.sendSuccess('tok', { action: 'approve', by: 'u-head-01' })).rejects.toMatchObject({
      status: 409,
    });
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(workflows.sendSuccess('tok', { action: 'approve', by: 'u-head-01' })).rejects.toThrow('throttled');
  });
});
