import {
  ExecutionAlreadyExists,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Workflows } from '#shared/domain/cases/ports.ts';
import { ConflictError } from '#shared/domain/errors.ts';

/** The Step Functions errors that mean "this task can no longer be completed": a 409 for the caller. */
export const STALE_TOKEN_ERRORS = ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'];

/**
 * The case workflows on Step Functions (shared/domain/cases/ports.ts Workflows): StartExecution by name, so a retried
 * request cannot start two (ExecutionAlreadyExists is `started: false`), and SendTaskSuccess with the actor's output
 * (the state machine's Choice reads `$.decision.action`); a token Step Functions refuses is a 409.
 */
export function sfnWorkflows(sfn: SFNClient, arns: { reward?: string; transfer?: string }): Workflows {
  return {
    async start(workflow, name, input) {
      const arn = arns[workflow];
      if (!arn) throw new Error(`no state machine configured for the ${workflow} workflow`);
      try {
        const out = await sfn.send(
          new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }),
        );
        return {
          workflow,
          executionName: name,
          ...(out.executionArn ? { executionArn: out.executionArn } : {}),
          started: true,
        };
      } catch (err) {
        if (err instanceof ExecutionAlreadyExists || (err as Error).name === 'ExecutionAlreadyExists') {
          return { workflow, executionName: name, started: false };
        }
        throw err;
      }
    },
    async sendSuccess(token, output) {
      try {
        await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
      } catch (err) {
        if (STALE_TOKEN_ERRORS.includes((err as Error).name)) {
          throw new ConflictError(
            'the workflow no longer waits for this task: it timed out or was handled (任务已超时或已处理)',
          );
        }
        throw err;
      }
    },
  };
}
