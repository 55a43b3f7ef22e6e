import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/**
 * An answer in AWS's restJson1 protocol, as the IoT data and control planes give it: JSON, a request id, and for an
 * error its type in `x-amzn-ErrorType` (which the SDK turns into the named exception) with `{ "message" }`.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}
