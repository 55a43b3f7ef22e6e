import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestStack } from '#infra/stacks/ingest-stack.ts';
import { registryRoutes } from '#shared/contracts/registry.ts';
import { routeKey } from '#shared/http/contract.ts';
import {
  asArray,
  idsOfType,
  isRecord,
  type Json,
  logicalId,
  PROD_CONTEXT,
  props,
  resource,
  type SynthesizedApp,
  synthForTest,
} from './helpers.ts';

const READ = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const DATA_KEY_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];
const XRAY = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

let dev: SynthesizedApp;
let prod: SynthesizedApp;

beforeAll(() => {
  dev = synthForTest({ stage: 'dev' });
  prod = synthForTest({ ...PROD_CONTEXT, publicRateLimit: '7', publicBurstLimit: '9' });
});

afterAll(() => {
  dev?.cleanup();
  prod?.cleanup();
});

const registryFnId = (s: SynthesizedApp, service = 'registry-api') => {
  const fns = idsOfType(s.apiTemplate, 'AWS::Lambda::Function').filter((id) => {
    const env = props(s.apiTemplate, id)['Environment'];
    const vars = isRecord(env) && isRecord(env['Variables']) ? env['Variables'] : {};
    return vars['ENVWATCH_SERVICE'] === service;
  });
  expect(fns).toHaveLength(1);
  return fns[0] as string;
};

/** Route key → the Lambda logical ID its integration invokes, for every route of the HTTP API. */
function routes(s: SynthesizedApp): { key: string; fn: string; auth: Json }[] {
  return idsOfType(s.apiTemplate, 'AWS::ApiGatewayV2::Route').map((id) => {
    const p = props(s.apiTemplate, id);
    const integration = s.render(p['Target']).replace(/^integrations\/\$\{(.+)\}$/, '$1');
    const uri = s.render(props(s.apiTemplate, integration)['IntegrationUri']);
    return {
      key: String(p['RouteKey']),
      fn: uri.replace(/^\$\{(.+)\.Arn\}$/, '$1'),
      auth: { type: p['AuthorizationType'], authorizer: p['AuthorizerId'] },
    };
  });
}

interface Statement {
  actions: string[];
  resources: string[];
}

function statements(s: SynthesizedApp, fnId: string): Statement[] {
  const role = s.render(props(s.apiTemplate, fnId)['Role']).replace(/^\$\{(.+)\.Arn\}$/, '$1');
  const out: Statement[] = [];
  for (const id of idsOfType(s.apiTemplate, 'AWS::IAM::Policy')) {
    const p = props(s.apiTemplate, id);
    if (!asArray(p['Roles']).some((r) => s.render(r) === `\${${role}}`)) continue;
    const doc = p['PolicyDocument'];
    for (const st of asArray(isRecord(doc) ? doc['Statement'] : undefined)) {
      if (!isRecord(st)) continue;
      expect(st['Effect']).toBe('Allow');
      out.push({ actions: asArray(st['Action']).map(String), resources: asArray(st['Resource']).map(s.render) });
    }
  }
  expect(out.length).toBeGreaterThan(0);
  return out;
}

/** Every (action, resource) pair the statements grant. */
const grants = (sts: Statement[]) => sts.flatMap((st) => st.actions.flatMap((a) => st.resources.map((r) => [a, r])));

describe('Api stack', () => {
  describe('routes', () => {
    it('creates exactly one route per registry contract, all to the registry function, and nothing else to it', () => {
      for (const s of [dev, prod]) {
        const fn = registryFnId(s);
        const all = routes(s);
        for (const c of Object.values(registryRoutes)) {
          expect(
            all.filter((r) => r.key === routeKey(c)),
            routeKey(c),
          ).toHaveLength(1);
        }
        expect(
          all
            .filter((r) => r.fn === fn)
            .map((r) => r.key)
            .sort(),
        ).toEqual(Object.values(registryRoutes).map(routeKey).sort());
      }
    });

    it('puts the JWT authorizer on every non-public route and none on public ones', () => {
      const byKey = new Map(routes(dev).map((r) => [r.key, r]));
      const authorizer = idsOfType(dev.apiTemplate, 'AWS::ApiGatewayV2::Authorizer');
      expect(authorizer).toHaveLength(1);
      for (const c of Object.values(registryRoutes)) {
        const r = byKey.get(routeKey(c));
        if (c.auth === 'public') expect(r?.auth['type'] ?? 'NONE', routeKey(c)).toBe('NONE');
        else expect(r?.auth, routeKey(c)).toEqual({ type: 'JWT', authorizer: { Ref: authorizer[0] } });
      }
    });

    it('takes the authorizer issuer and audience from context', () => {
      const jwt = (s: SynthesizedApp) => {
        const id = idsOfType(s.apiTemplate, 'AWS::ApiGatewayV2::Authorizer')[0] as string;
        const p = props(s.apiTemplate, id);
        return { type: p['AuthorizerType'], source: p['IdentitySource'], config: p['JwtConfiguration'] };
      };
      expect(jwt(prod)).toEqual({
        type: 'JWT',
        source: ['$request.header.Authorization'],
        config: { Issuer: PROD_CONTEXT.jwtIssuer, Audience: [PROD_CONTEXT.jwtAudience] },
      });
      // dev without context: the placeholder issuer, still an https URL
      expect(jwt(dev).config).toEqual({ Issuer: expect.stringMatching(/^https:\/\//), Audience: ['envwatch-console'] });
    });
  });

  describe('stage', () => {
    it("has the $default stage and the web pages' api stage, each auto-deployed, throttled from config, with JSON access logs that hold no client IP", () => {
      for (const [s, rate, burst] of [
        [dev, 20, 40],
        [prod, 7, 9],
      ] as const) {
        const stages = idsOfType(s.apiTemplate, 'AWS::ApiGatewayV2::Stage');
        expect(stages.map((id) => props(s.apiTemplate, id)['StageName']).sort()).toEqual(['$default', 'api']);
        for (const id of stages) {
          const p = props(s.apiTemplate, id);
          expect(p['AutoDeploy']).toBe(true);
          expect(p['DefaultRouteSettings']).toEqual({ ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst });
          const logs = p['AccessLogSettings'];
          expect(isRecord(logs)).toBe(true);
          if (!isRecord(logs)) return;
          const dest = s.render(logs['DestinationArn']).replace(/^\$\{(.+)\.Arn\}$/, '$1');
          expect(resource(s.apiTemplate, dest)['Type']).toBe('AWS::Logs::LogGroup');
          expect(props(s.apiTemplate, dest)['RetentionInDays']).toBeGreaterThan(0);
          const format = JSON.parse(String(logs['Format'])) as Record<string, string>;
          expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
          expect(String(logs['Format'])).not.toMatch(/sourceIp|identity\./);
        }
      }
    });
  });

  describe('registry function', () => {
    it('runs nodejs22.x on arm64 with active tracing and its own log group with the stage retention', () => {
      for (const [s, days] of [
        [dev, 30],
        [prod, 365],
      ] as const) {
        const p = props(s.apiTemplate, registryFnId(s));
        expect(p['Runtime']).toBe('nodejs22.x');
        expect(p['Architectures']).toEqual(['arm64']);
        expect(p['TracingConfig']).toEqual({ Mode: 'Active' });
        const logging = p['LoggingConfig'];
        const group = s.render(isRecord(logging) ? logging['LogGroup'] : undefined).replace(/^\$\{(.+)\}$/, '$1');
        expect(resource(s.apiTemplate, group)['Type']).toBe('AWS::Logs::LogGroup');
        expect(props(s.apiTemplate, group)['RetentionInDays']).toBe(days);
      }
    });

    it('gets the registry and audit table names and the stage from its environment', () => {
      for (const s of [dev, prod]) {
        const env = props(s.apiTemplate, registryFnId(s))['Environment'];
        const vars = isRecord(env) && isRecord(env['Variables']) ? env['Variables'] : {};
        expect(s.render(vars['REGISTRY_TABLE'])).toBe(`\${${logicalId(s.data.tables.byName.registry.table)}}`);
        expect(s.render(vars['AUDIT_TABLE'])).toBe(`\${${logicalId(s.data.tables.byName.audit.table)}}`);
        expect(vars['ENVWATCH_STAGE']).toBe(s.data.node.tryGetContext('stage'));
      }
    });

    it('gets the device IoT policy that the Ingest stack defines from its environment', () => {
      for (const s of [dev, prod]) {
        const env = props(s.apiTemplate, registryFnId(s))['Environment'];
        const vars = isRecord(env) && isRecord(env['Variables']) ? env['Variables'] : {};
        const ingest = s.app.node.findAll().find((c) => c instanceof IngestStack) as IngestStack;
        const policyName = props(Template.fromStack(ingest), ingest.getLogicalId(ingest.devicePolicy.policy))[
          'PolicyName'
        ];
        expect(vars['IOT_DEVICE_POLICY']).toBe(policyName);
        expect(policyName).toBe(`envwatch-${s.data.node.tryGetContext('stage')}-device`);
        expect(s.api.dependencies).toContain(ingest);
      }
    });

    it('may call exactly the IoT Core actions onboarding needs, on thing and certificate ARNs of its own partition, region and account', () => {
      const iot = (resource: string) => `arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}:${resource}`;
      for (const s of [dev, prod]) {
        const granted = grants(statements(s, registryFnId(s)))
          .filter(([a]) => a?.startsWith('iot:'))
          .map(([a, r]) => `${a} ${r}`)
          .sort();
        expect(granted).toEqual(
          [
            `iot:CreateThing ${iot('thing/*')}`,
            `iot:AttachThingPrincipal ${iot('thing/*')}`,
            `iot:AttachThingPrincipal ${iot('cert/*')}`,
            `iot:DetachThingPrincipal ${iot('thing/*')}`,
            `iot:DetachThingPrincipal ${iot('cert/*')}`,
            `iot:AttachPolicy ${iot('cert/*')}`,
            `iot:DetachPolicy ${iot('cert/*')}`,
            `iot:UpdateCertificate ${iot('cert/*')}`,
            'iot:CreateKeysAndCertificate *',
            'iot:CreateCertificateFromCsr *',
            // an administrator's key rotation is a device command (CN 1014)
            `iot:Publish ${iot('topic/envwatch/gateway/cmd/*')}`,
            `iot:Publish ${iot('topic/envwatch/devices/*/cmd')}`,
          ].sort(),
        );
      }
    });

    it('has no wildcard in its policy except the X-Ray resource and the IoT thing and certificate resources', () => {
      const iotCreate = ['iot:CreateCertificateFromCsr', 'iot:CreateKeysAndCertificate'];
      for (const s of [dev, prod]) {
        for (const st of statements(s, registryFnId(s))) {
          for (const a of st.actions) expect(a, 'action').not.toContain('*');
          const wild = st.resources.filter((r) => r.includes('*'));
          if (wild.length === 0) continue;
          if (st.resources.includes('*')) {
            expect(st.resources).toEqual(['*']);
            expect([[...XRAY].sort(), iotCreate]).toContainEqual(st.actions.sort());
          } else {
            for (const r of wild)
              expect(r).toMatch(
                /:iot:\$\{AWS::Region\}:\$\{AWS::AccountId\}:((thing|cert)\/\*|topic\/envwatch\/(gateway\/cmd\/\*|devices\/\*\/cmd))$/,
              );
          }
        }
      }
    });

    it('reads and writes only the registry table and its gsi1/gsi2 indexes and the readings table (device commands), and only appends to the audit table', () => {
      for (const s of [dev, prod]) {
        const readings = `\${${logicalId(s.data.tables.byName.readings.table)}.Arn}`;
        const registry = `\${${logicalId(s.data.tables.byName.registry.table)}.Arn}`;
        const audit = `\${${logicalId(s.data.tables.byName.audit.table)}.Arn}`;
        const dynamo = grants(statements(s, registryFnId(s))).filter(([a]) => a?.startsWith('dynamodb:'));
        const on = (res: string) =>
          dynamo
            .filter(([, r]) => r === res)
            .map(([a]) => a)
            .sort();
        const expected = [...READ, ...WRITE].sort();
        expect(on(registry)).toEqual(expected);
        expect(on(`${registry}/index/gsi1`)).toEqual(expected);
        expect(on(`${registry}/index/gsi2`)).toEqual(expected);
        expect(on(audit)).toEqual(['dynamodb:PutItem']);
        expect(on(readings)).toEqual(expected);
        const readingIndexes = s.data.tables.byName.readings.indexes.map((i) => `${readings}/index/${i}`);
        const allowed = new Set([
          registry,
          `${registry}/index/gsi1`,
          `${registry}/index/gsi2`,
          audit,
          readings,
          ...readingIndexes,
        ]);
        expect(dynamo.filter(([, r]) => !allowed.has(r as string))).toEqual([]);
      }
    });

    it('uses exactly the KMS actions it needs: the data key for its tables, Encrypt and Decrypt on the device-key key', () => {
      for (const s of [dev, prod]) {
        const kms = grants(statements(s, registryFnId(s))).filter(([a]) => a?.startsWith('kms:'));
        const dataKey = `\${${logicalId(s.data.dataKey)}.Arn}`;
        const deviceKeys = `\${${logicalId(s.data.deviceKeysKey)}.Arn}`;
        expect(new Set(kms.map(([, r]) => r))).toEqual(new Set([dataKey, deviceKeys]));
        const on = (res: string) => [...new Set(kms.filter(([, r]) => r === res).map(([a]) => a))].sort();
        expect(on(dataKey)).toEqual(DATA_KEY_ACTIONS);
        // it seals installers' and pushed keys, and opens an MQTT device's current key to encrypt its push
        expect(on(deviceKeys)).toEqual(['kms:Decrypt', 'kms:Encrypt']);
      }
    });

    it('runs the key rotation daily at 02:00 Beijing time with the event time, on the tables, topics and key it needs', () => {
      for (const s of [dev, prod]) {
        const fn = registryFnId(s, 'key-rotation');
        const rules = idsOfType(s.apiTemplate, 'AWS::Events::Rule').filter((id) =>
          JSON.stringify(props(s.apiTemplate, id)['Targets']).includes(fn),
        );
        expect(rules).toHaveLength(1);
        const rule = props(s.apiTemplate, rules[0] as string);
        expect(rule['ScheduleExpression']).toBe('cron(0 18 * * ? *)');
        expect(JSON.stringify(rule['Targets'])).toContain('"InputPathsMap":{"time":"$.time"}');
        const granted = grants(statements(s, fn));
        const kinds = new Set(granted.map(([a]) => a?.split(':')[0]));
        expect([...kinds].sort()).toEqual(['dynamodb', 'iot', 'kms', 'xray']);
        const deviceKeys = `\${${logicalId(s.data.deviceKeysKey)}.Arn}`;
        expect(
          granted
            .filter(([, r]) => r === deviceKeys)
            .map(([a]) => a)
            .sort(),
        ).toEqual(['kms:Decrypt', 'kms:Encrypt']);
        expect(
          granted
            .filter(([a]) => a === 'iot:Publish')
            .map(([, r]) => r)
            .sort(),
        ).toEqual([
          `arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}:topic/envwatch/devices/*/cmd`,
          `arn:\${AWS::Partition}:iot:\${AWS::Region}:\${AWS::AccountId}:topic/envwatch/gateway/cmd/*`,
        ]);
      }
    });

    it('grants nothing beyond DynamoDB, KMS, IoT and X-Ray', () => {
      for (const s of [dev, prod]) {
        const services = new Set(grants(statements(s, registryFnId(s))).map(([a]) => a?.split(':')[0]));
        expect([...services].sort()).toEqual(['dynamodb', 'iot', 'kms', 'xray']);
      }
    });
  });
});
