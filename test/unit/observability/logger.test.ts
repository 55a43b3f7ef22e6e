import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger, redact } from '#shared/observability/logger.ts';
import { lambdaContext, loadEvent } from '../helpers/events.ts';

const SECRETS = {
  phone: '13912345678',
  receipt: 'RC-7Q4K-9ZXW',
  reporter: '李四',
  sourceIp: '198.51.100.23',
  authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig',
  password: 'p@ssw0rd!',
};

describe('logger', () => {
  let lines: string[];
  const log = () => createLogger('test-svc', 'debug', (line) => lines.push(line));

  beforeEach(() => {
    lines = [];
  });

  it('writes one JSON line with level, time, service and message', () => {
    log().info('tip received', { tipId: '01J00000000000000000000000' });

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'INFO',
      service: 'test-svc',
      message: 'tip received',
      tipId: '01J00000000000000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('keeps its own level, service and message when a field has the same name (an alarm level, say)', () => {
    log().warn('alarm opened', { level: 2, message: 'x', service: 'y' });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'WARN',
      message: 'alarm opened',
      service: 'test-svc',
    });
  });

  it('never writes phone, receipt, reporter, source IP, authorization or password values', () => {
    const logger = log();
    logger.append({ sourceIp: SECRETS.sourceIp });

    logger.info('flat', { ...SECRETS });
    logger.warn('nested', {
      event: {
        headers: { Authorization: SECRETS.authorization },
        requestContext: { http: { sourceIp: SECRETS.sourceIp } },
      },
      tip: { reporter: { name: SECRETS.reporter, phone: SECRETS.phone }, receiptCode: SECRETS.receipt },
      devices: [{ mn: 'AB01', password: SECRETS.password }],
    });
    logger.error('with error', { error: new Error('failed'), Phone: SECRETS.phone, RECEIPT: SECRETS.receipt });

    const text = lines.join('\n');
    for (const [key, value] of Object.entries(SECRETS)) expect(text, key).not.toContain(value);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ phone: '[REDACTED]', sourceIp: '[REDACTED]' });
    expect(JSON.parse(lines[1] as string).devices).toEqual([{ mn: 'AB01', password: '[REDACTED]' }]);
  });

  it('keeps keys that only resemble sensitive ones', () => {
    log().info('x', { phoneVerified: true, receiptStatus: 'issued', township: 'zhukou' });

    expect(JSON.parse(lines[0] as string)).toMatchObject({
      phoneVerified: true,
      receiptStatus: 'issued',
      township: 'zhukou',
    });
  });

  it('serializes an error as name, message and stack', () => {
    log().error('failed', { error: new TypeError('bad thing') });

    expect(JSON.parse(lines[0] as string).error).toMatchObject({ name: 'TypeError', message: 'bad thing' });
  });

  it('drops lines below the configured level', () => {
    const logger = createLogger('svc', 'warn', (line) => lines.push(line));

    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');

    expect(lines.map((l) => JSON.parse(l).level)).toEqual(['WARN', 'ERROR']);
  });

  it('adds appended keys to every line until reset', () => {
    const logger = log();
    logger.append({ requestId: 'r-1' });
    logger.info('a');
    logger.reset();
    logger.info('b');

    expect(lines.map((l) => JSON.parse(l).requestId)).toEqual(['r-1', undefined]);
  });
});

describe('logger on Powertools', () => {
  let lines: string[];
  const log = () => createLogger('test-svc', 'debug', (line) => lines.push(line));

  beforeEach(() => {
    lines = [];
  });

  it('is a Powertools Logger that adds the invocation id and cold start once the context is injected', () => {
    const logger = log();
    expect(logger).toBeInstanceOf(PowertoolsLogger);

    logger.addContext(lambdaContext);
    logger.info('handled');

    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'INFO',
      service: 'test-svc',
      message: 'handled',
      function_request_id: 'test-request',
      cold_start: expect.any(Boolean),
    });
  });

  it('redacts a whole API Gateway event logged by Powertools (headers, source IP, body fields)', () => {
    const event = loadEvent('things-create');
    const withSecrets = {
      ...event,
      headers: { ...event.headers, authorization: SECRETS.authorization, 'x-forwarded-for': SECRETS.sourceIp },
      requestContext: { ...event.requestContext, http: { ...event.requestContext.http, sourceIp: SECRETS.sourceIp } },
    };

    log().logEventIfEnabled(withSecrets, true);

    const text = lines.join('\n');
    expect(text).toContain('Lambda invocation event');
    for (const value of [SECRETS.authorization, SECRETS.sourceIp]) expect(text).not.toContain(value);
  });

  it('redacts at any depth, in appended keys, in a child logger and whatever the value is', () => {
    const logger = log();
    let deep: Record<string, unknown> = { phone: SECRETS.phone };
    for (let i = 0; i < 40; i++) deep = { level: deep };
    logger.append({ tip: { receipt: SECRETS.receipt } });

    logger.info('deep', { deep });
    logger.createChild().warn('child', { reporter: { name: SECRETS.reporter } });
    logger.error('an error under a sensitive key', { identity: new Error(SECRETS.reporter), password: 123456 });

    const text = lines.join('\n');
    for (const [key, value] of Object.entries(SECRETS)) expect(text, key).not.toContain(value);
    expect(text).not.toContain('123456');
    expect(JSON.parse(lines[2] as string)).toMatchObject({ identity: '[REDACTED]', password: '[REDACTED]' });
  });

  it('keeps a line whose fields repeat the line keys free of Powertools warnings', () => {
    const logger = log();
    logger.append({ service: 'other', message: 'other' });

    logger.info('one line', { level: 7, timestamp: 'x', sampling_rate: 1 });

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'INFO', service: 'test-svc', message: 'one line' });
  });
});

describe('redact', () => {
  it('returns primitives unchanged and copies objects without mutating them', () => {
    const input = { a: 1, phone: '13900000000' };

    expect(redact(input)).toEqual({ a: 1, phone: '[REDACTED]' });
    expect(input.phone).toBe('13900000000');
    expect(redact('13900000000')).toBe('13900000000');
    expect(redact(null)).toBeNull();
  });
});
