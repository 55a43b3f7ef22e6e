/**
 * A facade of the AWS IoT Data Plane HTTP API, enough for `IoTDataPlaneClient({ endpoint })`:
 * `Publish` (POST /topics/{topic}?qos=&retain=, body = payload) goes into the local broker and rules engine.
 * Every other operation (shadows, retained messages, connections …) is answered with an AWS-shaped
 * restJson error (`x-amzn-ErrorType` header and `{ "message" }` body), so SDK callers get a clear exception.
 * Limits: no SigV4 verification; MQTT 5 publish properties (user properties, content type …) are ignored.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sendJson } from './rest-json.ts';

/** AWS IoT Core's maximum message payload. */
const MAX_PAYLOAD_BYTES = 128 * 1024;

export interface DataPlanePublish {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
  /** the access key id of the SigV4 Authorization header, as principal() would report the caller */
  principal: string;
}

export interface DataPlaneOptions {
  host: string;
  port: number;
  publish(msg: DataPlanePublish): Promise<void>;
  log: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Operations of the real API that this facade recognises but does not implement. */
const UNSUPPORTED_OPERATIONS: { method: string; pattern: RegExp; name: string }[] = [
  { method: 'GET', pattern: /^\/things\/[^/]+\/shadow$/, name: 'GetThingShadow' },
  { method: 'POST', pattern: /^\/things\/[^/]+\/shadow$/, name: 'UpdateThingShadow' },
  { method: 'DELETE', pattern: /^\/things\/[^/]+\/shadow$/, name: 'DeleteThingShadow' },
  {
    method: 'GET',
    pattern: /^\/api\/things\/shadow\/ListNamedShadowsForThing\/[^/]+$/,
    name: 'ListNamedShadowsForThing',
  },
  { method: 'GET', pattern: /^\/retainedMessage$/, name: 'ListRetainedMessages' },
  { method: 'GET', pattern: /^\/retainedMessage\/.+$/, name: 'GetRetainedMessage' },
  { method: 'GET', pattern: /^\/connections\/[^/]+$/, name: 'GetConnection' },
  { method: 'DELETE', pattern: /^\/connections\/[^/]+$/, name: 'DeleteConnection' },
  { method: 'GET', pattern: /^\/subscriptions\/.+$/, name: 'ListSubscriptions' },
  { method: 'POST', pattern: /^\/direct-messages\/.+$/, name: 'SendDirectMessage' },
];

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_PAYLOAD_BYTES) {
        reject(new HttpError(413, 'RequestEntityTooLargeException', `Payload exceeds ${MAX_PAYLOAD_BYTES} bytes`));
      } else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function accessKeyId(req: IncomingMessage): string {
  const m = /Credential=([^/,\s]+)/.exec(req.headers.authorization ?? '');
  return m?.[1] ?? 'anonymous';
}

function parseQos(value: string | null): 0 | 1 {
  if (value === null || value === '' || value === '0') return 0;
  if (value === '1') return 1;
  throw new HttpError(400, 'InvalidRequestException', `qos must be 0 or 1, got "${value}"`);
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: DataPlaneOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path.startsWith('/topics/')) {
    if (method !== 'POST') throw new HttpError(405, 'MethodNotAllowedException', `${method} is not allowed on ${path}`);
    let topic: string;
    try {
      topic = decodeURIComponent(path.slice('/topics/'.length));
    } catch {
      throw new HttpError(400, 'InvalidRequestException', `Topic is not valid URL encoding: ${path}`);
    }
    if (!topic || topic.includes('+') || topic.includes('#')) {
      throw new HttpError(400, 'InvalidRequestException', `Invalid topic name "${topic}" (no wildcards, not empty)`);
    }
    const qos = parseQos(url.searchParams.get('qos'));
    const retain = url.searchParams.get('retain') === 'true';
    const payload = await readBody(req);
    await opts.publish({ topic, payload, qos, retain, principal: accessKeyId(req) });
    opts.log(`iot-data: Publish ${topic} (${payload.length} bytes, qos ${qos})`);
    sendJson(res, 200, {});
    return;
  }
  const known = UNSUPPORTED_OPERATIONS.find((op) => op.method === method && op.pattern.test(path));
  req.resume();
  if (known) {
    throw new HttpError(
      400,
      'InvalidRequestException',
      `${known.name} is not supported by the local IoT data plane (only Publish is)`,
    );
  }
  throw new HttpError(404, 'ResourceNotFoundException', `No IoT data plane operation matches ${method} ${path}`);
}

/** Start the HTTP facade; resolves once it listens. */
export async function startDataPlane(opts: DataPlaneOptions): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      if (err instanceof HttpError) {
        opts.log(`iot-data: ${req.method} ${req.url} → ${err.status} ${err.type}: ${err.message}`);
        sendJson(res, err.status, { message: err.message }, err.type);
        return;
      }
      opts.log(`iot-data: ${req.method} ${req.url} failed: ${err instanceof Error ? err.message : String(err)}`);
      sendJson(res, 500, { message: 'Internal failure' }, 'InternalFailureException');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
