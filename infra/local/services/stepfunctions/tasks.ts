/**
 * Task resources the local runner can call, and the errors they raise.
 *
 * Supported: a Lambda function ARN; `arn:aws:states:::lambda:invoke`; `sns:publish`; `sqs:sendMessage`;
 * `dynamodb:putItem|getItem|updateItem|deleteItem` — each also with `.waitForTaskToken` (the callback is
 * handled by the runner). Not supported: `.sync`, `aws-sdk:*`, activities, other services (they fail with
 * `States.Runtime`).
 *
 * Errors follow what Step Functions reports: a Lambda that throws fails the task with `Error` = the thrown
 * error's name (Lambda's `errorType`) and `Cause` = `{"errorType","errorMessage","trace"}` as JSON; service
 * integrations fail with `<Service>.<ExceptionName>` (e.g. `DynamoDB.ConditionalCheckFailedException`).
 */
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type InvokeFn, LOCAL_REGION } from '#infra/local/spec.ts';
import { isObject, type Json, toJson } from './asl.ts';

/** A task failure with a Step Functions error name; `message` is the Cause. */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** Like the library's States.Runtime: neither retried nor caught. */
export class UncatchableError extends TaskError {
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

export interface ParsedResource {
  kind: 'lambda-function' | 'lambda-invoke' | 'sns-publish' | 'sqs-send' | 'dynamodb' | 'unsupported';
  /** `lambda`, `sns` … as history shows it */
  resourceType: string;
  /** `invoke.waitForTaskToken`, `publish` … (the function ARN for plain Lambda tasks) */
  resource: string;
  action: string;
  waitForTaskToken: boolean;
  arn: string;
}

export function parseResource(arn: string): ParsedResource {
  if (/^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:/.test(arn)) {
    return {
      kind: 'lambda-function',
      resourceType: 'lambda',
      resource: arn,
      action: 'invoke',
      waitForTaskToken: false,
      arn,
    };
  }
  const m = /^arn:aws[\w-]*:states:::([\w-]+):([\w]+)(?:\.(\w+))?$/.exec(arn);
  if (!m)
    return { kind: 'unsupported', resourceType: 'unknown', resource: arn, action: '', waitForTaskToken: false, arn };
  const service = m[1] ?? '';
  const action = m[2] ?? '';
  const pattern = m[3];
  const base = {
    resourceType: service,
    resource: pattern ? `${action}.${pattern}` : action,
    action,
    waitForTaskToken: pattern === 'waitForTaskToken',
    arn,
  };
  if (pattern !== undefined && pattern !== 'waitForTaskToken') return { ...base, kind: 'unsupported' };
  if (service === 'lambda' && action === 'invoke') return { ...base, kind: 'lambda-invoke' };
  if (service === 'sns' && action === 'publish') return { ...base, kind: 'sns-publish' };
  if (service === 'sqs' && action === 'sendMessage') return { ...base, kind: 'sqs-send' };
  if (service === 'dynamodb' && ['putItem', 'getItem', 'updateItem', 'deleteItem'].includes(action) && !pattern) {
    return { ...base, kind: 'dynamodb' };
  }
  return { ...base, kind: 'unsupported' };
}

export interface IntegrationDeps {
  invoke: InvokeFn;
  awsEndpoints: { sns?: string; dynamodb?: string; sqs?: string };
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Lazily built SDK clients for the optimized integrations. */
export class Integrations {
  private sns?: SNSClient;
  private dynamodb?: DynamoDBClient;
  private sqs?: SQSClient;

  constructor(private readonly deps: IntegrationDeps) {}

  destroy(): void {
    this.sns?.destroy();
    this.dynamodb?.destroy();
    this.sqs?.destroy();
  }

  private endpoint(service: 'sns' | 'dynamodb' | 'sqs'): string {
    const endpoint = this.deps.awsEndpoints[service];
    if (!endpoint) throw new UncatchableError('States.Runtime', `no local ${service} endpoint is configured`);
    return endpoint;
  }

  private snsClient(): SNSClient {
    this.sns ??= new SNSClient({ region: LOCAL_REGION, credentials, endpoint: this.endpoint('sns') });
    return this.sns;
  }

  private dynamodbClient(): DynamoDBClient {
    this.dynamodb ??= new DynamoDBClient({ region: LOCAL_REGION, credentials, endpoint: this.endpoint('dynamodb') });
    return this.dynamodb;
  }

  private sqsClient(): SQSClient {
    this.sqs ??= new SQSClient({ region: LOCAL_REGION, credentials, endpoint: this.endpoint('sqs') });
    return this.sqs;
  }

  /** Run the task's integration with its effective input; returns the task result. */
  async call(res: ParsedResource, input: Json): Promise<Json> {
    switch (res.kind) {
      case 'lambda-function':
        return this.invokeLambda(res.arn, input);
      case 'lambda-invoke': {
        const params = isObject(input) ? input : {};
        const fn = params.FunctionName;
        if (typeof fn !== 'string')
          throw new UncatchableError('States.Runtime', 'lambda:invoke needs Parameters.FunctionName');
        const payload = toJson(params.Payload ?? {});
        const result = await this.invokeLambda(fn, payload);
        return { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 };
      }
      case 'sns-publish':
        return this.aws('SNS', () => {
          const params = isObject(input) ? { ...input } : {};
          if (params.Message !== undefined && typeof params.Message !== 'string')
            params.Message = JSON.stringify(params.Message);
          return this.snsClient().send(
            new PublishCommand(params as unknown as ConstructorParameters<typeof PublishCommand>[0]),
          );
        });
      case 'sqs-send':
        return this.aws('SQS', () => {
          const params = isObject(input) ? { ...input } : {};
          if (params.MessageBody !== undefined && typeof params.MessageBody !== 'string') {
            params.MessageBody = JSON.stringify(params.MessageBody);
          }
          return this.sqsClient().send(
            new SendMessageCommand(params as unknown as ConstructorParameters<typeof SendMessageCommand>[0]),
          );
        });
      case 'dynamodb':
        return this.aws('DynamoDB', () => {
          const client = this.dynamodbClient();
          const params = (isObject(input) ? input : {}) as never;
          if (res.action === 'putItem') return client.send(new PutItemCommand(params));
          if (res.action === 'getItem') return client.send(new GetItemCommand(params));
          if (res.action === 'updateItem') return client.send(new UpdateItemCommand(params));
          return client.send(new DeleteItemCommand(params));
        });
      default:
        throw new UncatchableError(
          'States.Runtime',
          `the local Step Functions runner does not support resource ${res.arn}`,
        );
    }
  }

  private async invokeLambda(functionRef: string, payload: Json): Promise<Json> {
    let result: unknown;
    try {
      result = await this.deps.invoke(functionRef, payload);
    } catch (err) {
      throw lambdaError(err);
    }
    return toJson(result);
  }

  private async aws(service: string, send: () => Promise<object>): Promise<Json> {
    try {
      const out: Record<string, unknown> = { ...(await send()) };
      delete out.$metadata;
      return toJson(out);
    } catch (err) {
      if (err instanceof TaskError) throw err;
      const name = err instanceof Error ? err.name : 'Error';
      throw new TaskError(`${service}.${name}`, err instanceof Error ? err.message : String(err));
    }
  }
}

function lambdaError(err: unknown): TaskError {
  if (err instanceof TaskError) return err;
  const errorType = err instanceof Error ? err.name : 'Error';
  const errorMessage = err instanceof Error ? err.message : String(err);
  const trace = err instanceof Error && err.stack ? err.stack.split('\n') : [];
  return new TaskError(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}
