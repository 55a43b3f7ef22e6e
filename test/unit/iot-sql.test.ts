import { describe, expect, it } from 'vitest';
import { parseSql, parseTemplate, topicMatches } from '#infra/local/services/iot/iot-sql.ts';
import {
  evaluateExpression,
  IotSqlEvalError,
  renderTemplate,
  runStatement,
  type SqlMessage,
  UNDEFINED,
} from '#infra/local/services/iot/iot-sql-eval.ts';
import { compileRule, parseBasicIngestTopic, queueUrlFromArn } from '#infra/local/services/iot/rule-engine.ts';
import type { TopicRuleSpec } from '#infra/local/spec.ts';

function message(payload: string | Buffer, topic = 'devices/dev-1/telemetry'): SqlMessage {
  return {
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    clientId: 'daq-001',
    principal: 'daq-user',
    timestamp: 1_700_000_000_000,
  };
}

const run = (sql: string, payload: string | Buffer, topic?: string) =>
  runStatement(parseSql(sql), message(payload, topic));

function where(condition: string, payload: object | string = {}): boolean {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return run(`SELECT * FROM '#' WHERE ${condition}`, body) !== undefined;
}

function value(expression: string, payload: object = {}) {
  const stmt = parseSql(`SELECT * FROM '#' WHERE ${expression}`);
  if (!stmt.where) throw new Error('no WHERE parsed');
  return evaluateExpression(stmt.where, message(JSON.stringify(payload)));
}

function rule(sql: string, extra: Partial<TopicRuleSpec> = {}): TopicRuleSpec {
  return {
    ruleName: 'IngestRule',
    sql,
    sqlVersion: '2016-03-23',
    actions: [{ kind: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ingest' }],
    ...extra,
  };
}

describe('iot-sql SELECT', () => {
  it('returns the whole JSON object for SELECT *', () => {
    expect(run("SELECT * FROM 'a/b'", '{"color":"red","temperature":50}')).toEqual({
      kind: 'json',
      value: { color: 'red', temperature: 50 },
    });
  });

  it('names a field path by its last segment unless AS renames it', () => {
    const out = run(
      "SELECT color.red, color.green AS g, temperature AS fahrenheit FROM 'a/b'",
      '{"color":{"red":255,"green":0},"temperature":50}',
    );
    expect(out).toEqual({ kind: 'json', value: { red: 255, g: 0, fahrenheit: 50 } });
  });

  it('adds items after * and leaves out Undefined ones', () => {
    const out = run("SELECT *, 15 AS speed, 'x' AS tag, missing.field AS gone FROM 'a/b'", '{"color":"red"}');
    expect(out).toEqual({ kind: 'json', value: { color: 'red', speed: 15, tag: 'x' } });
  });

  it('evaluates topic(), topic(n), timestamp(), clientid() and principal()', () => {
    const out = run(
      "SELECT topic() AS t, topic(2) AS device, topic(9) AS none, timestamp() AS ts, clientid() AS c, principal() AS p FROM 'devices/+/telemetry'",
      '{}',
    );
    expect(out).toEqual({
      kind: 'json',
      value: {
        t: 'devices/dev-1/telemetry',
        device: 'dev-1',
        ts: 1_700_000_000_000,
        c: 'daq-001',
        p: 'daq-user',
      },
    });
  });

  it('forwards a non-JSON payload as raw bytes for SELECT *', () => {
    const raw = Buffer.from([0x23, 0x23, 0x00, 0xff, 0x0d, 0x0a]);
    expect(run("SELECT * FROM 'raw/#'", raw)).toEqual({ kind: 'raw', payload: raw });
    expect(run("SELECT * FROM 'raw/#'", '[1,2,3]')).toEqual({ kind: 'raw', payload: Buffer.from('[1,2,3]') });
  });

  it('base64-encodes the whole payload with encode(*, base64), JSON or not', () => {
    const text = '##0101QN=20240101120000000;ST=32;CN=2011&&4C01';
    expect(run("SELECT encode(*, 'base64') AS data FROM 'raw/#'", text)).toEqual({
      kind: 'json',
      value: { data: Buffer.from(text).toString('base64') },
    });
    expect(run("SELECT encode(*, 'base64') AS data FROM 'raw/#'", '{"a":1}')).toEqual({
      kind: 'json',
      value: { data: Buffer.from('{"a":1}').toString('base64') },
    });
  });

  it('encodes an expression after converting it to a string', () => {
    expect(run("SELECT encode(a, 'base64') AS e FROM '#'", '{"a":{"b":1}}')).toEqual({
      kind: 'json',
      value: { e: Buffer.from('{"b":1}').toString('base64') },
    });
  });

  it('refuses SELECT * plus other items on a binary payload but allows it on an empty one', () => {
    expect(() => run("SELECT *, topic() AS t FROM 'raw/#'", 'not json')).toThrow(IotSqlEvalError);
    expect(run("SELECT *, topic(1) AS t FROM 'raw/#'", '', 'raw/x')).toEqual({ kind: 'json', value: { t: 'raw' } });
  });

  it('builds an object of functions for a binary payload', () => {
    expect(run("SELECT topic(2) AS d, temperature FROM 'raw/#'", 'plain text', 'raw/dev-9')).toEqual({
      kind: 'json',
      value: { d: 'dev-9' },
    });
  });
});

describe('iot-sql WHERE', () => {
  it('passes only when the condition is true', () => {
    expect(where('temperature > 50', { temperature: 51 })).toBe(true);
    expect(where('temperature > 50', { temperature: 50 })).toBe(false);
    expect(where('temperature >= 50 AND color <> "red"', { temperature: 50, color: 'blue' })).toBe(true);
    expect(where("temperature > 50 OR color = 'red'", { temperature: 1, color: 'red' })).toBe(true);
    expect(where('NOT (temperature < 10)', { temperature: 11 })).toBe(true);
  });

  it('compares numbers and numeric strings as decimals in < <= > >=', () => {
    expect(value("'12.5' > 12", {})).toBe(true);
    expect(value("'5E-1' < 1", {})).toBe(true);
    expect(value("'abc' > 1", {})).toBe(UNDEFINED);
    expect(value("'b' > 'a'", {})).toBe(UNDEFINED);
  });

  it('treats mismatched types as unequal and compares arrays and objects deeply', () => {
    expect(value("'5' = 5")).toBe(false);
    expect(value("'5' <> 5")).toBe(true);
    expect(value('a = b', { a: { x: [1, 2] }, b: { x: [1, 2] } })).toBe(true);
    expect(value('a = b', { a: [1, 2], b: [2, 1] })).toBe(false);
    expect(value('a != b', { a: null, b: null })).toBe(false);
  });

  it('propagates Undefined through comparisons and logic so the rule does not fire', () => {
    expect(value('missing = 1')).toBe(UNDEFINED);
    expect(value('NOT missing = 1')).toBe(UNDEFINED);
    expect(value('true AND missing = 1')).toBe(UNDEFINED);
    expect(where('missing <> 1')).toBe(false);
    expect(where('NOT missing = 1')).toBe(false);
  });

  it('accepts the strings "true" and "false" as booleans in AND, OR and NOT', () => {
    expect(value("'TRUE' AND flag", { flag: 'false' })).toBe(false);
    expect(value("NOT 'false'")).toBe(true);
    expect(value('1 AND true')).toBe(UNDEFINED);
  });

  it('tests for missing fields with isUndefined()', () => {
    expect(where('isUndefined(alarm)', { temperature: 1 })).toBe(true);
    expect(where('isUndefined(alarm)', { alarm: null })).toBe(false);
    expect(where('NOT isUndefined(a.b)', { a: { b: 0 } })).toBe(true);
  });

  it('can filter on topic segments', () => {
    expect(run("SELECT * FROM 'devices/#' WHERE topic(2) = 'dev-1'", '{}')).toBeDefined();
    expect(run("SELECT * FROM 'devices/#' WHERE topic(2) = 'dev-2'", '{}')).toBeUndefined();
  });

  it('sees no fields in a binary payload', () => {
    expect(where("device_type = 'thermostat'", 'device_type')).toBe(false);
  });
});

describe('iot-sql parser', () => {
  it('accepts keywords and function names in any case and an optional FROM', () => {
    const stmt = parseSql("select Topic(2) as d from 'a/+' where IsUndefined(x) and not false");
    expect(stmt.topicFilter).toBe('a/+');
    expect(parseSql("SELECT encode(*, 'base64') AS data").topicFilter).toBeUndefined();
  });

  it('allows field names that are SQL words of unsupported features', () => {
    expect(run("SELECT value, end AS e FROM 'a' WHERE value > 1", '{"value":2,"end":3}')).toEqual({
      kind: 'json',
      value: { value: 2, e: 3 },
    });
  });

  it.each([
    ["SELECT get_thing_shadow('t', 'r') AS s FROM 'a'", 'unsupported SQL function "get_thing_shadow" in SELECT'],
    ["SELECT * FROM 'a' WHERE upper(x) = 'A'", 'unsupported SQL function "upper" in WHERE'],
    ["SELECT CASE x WHEN 1 THEN 2 END AS y FROM 'a'", 'unsupported SQL keyword "CASE" in SELECT'],
    ["SELECT a + 1 AS b FROM 'a'", 'unsupported SQL operator "+" in SELECT'],
    ["SELECT * FROM 'a' WHERE t * 2 > 1", 'unsupported SQL operator "*" in WHERE'],
    ["SELECT a[0] AS b FROM 'a'", 'unsupported array index on "a" in SELECT'],
    ["SELECT topic(2) FROM 'a'", 'needs an AS name'],
    ["SELECT VALUE color FROM 'a'", 'unsupported SQL keyword "VALUE" in SELECT'],
    ["SELECT encode(*, 'hex') AS x FROM 'a'", 'unsupported encode() scheme "hex"'],
    ["SELECT * FROM 'a/#/b'", '"#" must be the last level'],
    ["SELECT * FROM 'a' WHERE 1 < 2 < 3", 'chained comparisons are not supported'],
    ["SELECT * FROM 'a' WHERE", 'unexpected end of SQL in WHERE'],
    ["SELECT * FROM 'a' WHERE x IN (1, 2)", 'unsupported SQL keyword "IN" in WHERE'],
    ["SELECT * FROM 'a' WHERE x LIKE 'a%'", 'unsupported SQL keyword "LIKE" in WHERE'],
    ["SELECT * FROM 'a' WHERE `x` = 1", 'unsupported SQL syntax "`" in WHERE'],
    ["SELECT decode(x, 'base64').t AS t FROM 'a'", 'unsupported SQL function "decode" in SELECT'],
    ["SET @x = 1 SELECT * FROM 'a'", 'unsupported SQL clause "SET"'],
    ["SELECT * FROM 'a' WHERE x = 'open", 'unterminated string literal'],
  ])('rejects %s', (sql, message) => {
    expect(() => parseSql(sql)).toThrow(message);
  });
});

describe('iot-sql substitution templates', () => {
  it('renders expressions against the incoming message and Undefined as empty', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an AWS IoT substitution template, not JS
    const tpl = parseTemplate('alarms/${topic(2)}/${level}/${missing}x');
    expect(renderTemplate(tpl, message('{"level":3}'))).toBe('alarms/dev-1/3/x');
    expect(renderTemplate(parseTemplate('plain/topic'), message('{}'))).toBe('plain/topic');
  });

  it('rejects unsupported expressions and an unterminated ${', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an AWS IoT substitution template, not JS
    expect(() => parseTemplate('a/${newuuid()}')).toThrow(
      'unsupported SQL function "newuuid" in a substitution template',
    );
    expect(() => parseTemplate('a/${topic(2)')).toThrow('unterminated');
  });
});

describe('iot topic filters', () => {
  it('matches + for one level and # for the rest, never $ topics from a leading wildcard', () => {
    expect(topicMatches('devices/+/telemetry', 'devices/d1/telemetry')).toBe(true);
    expect(topicMatches('devices/+/telemetry', 'devices/d1/x/telemetry')).toBe(false);
    expect(topicMatches('devices/#', 'devices')).toBe(true);
    expect(topicMatches('devices/#', 'devices/a/b')).toBe(true);
    expect(topicMatches('devices/+', 'devices/')).toBe(true);
    expect(topicMatches('#', '$aws/things/x')).toBe(false);
    expect(topicMatches('$aws/things/+', '$aws/things/x')).toBe(true);
  });
});

describe('compileRule', () => {
  it('names the rule and the unsupported part', () => {
    expect(() => compileRule(rule("SELECT get_thing_shadow('x') AS s FROM 'a/#'"))).toThrow(
      'IoT rule "IngestRule": unsupported SQL function "get_thing_shadow" in SELECT',
    );
  });

  it('rejects other SQL versions and unsupported templates in actions', () => {
    expect(() => compileRule(rule("SELECT * FROM 'a'", { sqlVersion: '2015-10-08' }))).toThrow(
      'IoT rule "IngestRule": SQL version "2015-10-08" is not supported locally',
    );
    expect(() =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an AWS IoT substitution template, not JS
      compileRule(rule("SELECT * FROM 'a'", { actions: [{ kind: 'republish', topic: 'x/${md5(a)}' }] })),
    ).toThrow('IoT rule "IngestRule": unsupported SQL function "md5" in a substitution template (action republish)');
  });

  it('matches topics by its FROM filter and runs WHERE then SELECT', () => {
    const compiled = compileRule(rule("SELECT temp AS t FROM 'devices/+/telemetry' WHERE temp > 30"));
    expect(compiled.matches('devices/dev-1/telemetry')).toBe(true);
    expect(compiled.matches('devices/dev-1/status')).toBe(false);
    expect(compiled.evaluate(message('{"temp":31}'))).toEqual({ kind: 'json', value: { t: 31 } });
    expect(compiled.evaluate(message('{"temp":29}'))).toBeUndefined();
  });
});

describe('iot helpers', () => {
  it('splits Basic Ingest topics', () => {
    expect(parseBasicIngestTopic('$aws/rules/IngestRule/devices/d1')).toEqual({
      ruleName: 'IngestRule',
      rest: 'devices/d1',
    });
    expect(parseBasicIngestTopic('devices/d1')).toBeUndefined();
  });

  it('derives the local queue URL from a queue ARN', () => {
    expect(queueUrlFromArn('http://127.0.0.1:4566/', 'arn:aws:sqs:us-east-1:000000000000:rule-dlq')).toBe(
      'http://127.0.0.1:4566/000000000000/rule-dlq',
    );
    expect(() => queueUrlFromArn('http://x', 'arn:aws:sns:us-east-1:000000000000:t')).toThrow('not an SQS queue ARN');
  });
});
