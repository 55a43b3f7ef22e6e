/**
 * The local IoT rules engine: compiles TopicRuleSpecs once, then for every message runs each matching
 * rule's WHERE/SELECT and its actions (lambda, sqs, sns, republish). When actions fail, the rule's
 * errorAction gets one AWS-shaped message per rule and message:
 *   { ruleName, topic, cloudwatchTraceId, clientId, base64OriginalPayload,
 *     failures: [{ failedAction, failedResource, errorMessage }] }
 * Basic Ingest (`$aws/rules/<ruleName>/<rest>`) reaches only that rule, with topic() = <rest>.
 *
 * Differences from AWS: AWS invokes Lambda asynchronously, so a function error never reaches the error
 * action there; locally a rejected invoke does (the team asked for that, to see failures). SQL evaluation
 * errors are only logged, as in AWS. Republished messages are evaluated again, up to a small hop limit.
 */

import { randomUUID } from 'node:crypto';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type InvokeFn, LOCAL_REGION, type RuleActionSpec, type TopicRuleSpec } from '#infra/local/spec.ts';
import { IotSqlError, parseSql, parseTemplate, type SqlStatement, type Template, topicMatches } from './iot-sql.ts';
import { renderTemplate, runStatement, type SelectResult, type SqlMessage } from './iot-sql-eval.ts';

export const SUPPORTED_SQL_VERSION = '2016-03-23';
const BASIC_INGEST = /^\$aws\/rules\/([^/]+)(?:\/(.*))?$/s;
const MAX_REPUBLISH_HOPS = 8;
const CLOSE_GRACE_MS = 5_000;

export interface CompiledAction {
  spec: RuleActionSpec;
  /** substitution template of the action's target (function/queue/topic ARN, republish topic) */
  target: Template;
}

export interface CompiledRule {
  ruleName: string;
  /** FROM topic filter; undefined for a rule reachable only through Basic Ingest */
  topicFilter: string | undefined;
  statement: SqlStatement;
  actions: CompiledAction[];
  errorAction: CompiledAction | undefined;
  /** does a message on `topic` (published normally, not via Basic Ingest) trigger this rule? */
  matches(topic: string): boolean;
  /** WHERE then SELECT; undefined when the WHERE clause is not true */
  evaluate(msg: SqlMessage): SelectResult | undefined;
}

function actionTarget(spec: RuleActionSpec): string {
  switch (spec.kind) {
    case 'lambda':
      return spec.functionArn;
    case 'sqs':
      return spec.queueArn;
    case 'sns':
      return spec.topicArn;
    case 'republish':
      return spec.topic;
  }
}

function compileAction(rule: TopicRuleSpec, spec: RuleActionSpec, label: string): CompiledAction {
  const kind: string = spec.kind;
  if (!['lambda', 'sqs', 'sns', 'republish'].includes(kind)) {
    throw new Error(`IoT rule "${rule.ruleName}": unsupported ${label} "${kind}" (local: lambda, sqs, sns, republish)`);
  }
  try {
    return { spec, target: parseTemplate(actionTarget(spec)) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`IoT rule "${rule.ruleName}": ${message} (${label} ${spec.kind})`);
  }
}

/** Parse once at start; throws an Error naming the rule and the unsupported part. */
export function compileRule(rule: TopicRuleSpec): CompiledRule {
  if (rule.sqlVersion !== SUPPORTED_SQL_VERSION) {
    throw new Error(
      `IoT rule "${rule.ruleName}": SQL version "${rule.sqlVersion}" is not supported locally (only ${SUPPORTED_SQL_VERSION})`,
    );
  }
  let statement: SqlStatement;
  try {
    statement = parseSql(rule.sql);
  } catch (err) {
    if (err instanceof IotSqlError) throw new Error(`IoT rule "${rule.ruleName}": ${err.message}`);
    throw err;
  }
  const topicFilter = statement.topicFilter;
  return {
    ruleName: rule.ruleName,
    topicFilter,
    statement,
    actions: rule.actions.map((a) => compileAction(rule, a, 'action')),
    errorAction: rule.errorAction ? compileAction(rule, rule.errorAction, 'error action') : undefined,
    matches: (topic) => topicFilter !== undefined && topicMatches(topicFilter, topic),
    evaluate: (msg) => runStatement(statement, msg),
  };
}

/** `$aws/rules/<ruleName>/<rest>` → { ruleName, rest }; anything else → undefined. */
export function parseBasicIngestTopic(topic: string): { ruleName: string; rest: string } | undefined {
  const m = BASIC_INGEST.exec(topic);
  return m ? { ruleName: m[1] as string, rest: m[2] ?? '' } : undefined;
}

/**
 * The local SQS queue URL for a queue ARN. fauxqs keys queues by `http://<host:port>/<account>/<name>`
 * (host:port as the client addressed it), which is `${endpoint}/${account}/${queueName}`.
 */
export function queueUrlFromArn(endpoint: string, queueArn: string): string {
  const parts = queueArn.split(':');
  const account = parts[4];
  const queueName = parts[5];
  if (parts[0] !== 'arn' || parts[2] !== 'sqs' || !account || !queueName) {
    throw new Error(`not an SQS queue ARN: ${queueArn}`);
  }
  return `${endpoint.replace(/\/+$/, '')}/${account}/${queueName}`;
}

/** One message entering the rules engine. */
export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  /** MQTT client id, or "n/a" for messages that did not arrive over MQTT */
  clientId: string;
  principal: string;
  /** how many republish actions led to this message */
  hops?: number;
}

export interface RuleEngineOptions {
  rules: CompiledRule[];
  invoke: InvokeFn;
  awsEndpoints?: { sqs?: string; sns?: string };
  /** deliver a message through the broker (and back into the engine): used by republish */
  republish(topic: string, payload: Buffer, qos: 0 | 1, hops: number): Promise<void>;
  log: (line: string) => void;
}

export interface RuleEngine {
  /** Evaluate a message against every matching rule (or the Basic Ingest target). Never throws. */
  dispatch(msg: IncomingMessage): void;
  /** Settle the work in flight and release SDK clients. */
  close(): Promise<void>;
}

type Failure = { failedAction: string; failedResource: string; errorMessage: string };

const ACTION_NAMES: Record<RuleActionSpec['kind'], string> = {
  lambda: 'LambdaAction',
  sqs: 'SqsAction',
  sns: 'SnsAction',
  republish: 'RepublishAction',
};

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

export function createRuleEngine(opts: RuleEngineOptions): RuleEngine {
  const { log } = opts;
  const byName = new Map(opts.rules.map((r) => [r.ruleName, r]));
  const pending = new Set<Promise<void>>();
  const clients: { sqs?: SQSClient; sns?: SNSClient } = {};
  const clientConfig = (endpoint: string) => ({
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpoint,
  });

  function sqsEndpoint(): string {
    const endpoint = opts.awsEndpoints?.sqs;
    if (!endpoint) throw new Error('no local SQS endpoint configured (awsEndpoints.sqs)');
    return endpoint;
  }

  function sqsClient(): SQSClient {
    clients.sqs ??= new SQSClient(clientConfig(sqsEndpoint()));
    return clients.sqs;
  }

  function snsClient(): SNSClient {
    const endpoint = opts.awsEndpoints?.sns;
    if (!endpoint) throw new Error('no local SNS endpoint configured (awsEndpoints.sns)');
    clients.sns ??= new SNSClient(clientConfig(endpoint));
    return clients.sns;
  }

  /** Perform one action with the SELECT output; rejects when the target service fails. */
  async function perform(action: CompiledAction, out: SelectResult, msg: SqlMessage, hops: number): Promise<void> {
    const spec = action.spec;
    const target = renderTarget(action, msg);
    const bytes = out.kind === 'raw' ? out.payload : Buffer.from(JSON.stringify(out.value), 'utf8');
    switch (spec.kind) {
      case 'lambda': {
        let event: unknown;
        if (out.kind === 'json') event = out.value;
        else {
          try {
            event = JSON.parse(bytes.toString('utf8'));
          } catch {
            throw new Error(
              "InvalidRequestContentException: Could not parse request body into json; a binary payload needs encode(*, 'base64')",
            );
          }
        }
        await opts.invoke(target, event);
        return;
      }
      case 'sqs': {
        const body = spec.useBase64 ? bytes.toString('base64') : bytes.toString('utf8');
        const queueUrl = queueUrlFromArn(sqsEndpoint(), target);
        await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        return;
      }
      case 'sns': {
        await snsClient().send(
          new PublishCommand({
            TopicArn: target,
            Message: bytes.toString('utf8'),
            MessageStructure: spec.messageFormat === 'JSON' ? 'json' : undefined,
          }),
        );
        return;
      }
      case 'republish': {
        if (hops >= MAX_REPUBLISH_HOPS) throw new Error(`republish loop: ${hops} hops reached ${target}`);
        const topic = target.startsWith('$$') ? target.slice(1) : target;
        await opts.republish(topic, bytes, spec.qos === 1 ? 1 : 0, hops + 1);
        return;
      }
    }
  }

  const renderTarget = (action: CompiledAction, msg: SqlMessage): string => renderTemplate(action.target, msg);

  function resourceOf(action: CompiledAction, msg: SqlMessage): string {
    const target = renderTarget(action, msg);
    if (action.spec.kind === 'sqs' && opts.awsEndpoints?.sqs) {
      try {
        return queueUrlFromArn(opts.awsEndpoints.sqs, target);
      } catch {
        return target;
      }
    }
    return target;
  }

  async function runRule(rule: CompiledRule, incoming: IncomingMessage, ruleTopic: string, now: number) {
    const msg: SqlMessage = {
      topic: ruleTopic,
      payload: incoming.payload,
      clientId: incoming.clientId,
      principal: incoming.principal,
      timestamp: now,
    };
    let out: SelectResult | undefined;
    try {
      out = rule.evaluate(msg);
    } catch (err) {
      log(`iot: rule ${rule.ruleName} SQL evaluation failed on ${incoming.topic}: ${errorText(err)}`);
      return;
    }
    if (!out) return;
    log(`iot: rule ${rule.ruleName} matched ${incoming.topic}`);
    const hops = incoming.hops ?? 0;
    const results = await Promise.allSettled(rule.actions.map((a) => perform(a, out, msg, hops)));
    const failures: Failure[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      const action = rule.actions[i] as CompiledAction;
      const resource = resourceOf(action, msg);
      failures.push({
        failedAction: ACTION_NAMES[action.spec.kind],
        failedResource: resource,
        errorMessage: `${errorText(r.reason)}. Message arrived on: ${incoming.topic}, Action: ${action.spec.kind}, Resource: ${resource}`,
      });
      log(`iot: rule ${rule.ruleName} ${action.spec.kind} action failed: ${errorText(r.reason)}`);
    });
    if (failures.length === 0) return;
    if (!rule.errorAction) return;
    const errorMessage = {
      ruleName: rule.ruleName,
      topic: incoming.topic,
      cloudwatchTraceId: randomUUID(),
      clientId: incoming.clientId,
      base64OriginalPayload: incoming.payload.toString('base64'),
      failures,
    };
    try {
      await perform(rule.errorAction, { kind: 'json', value: errorMessage }, msg, hops);
    } catch (err) {
      log(`iot: rule ${rule.ruleName} error action ${rule.errorAction.spec.kind} failed too: ${errorText(err)}`);
    }
  }

  function track(work: Promise<void>): void {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }

  return {
    dispatch(incoming) {
      const now = Date.now();
      const ingest = parseBasicIngestTopic(incoming.topic);
      if (ingest) {
        const rule = byName.get(ingest.ruleName);
        if (!rule) log(`iot: RuleNotFound: Basic Ingest topic ${incoming.topic} names no rule "${ingest.ruleName}"`);
        else track(runRule(rule, incoming, ingest.rest, now));
        return;
      }
      for (const rule of opts.rules) {
        if (rule.matches(incoming.topic)) track(runRule(rule, incoming, incoming.topic, now));
      }
    },
    async close() {
      // let actions in flight finish, but never hang stop() on a Lambda that does not settle
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
      });
      await Promise.race([Promise.allSettled([...pending]), cap]);
      clearTimeout(timer);
      clients.sqs?.destroy();
      clients.sns?.destroy();
    },
  };
}
