/**
 * SNS + SQS stand-in: fauxqs (in-process, in-memory) behind a small HTTP proxy that owns the public port.
 *
 * One endpoint serves both SNS (awsQuery, form-encoded; what @aws-sdk/client-sns 3.1169 speaks) and SQS (JSON).
 * The proxy:
 * - records EVERY SNS publish (Publish / PublishBatch to a topic, direct `Publish({ PhoneNumber })`) into an
 *   append-only log `${dataDir}/sns/messages.jsonl` that survives restarts (`listMessages`);
 * - answers direct SMS publishes itself (fauxqs has no SMS): nothing is sent anywhere, the message is only recorded;
 * - after fauxqs accepted a topic publish, delivers it to the topic's `lambda` subscriptions (real SNS event shape,
 *   filter policy honoured, invoked asynchronously, no retries) and notes the phone numbers of matching `sms`
 *   subscriptions on the record (`smsRecipients`). Subscriptions are read from fauxqs at publish time, so ones
 *   created at run time with the SDK count too;
 * - also understands the awsJson flavour of Publish / PublishBatch (`X-Amz-Target: AmazonSimpleNotificationService.*`)
 *   and translates it for fauxqs, which only speaks awsQuery for SNS.
 * SQS subscriptions (filter policies, raw delivery), visibility timeouts, long polling and redrive to a DLQ after
 * `maxReceiveCount` are fauxqs's own. SQS event source mappings are emulated here: long-poll, invoke with the real
 * SQS event shape, delete on success, honour `batchItemFailures`, leave failures for redrive.
 *
 * Limits vs AWS: fauxqs keeps queues, topics, subscriptions and queued messages in memory only — they are recreated
 * from the spec on every start, and messages still waiting in a queue are lost on restart (the SNS publish log is
 * not). No IAM/policies, no email/http(s) delivery (recorded only), Lambda subscriptions get one attempt,
 * event source mappings fetch at most 10 messages per batch and have no batching window or scaling.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateTopicCommand,
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import type {
  EventSourceMappingSpec,
  InvokeFn,
  LocalService,
  QueueSpec,
  SubscriptionSpec,
  TopicSpec,
} from '#infra/local/spec.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '#infra/local/spec.ts';

export interface PublishedMessage {
  id: string;
  at: string;
  topicArn?: string;
  phoneNumber?: string;
  subject?: string;
  message: string;
  messageAttributes: Record<string, { DataType: string; StringValue?: string }>;
  /** phone numbers of the topic's `sms` subscriptions whose filter policy matched (topic publishes only) */
  smsRecipients?: string[];
}

export interface ListMessagesFilter {
  topicArn?: string;
  /** matches direct SMS publishes to this number and topic publishes that reached it through an sms subscription */
  phoneNumber?: string;
  /** ISO timestamp; messages at or after it */
  since?: string;
  /** keep only the most recent `limit` matches (still oldest first) */
  limit?: number;
}

export interface MessagingService extends LocalService {
  /** one endpoint for both SNS and SQS */
  endpoint: string;
  /** every message ever published to SNS (topic publishes and direct SMS to a PhoneNumber), oldest first, persisted */
  listMessages(filter?: ListMessagesFilter): PublishedMessage[];
  queueUrl(queueArn: string): string;
}

export interface StartMessagingOptions {
  host?: string;
  port: number;
  dataDir: string;
  topics: TopicSpec[];
  queues: QueueSpec[];
  subscriptions: SubscriptionSpec[];
  eventSourceMappings: EventSourceMappingSpec[];
  invoke: InvokeFn;
  log?: (line: string) => void;
}

type Log = (line: string) => void;
type Attributes = PublishedMessage['messageAttributes'];
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const SNS_JSON_TARGET = 'AmazonSimpleNotificationService.';
const SQS_JSON_TARGET = 'AmazonSQS.';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------------
// SNS filter policies (subset of AWS: exact string/number, prefix, suffix, equals-ignore-case, anything-but,
// numeric ranges, exists, $or; MessageAttributes and MessageBody scope)

type Scalar = string | number | boolean | null;
/** values found at a key; undefined when the key is absent */
type Lookup = (path: string[]) => Scalar[] | undefined;

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** `[">", 0, "<=", 5]`: every operator/bound pair must hold. */
function numericMatch(spec: unknown[], value: number): boolean {
  for (let i = 0; i + 1 < spec.length; i += 2) {
    const compare = COMPARE[String(spec[i])];
    if (!compare?.(value, Number(spec[i + 1]))) return false;
  }
  return true;
}

function matchCondition(condition: unknown, value: Scalar): boolean {
  if (!isRecord(condition)) return condition === value;
  if (typeof condition.prefix === 'string') return typeof value === 'string' && value.startsWith(condition.prefix);
  if (typeof condition.suffix === 'string') return typeof value === 'string' && value.endsWith(condition.suffix);
  if (typeof condition['equals-ignore-case'] === 'string') {
    return typeof value === 'string' && value.toLowerCase() === condition['equals-ignore-case'].toLowerCase();
  }
  if (Array.isArray(condition.numeric)) return typeof value === 'number' && numericMatch(condition.numeric, value);
  if ('anything-but' in condition) {
    const excluded = condition['anything-but'];
    const list = Array.isArray(excluded) ? excluded : [excluded];
    return !list.some((e) => matchCondition(e, value));
  }
  return false;
}

function matchConditions(conditions: unknown[], values: Scalar[] | undefined): boolean {
  return conditions.some((condition) => {
    if (isRecord(condition) && typeof condition.exists === 'boolean') {
      return condition.exists === (values !== undefined);
    }
    return values?.some((v) => matchCondition(condition, v)) ?? false;
  });
}

function matchPolicy(policy: Record<string, unknown>, lookup: Lookup, path: string[] = []): boolean {
  return Object.entries(policy).every(([key, rule]) => {
    if (key === '$or' && Array.isArray(rule)) {
      return rule.some((alternative) => isRecord(alternative) && matchPolicy(alternative, lookup, path));
    }
    if (Array.isArray(rule)) return matchConditions(rule, lookup([...path, key]));
    if (isRecord(rule)) return matchPolicy(rule, lookup, [...path, key]);
    return false;
  });
}

function attributeLookup(attributes: Attributes): Lookup {
  return ([name]) => {
    const attr = name === undefined ? undefined : attributes[name];
    if (!attr) return undefined;
    const raw = attr.StringValue ?? '';
    if (attr.DataType.startsWith('Number')) return [Number(raw)];
    if (attr.DataType.startsWith('String.Array')) {
      try {
        const parsed: unknown = JSON.parse(raw);
        return Array.isArray(parsed) ? parsed.filter((v): v is Scalar => !isRecord(v) && !Array.isArray(v)) : [];
      } catch {
        return [];
      }
    }
    if (attr.DataType.startsWith('String')) return [raw];
    return []; // Binary attributes never match a filter
  };
}

function bodyLookup(message: string): Lookup {
  let body: unknown;
  try {
    body = JSON.parse(message);
  } catch {
    body = undefined;
  }
  return (path) => {
    let node: unknown = body;
    for (const key of path) {
      if (!isRecord(node) || !(key in node)) return undefined;
      node = node[key];
    }
    const items = Array.isArray(node) ? node : [node];
    return items.filter((v): v is Scalar => !isRecord(v) && !Array.isArray(v));
  };
}

/** True when the subscription's filter policy (if any) lets the message through. */
export function filterPolicyMatches(
  policy: Record<string, unknown> | undefined,
  scope: string | undefined,
  message: string,
  attributes: Attributes,
): boolean {
  if (!policy || Object.keys(policy).length === 0) return true;
  return matchPolicy(policy, scope === 'MessageBody' ? bodyLookup(message) : attributeLookup(attributes));
}

// ---------------------------------------------------------------------------------------------------------------
// Publish requests: decode awsQuery and awsJson, encode awsQuery

interface PublishEntry {
  id?: string;
  topicArn?: string;
  targetArn?: string;
  phoneNumber?: string;
  message: string;
  subject?: string;
  messageStructure?: string;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  messageAttributes: Attributes;
}

function queryAttributes(params: URLSearchParams, prefix: string): Attributes {
  const result: Attributes = {};
  for (let n = 1; params.has(`${prefix}MessageAttributes.entry.${n}.Name`); n++) {
    const base = `${prefix}MessageAttributes.entry.${n}`;
    const name = params.get(`${base}.Name`) ?? '';
    const stringValue = params.get(`${base}.Value.StringValue`);
    result[name] = {
      DataType: params.get(`${base}.Value.DataType`) ?? 'String',
      ...(stringValue === null ? {} : { StringValue: stringValue }),
    };
  }
  return result;
}

function queryEntry(params: URLSearchParams, prefix: string): PublishEntry {
  const get = (key: string): string | undefined => params.get(`${prefix}${key}`) ?? undefined;
  return {
    id: get('Id'),
    topicArn: params.get('TopicArn') ?? undefined,
    targetArn: get('TargetArn'),
    phoneNumber: get('PhoneNumber'),
    message: get('Message') ?? '',
    subject: get('Subject'),
    messageStructure: get('MessageStructure'),
    messageGroupId: get('MessageGroupId'),
    messageDeduplicationId: get('MessageDeduplicationId'),
    messageAttributes: queryAttributes(params, prefix),
  };
}

function decodeQuery(action: string, params: URLSearchParams): PublishEntry[] {
  if (action === 'Publish') return [queryEntry(params, '')];
  const entries: PublishEntry[] = [];
  for (let n = 1; params.has(`PublishBatchRequestEntries.member.${n}.Id`); n++) {
    entries.push(queryEntry(params, `PublishBatchRequestEntries.member.${n}.`));
  }
  return entries;
}

function jsonEntry(raw: unknown, topicArn: unknown): PublishEntry {
  const r = isRecord(raw) ? raw : {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const attributes: Attributes = {};
  if (isRecord(r.MessageAttributes)) {
    for (const [name, value] of Object.entries(r.MessageAttributes)) {
      if (!isRecord(value)) continue;
      const stringValue = str(value.StringValue);
      attributes[name] = {
        DataType: str(value.DataType) ?? 'String',
        ...(stringValue === undefined ? {} : { StringValue: stringValue }),
      };
    }
  }
  return {
    id: str(r.Id),
    topicArn: str(topicArn),
    targetArn: str(r.TargetArn),
    phoneNumber: str(r.PhoneNumber),
    message: str(r.Message) ?? '',
    subject: str(r.Subject),
    messageStructure: str(r.MessageStructure),
    messageGroupId: str(r.MessageGroupId),
    messageDeduplicationId: str(r.MessageDeduplicationId),
    messageAttributes: attributes,
  };
}

function decodeJson(action: string, body: unknown): PublishEntry[] {
  const b = isRecord(body) ? body : {};
  if (action === 'Publish') return [jsonEntry(b, b.TopicArn)];
  const entries = Array.isArray(b.PublishBatchRequestEntries) ? b.PublishBatchRequestEntries : [];
  return entries.map((entry) => jsonEntry(entry, b.TopicArn));
}

function encodeQuery(action: string, entries: PublishEntry[]): string {
  const params = new URLSearchParams({ Action: action, Version: '2010-03-31' });
  const put = (key: string, value: string | undefined): void => {
    if (value !== undefined) params.set(key, value);
  };
  const first = entries[0];
  put('TopicArn', first?.topicArn);
  entries.forEach((entry, i) => {
    const prefix = action === 'Publish' ? '' : `PublishBatchRequestEntries.member.${i + 1}.`;
    put(`${prefix}Id`, action === 'Publish' ? undefined : entry.id);
    if (action === 'Publish') {
      put('TargetArn', entry.targetArn);
      put('PhoneNumber', entry.phoneNumber);
    }
    put(`${prefix}Message`, entry.message);
    put(`${prefix}Subject`, entry.subject);
    put(`${prefix}MessageStructure`, entry.messageStructure);
    put(`${prefix}MessageGroupId`, entry.messageGroupId);
    put(`${prefix}MessageDeduplicationId`, entry.messageDeduplicationId);
    Object.entries(entry.messageAttributes).forEach(([name, value], j) => {
      const base = `${prefix}MessageAttributes.entry.${j + 1}`;
      put(`${base}.Name`, name);
      put(`${base}.Value.DataType`, value.DataType);
      put(`${base}.Value.StringValue`, value.StringValue);
    });
  });
  return params.toString();
}

/** `Publish` → [MessageId]; `PublishBatch` → successful entries' MessageId by Id. */
function publishedIds(action: string, xml: string): Map<string, string> {
  const ids = new Map<string, string>();
  if (action === 'Publish') {
    const id = /<MessageId>([^<]+)<\/MessageId>/.exec(xml)?.[1];
    if (id) ids.set('', id);
    return ids;
  }
  const successful = /<Successful>([\s\S]*?)<\/Successful>/.exec(xml)?.[1] ?? '';
  for (const m of successful.matchAll(/<Id>([^<]+)<\/Id>\s*<MessageId>([^<]+)<\/MessageId>/g)) {
    if (m[1] && m[2]) ids.set(m[1], m[2]);
  }
  return ids;
}

function xmlPublishResponse(messageId: string): string {
  return `<PublishResponse xmlns="${SNS_XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`;
}

function xmlToJsonResponse(action: string, status: number, xml: string): string {
  if (status >= 400) {
    const code = /<Code>([^<]+)<\/Code>/.exec(xml)?.[1] ?? 'InternalError';
    const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';
    return JSON.stringify({ __type: code, message });
  }
  const ids = publishedIds(action, xml);
  if (action === 'Publish') return JSON.stringify({ MessageId: ids.get('') });
  const failed = [...xml.matchAll(/<member><Id>([^<]+)<\/Id><Code>([^<]+)<\/Code><Message>([^<]*)<\/Message>/g)];
  return JSON.stringify({
    Successful: [...ids].map(([Id, MessageId]) => ({ Id, MessageId })),
    Failed: failed.map((m) => ({ Id: m[1], Code: m[2], Message: m[3], SenderFault: true })),
  });
}

/** With MessageStructure=json the message holds one text per protocol plus `default`. */
function messageForProtocol(entry: PublishEntry, protocol: string): string {
  if (entry.messageStructure !== 'json') return entry.message;
  try {
    const parsed: unknown = JSON.parse(entry.message);
    if (isRecord(parsed)) {
      const text = parsed[protocol] ?? parsed.default;
      if (typeof text === 'string') return text;
    }
  } catch {
    // fall through: deliver as is
  }
  return entry.message;
}

// ---------------------------------------------------------------------------------------------------------------
// The persistent publish log

class MessageLog {
  private readonly messages: PublishedMessage[] = [];

  constructor(private readonly file: string) {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        this.messages.push(JSON.parse(line) as PublishedMessage);
      } catch {
        // a torn last line after a crash: skip it
      }
    }
  }

  add(message: PublishedMessage): void {
    this.messages.push(message);
    appendFileSync(this.file, `${JSON.stringify(message)}\n`);
  }

  list(filter: ListMessagesFilter = {}): PublishedMessage[] {
    const found = this.messages.filter(
      (m) =>
        (filter.topicArn === undefined || m.topicArn === filter.topicArn) &&
        (filter.phoneNumber === undefined ||
          m.phoneNumber === filter.phoneNumber ||
          (m.smsRecipients ?? []).includes(filter.phoneNumber)) &&
        (filter.since === undefined || m.at >= filter.since),
    );
    const limited = filter.limit === undefined ? found : found.slice(Math.max(0, found.length - filter.limit));
    return limited.map((m) => structuredClone(m));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SNS fan-out beyond SQS: lambda and sms subscriptions

interface SubscriptionView {
  arn: string;
  protocol: string;
  endpoint: string;
  filterPolicy?: Record<string, unknown>;
  filterPolicyScope?: string;
}

async function nonQueueSubscriptions(sns: SNSClient, topicArn: string): Promise<SubscriptionView[]> {
  const views: SubscriptionView[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: nextToken }));
    for (const sub of page.Subscriptions ?? []) {
      if (sub.Protocol !== 'lambda' && sub.Protocol !== 'sms') continue;
      if (!sub.SubscriptionArn || !sub.Endpoint) continue;
      const attrs = (await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: sub.SubscriptionArn })))
        .Attributes;
      let filterPolicy: Record<string, unknown> | undefined;
      if (attrs?.FilterPolicy) {
        const parsed: unknown = JSON.parse(attrs.FilterPolicy);
        if (isRecord(parsed)) filterPolicy = parsed;
      }
      views.push({
        arn: sub.SubscriptionArn,
        protocol: sub.Protocol,
        endpoint: sub.Endpoint,
        filterPolicy,
        filterPolicyScope: attrs?.FilterPolicyScope,
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return views;
}

function snsLambdaEvent(sub: SubscriptionView, entry: PublishEntry, record: PublishedMessage): unknown {
  const topicArn = record.topicArn ?? '';
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: sub.arn,
        Sns: {
          Type: 'Notification',
          MessageId: record.id,
          TopicArn: topicArn,
          Subject: record.subject ?? null,
          Message: messageForProtocol(entry, 'lambda'),
          Timestamp: record.at,
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: `https://sns.${LOCAL_REGION}.amazonaws.com/SimpleNotificationService-local.pem`,
          UnsubscribeUrl: `https://sns.${LOCAL_REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${sub.arn}`,
          MessageAttributes: Object.fromEntries(
            Object.entries(record.messageAttributes).map(([k, v]) => [k, { Type: v.DataType, Value: v.StringValue }]),
          ),
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SQS event source mappings

function sqsLambdaEvent(messages: Message[], queueArn: string): { Records: unknown[] } {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body ?? '',
      attributes: m.Attributes ?? {},
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
          k,
          {
            stringValue: v.StringValue,
            binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('base64') : undefined,
            stringListValues: v.StringListValues ?? [],
            binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
            dataType: v.DataType,
          },
        ]),
      ),
      md5OfBody: m.MD5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: LOCAL_REGION,
    })),
  };
}

/** Message ids to keep in the queue, from a handler result when ReportBatchItemFailures is on. */
function failedIds(result: unknown, batch: Message[]): Set<string> {
  const all = new Set(batch.map((m) => m.MessageId ?? ''));
  if (!isRecord(result) || result.batchItemFailures === undefined || result.batchItemFailures === null) {
    return new Set();
  }
  if (!Array.isArray(result.batchItemFailures)) return all;
  const failed = new Set<string>();
  for (const item of result.batchItemFailures) {
    const id = isRecord(item) ? item.itemIdentifier : undefined;
    // Lambda treats a malformed or unknown identifier as a failure of the whole batch.
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

async function runMapping(
  mapping: EventSourceMappingSpec,
  queueUrl: string,
  sqs: SQSClient,
  invoke: InvokeFn,
  signal: AbortSignal,
  log: Log,
): Promise<void> {
  const name = `${mapping.queueArn.split(':').pop()} → ${mapping.functionArn.split(':').pop()}`;
  while (!signal.aborted) {
    let batch: Message[];
    try {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(Math.max(mapping.batchSize, 1), 10),
          WaitTimeSeconds: 20,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: signal },
      );
      batch = received.Messages ?? [];
    } catch (err) {
      if (signal.aborted) return;
      log(`[messaging] ${name}: receive failed: ${err instanceof Error ? err.message : String(err)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    if (batch.length === 0) continue;
    let keep: Set<string>;
    try {
      const result = await invoke(mapping.functionArn, sqsLambdaEvent(batch, mapping.queueArn));
      keep = mapping.reportBatchItemFailures ? failedIds(result, batch) : new Set();
    } catch (err) {
      log(`[messaging] ${name}: batch of ${batch.length} failed: ${err instanceof Error ? err.message : String(err)}`);
      keep = new Set(batch.map((m) => m.MessageId ?? ''));
    }
    const done = batch.filter((m) => !keep.has(m.MessageId ?? ''));
    if (keep.size > 0) log(`[messaging] ${name}: ${keep.size} message(s) left for retry / redrive`);
    if (done.length === 0) continue;
    try {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    } catch (err) {
      if (signal.aborted) return;
      log(`[messaging] ${name}: delete failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The proxy and startup

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function forward(
  innerPort: number,
  req: http.IncomingMessage,
  body: Buffer,
  override?: { contentType: string },
): Promise<Upstream> {
  const headers: http.OutgoingHttpHeaders = { ...req.headers, 'content-length': String(body.length) };
  delete headers['transfer-encoding'];
  if (override) {
    headers['content-type'] = override.contentType;
    delete headers['x-amz-target'];
  }
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: innerPort, method: req.method, path: req.url, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`SNS/SQS (fauxqs): port ${port} on ${host} is busy`) : err);
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startMessaging(opts: StartMessagingOptions): Promise<MessagingService> {
  const host = opts.host ?? '127.0.0.1';
  const log: Log = opts.log ?? (() => {});
  const snsDir = join(opts.dataDir, 'sns');
  mkdirSync(snsDir, { recursive: true });
  const messageLog = new MessageLog(join(snsDir, 'messages.jsonl'));

  const fauxqs = buildApp({ logger: false, defaultRegion: LOCAL_REGION });
  const innerAddress = await fauxqs.listen({ port: 0, host: '127.0.0.1' });
  const innerPort = Number(new URL(innerAddress).port);
  const innerSns = new SNSClient({ region: LOCAL_REGION, endpoint: innerAddress, credentials: CREDENTIALS });
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>): void => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  let closing = false;
  let toInternalUrls = (text: string): string => text;
  let toPublicUrls = (text: string): string => text;

  /** Records an accepted publish and delivers it to lambda / sms subscriptions. */
  async function afterPublish(entry: PublishEntry, messageId: string): Promise<void> {
    const record: PublishedMessage = {
      id: messageId,
      at: new Date().toISOString(),
      ...(entry.topicArn ? { topicArn: entry.topicArn } : {}),
      ...(entry.phoneNumber && !entry.topicArn ? { phoneNumber: entry.phoneNumber } : {}),
      ...(entry.subject === undefined ? {} : { subject: entry.subject }),
      message: entry.message,
      messageAttributes: entry.messageAttributes,
    };
    if (entry.topicArn) {
      let subs: SubscriptionView[] = [];
      try {
        subs = await nonQueueSubscriptions(innerSns, entry.topicArn);
      } catch (err) {
        log(`[messaging] cannot list subscriptions of ${entry.topicArn}: ${String(err)}`);
      }
      const matching = subs.filter((s) =>
        filterPolicyMatches(s.filterPolicy, s.filterPolicyScope, entry.message, entry.messageAttributes),
      );
      const phones = matching.filter((s) => s.protocol === 'sms').map((s) => s.endpoint);
      if (phones.length) record.smsRecipients = phones;
      messageLog.add(record);
      for (const sub of matching.filter((s) => s.protocol === 'lambda')) {
        track(
          opts.invoke(sub.endpoint, snsLambdaEvent(sub, entry, record)).then(
            () => log(`[messaging] ${entry.topicArn} → ${sub.endpoint} ok`),
            (err: unknown) =>
              log(
                `[messaging] ${entry.topicArn} → ${sub.endpoint} failed: ${err instanceof Error ? err.message : String(err)}`,
              ),
          ),
        );
      }
    } else {
      messageLog.add(record);
    }
    log(`[messaging] published ${messageId} to ${entry.topicArn ?? 'an SMS number'}`);
  }

  async function handlePublish(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    action: 'Publish' | 'PublishBatch',
    entries: PublishEntry[],
    json: boolean,
    rawBody: Buffer,
  ): Promise<void> {
    const first = entries[0];
    if (action === 'Publish' && first && !first.topicArn && !first.targetArn && first.phoneNumber) {
      // Direct SMS: fauxqs has no SMS, so the proxy answers; nothing leaves the machine.
      const messageId = randomUUID();
      await afterPublish(first, messageId);
      if (json) send(res, 200, 'application/x-amz-json-1.0', JSON.stringify({ MessageId: messageId }));
      else send(res, 200, 'text/xml', xmlPublishResponse(messageId));
      return;
    }
    const upstream = json
      ? await forward(innerPort, req, Buffer.from(encodeQuery(action, entries)), {
          contentType: 'application/x-www-form-urlencoded; charset=utf-8',
        })
      : await forward(innerPort, req, rawBody);
    const xml = upstream.body.toString('utf8');
    if (upstream.status < 300) {
      const ids = publishedIds(action, xml);
      for (const entry of entries) {
        const id = ids.get(action === 'Publish' ? '' : (entry.id ?? ''));
        if (id) await afterPublish(entry, id);
      }
    }
    if (json) send(res, upstream.status, 'application/x-amz-json-1.0', xmlToJsonResponse(action, upstream.status, xml));
    else send(res, upstream.status, String(upstream.headers['content-type'] ?? 'text/xml'), upstream.body);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? '');
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method === 'POST' && contentType.includes('x-www-form-urlencoded')) {
      const params = new URLSearchParams(body.toString('utf8'));
      const action = params.get('Action');
      if (action === 'Publish' || action === 'PublishBatch') {
        return handlePublish(req, res, action, decodeQuery(action, params), false, body);
      }
    } else if (req.method === 'POST' && target.startsWith(SNS_JSON_TARGET)) {
      const action = target.slice(SNS_JSON_TARGET.length);
      if (action === 'Publish' || action === 'PublishBatch') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8') || '{}');
        } catch {
          return send(res, 400, 'application/x-amz-json-1.0', JSON.stringify({ __type: 'SerializationException' }));
        }
        return handlePublish(req, res, action, decodeJson(action, parsed), true, body);
      }
      return send(
        res,
        400,
        'application/x-amz-json-1.0',
        JSON.stringify({ __type: 'InvalidAction', message: `SNS ${action} over awsJson is not supported locally` }),
      );
    }
    const isSqs = target.startsWith(SQS_JSON_TARGET);
    const upstream = await forward(innerPort, req, isSqs ? Buffer.from(toInternalUrls(body.toString('utf8'))) : body);
    const out = isSqs ? Buffer.from(toPublicUrls(upstream.body.toString('utf8'))) : upstream.body;
    const headers = { ...upstream.headers, 'content-length': String(out.length) };
    delete headers['transfer-encoding'];
    res.writeHead(upstream.status, headers);
    res.end(out);
  }

  const proxy = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!closing) log(`[messaging] proxy error: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(res, 500, 'text/plain', 'local messaging proxy error');
      else res.destroy();
    });
  });
  let port: number;
  try {
    port = await listen(proxy, host, opts.port);
  } catch (err) {
    innerSns.destroy();
    await fauxqs.close();
    throw err;
  }
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // fauxqs names queues `http://sqs.<region>.localhost:<port>/<account>/<name>`, a host that does not resolve.
  // Clients see `${endpoint}/<account>/<name>` instead; SQS request and response bodies are rewritten both ways.
  const internalPrefix = `http://sqs.${LOCAL_REGION}.localhost:${port}/`;
  const publicUrl = new RegExp(`https?://(?:127\\.0\\.0\\.1|localhost|\\[::1\\]|${escapeRegExp(host)}):${port}/`, 'g');
  toInternalUrls = (text) => text.replace(publicUrl, internalPrefix);
  toPublicUrls = (text) => text.replaceAll(internalPrefix, `${endpoint}/`);
  const sns = new SNSClient({ region: LOCAL_REGION, endpoint, credentials: CREDENTIALS });
  const sqs = new SQSClient({ region: LOCAL_REGION, endpoint, credentials: CREDENTIALS });
  const urls = new Map<string, string>();
  const queueUrl = (queueArn: string): string => {
    const known = urls.get(queueArn);
    if (known) return known;
    const [, , , , account, name] = queueArn.split(':');
    return `${endpoint}/${account ?? LOCAL_ACCOUNT}/${name ?? ''}`;
  };

  const controller = new AbortController();
  const pollers: Promise<void>[] = [];
  const stop = async (): Promise<void> => {
    closing = true;
    controller.abort();
    await Promise.allSettled(pollers);
    await Promise.allSettled([...pending]);
    sns.destroy();
    sqs.destroy();
    innerSns.destroy();
    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      proxy.closeAllConnections();
    });
    await fauxqs.close();
  };

  try {
    // Dead-letter queues first, so every RedrivePolicy points at an existing queue.
    const ordered = [...opts.queues].sort((a, b) => Number(!!a.deadLetterTargetArn) - Number(!!b.deadLetterTargetArn));
    for (const q of ordered) {
      const attributes: Record<string, string> = {};
      if (q.visibilityTimeoutSeconds !== undefined) attributes.VisibilityTimeout = String(q.visibilityTimeoutSeconds);
      if (q.deadLetterTargetArn) {
        attributes.RedrivePolicy = JSON.stringify({
          deadLetterTargetArn: q.deadLetterTargetArn,
          maxReceiveCount: q.maxReceiveCount ?? 3,
        });
      }
      const created = await sqs.send(new CreateQueueCommand({ QueueName: q.queueName, Attributes: attributes }));
      if (created.QueueUrl) urls.set(q.arn, created.QueueUrl);
    }
    for (const t of opts.topics) {
      const created = await sns.send(new CreateTopicCommand({ Name: t.topicName }));
      if (created.TopicArn !== t.arn)
        log(`[messaging] topic ${t.topicName} is ${created.TopicArn}, spec says ${t.arn}`);
    }
    for (const s of opts.subscriptions) {
      const attributes: Record<string, string> = {};
      if (s.filterPolicy) attributes.FilterPolicy = JSON.stringify(s.filterPolicy);
      if (s.filterPolicyScope) attributes.FilterPolicyScope = s.filterPolicyScope;
      if (s.rawMessageDelivery) attributes.RawMessageDelivery = 'true';
      await sns.send(
        new SubscribeCommand({
          TopicArn: s.topicArn,
          Protocol: s.protocol,
          Endpoint: s.endpoint,
          Attributes: attributes,
          ReturnSubscriptionArn: true,
        }),
      );
      if (s.protocol !== 'sqs' && s.protocol !== 'lambda' && s.protocol !== 'sms') {
        log(`[messaging] ${s.protocol} subscription to ${s.topicArn} is recorded only (no delivery locally)`);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  for (const mapping of opts.eventSourceMappings) {
    pollers.push(runMapping(mapping, queueUrl(mapping.queueArn), sqs, opts.invoke, controller.signal, log));
  }
  log(
    `[messaging] ready on ${endpoint}: ${opts.topics.length} topics, ${opts.queues.length} queues, ` +
      `${opts.subscriptions.length} subscriptions, ${opts.eventSourceMappings.length} queue→function mappings`,
  );

  return {
    name: 'messaging',
    endpoint,
    listMessages: (filter) => messageLog.list(filter),
    queueUrl,
    stop,
  };
}
