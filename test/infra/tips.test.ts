import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tipsIdentityRoutes, tipsOfficialRoutes, tipsPublicRoutes } from '#shared/contracts/tips.ts';
import { routeKey } from '#shared/http/contract.ts';
import { asArray, idsOfType, isRecord, logicalId, props, type SynthesizedApp, synthForTest } from './helpers.ts';

/** Least privilege of the three tips functions: who may encrypt, who may decrypt, who may read identities. */
let s: SynthesizedApp;

beforeAll(() => {
  s = synthForTest({ stage: 'dev' });
});

afterAll(() => {
  s?.cleanup();
});

function fnId(service: string): string {
  const fns = idsOfType(s.apiTemplate, 'AWS::Lambda::Function').filter((id) => {
    const env = props(s.apiTemplate, id)['Environment'];
    const vars = isRecord(env) && isRecord(env['Variables']) ? env['Variables'] : {};
    return vars['ENVWATCH_SERVICE'] === service;
  });
  expect(fns).toHaveLength(1);
  return fns[0] as string;
}

/** Every [action, resource] the function's role is allowed. */
function grants(service: string): [string, string][] {
  const role = s.render(props(s.apiTemplate, fnId(service))['Role']).replace(/^\$\{(.+)\.Arn\}$/, '$1');
  const out: [string, string][] = [];
  for (const id of idsOfType(s.apiTemplate, 'AWS::IAM::Policy')) {
    const p = props(s.apiTemplate, id);
    if (!asArray(p['Roles']).some((r) => s.render(r) === `\${${role}}`)) continue;
    const doc = p['PolicyDocument'];
    for (const st of asArray(isRecord(doc) ? doc['Statement'] : undefined)) {
      if (!isRecord(st)) continue;
      expect(st['Effect']).toBe('Allow');
      for (const a of asArray(st['Action']).map(String))
        for (const r of asArray(st['Resource'])) out.push([a, s.render(r)]);
    }
  }
  return out;
}

const on = (g: [string, string][], resource: string) =>
  [...new Set(g.filter(([, r]) => r === resource).map(([a]) => a))].sort();

function routeTargets(): Map<string, string> {
  const out = new Map<string, string>();
  for (const id of idsOfType(s.apiTemplate, 'AWS::ApiGatewayV2::Route')) {
    const p = props(s.apiTemplate, id);
    const integration = s.render(p['Target']).replace(/^integrations\/\$\{(.+)\}$/, '$1');
    const uri = s.render(props(s.apiTemplate, integration)['IntegrationUri']);
    out.set(String(p['RouteKey']), uri.replace(/^\$\{(.+)\.Arn\}$/, '$1'));
  }
  return out;
}

describe('Tips construct', () => {
  it('routes public, official and identity contracts each to their own function', () => {
    const targets = routeTargets();
    const sets = [
      [tipsPublicRoutes, 'tips-public'],
      [tipsOfficialRoutes, 'tips-official'],
      [tipsIdentityRoutes, 'tips-identity'],
    ] as const;
    for (const [routes, service] of sets) {
      for (const c of Object.values(routes)) expect(targets.get(routeKey(c)), routeKey(c)).toBe(fnId(service));
    }
    expect(targets.get('POST /tips/{id}/identity/open')).toBe(fnId('tips-identity'));
  });

  it('lets only the identity function decrypt with the identity key', () => {
    const identityKey = `\${${logicalId(s.data.identityKey)}.Arn}`;
    expect(on(grants('tips-public'), identityKey)).toEqual(['kms:GenerateDataKey']);
    expect(on(grants('tips-official'), identityKey)).toEqual(['kms:GenerateDataKey']);
    expect(on(grants('tips-identity'), identityKey)).toEqual(['kms:Decrypt']);
    const others = idsOfType(s.apiTemplate, 'AWS::Lambda::Function').filter((id) => id !== fnId('tips-identity'));
    expect(others.length).toBeGreaterThan(2);
    for (const service of ['registry-api', 'tips-public', 'tips-official']) {
      expect(grants(service).filter(([a, r]) => a === 'kms:Decrypt' && r === identityKey)).toEqual([]);
    }
  });

  it('lets the public and official functions only append identities, and the identity function read them', () => {
    const identities = `\${${logicalId(s.data.tables.byName.identities.table)}.Arn}`;
    expect(on(grants('tips-public'), identities)).toEqual(['dynamodb:PutItem']);
    expect(on(grants('tips-official'), identities)).toEqual(['dynamodb:PutItem']);
    expect(on(grants('tips-identity'), identities)).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ].sort(),
    );
    for (const service of ['tips-public', 'tips-official', 'tips-identity']) {
      const audit = `\${${logicalId(s.data.tables.byName.audit.table)}.Arn}`;
      expect(on(grants(service), audit), service).toEqual(['dynamodb:PutItem']);
    }
  });

  it('gives the identity function no write to tips beyond appending entries, and no evidence buckets', () => {
    const tips = `\${${logicalId(s.data.tables.byName.tips.table)}.Arn}`;
    const g = grants('tips-identity');
    expect(on(g, tips).filter((a) => !a.startsWith('dynamodb:Get') && !a.startsWith('dynamodb:BatchGet'))).toEqual([
      'dynamodb:ConditionCheckItem',
      'dynamodb:DescribeTable',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    expect(g.filter(([a]) => a.startsWith('s3:'))).toEqual([]);
  });

  it('lets only the official function read evidence, and only the metadata-stripped working copies', () => {
    const reads = (service: string) => grants(service).filter(([a]) => a === 's3:GetObject');
    const official = reads('tips-official').map(([, r]) => r);
    const working = official.filter((r) => r.endsWith('/evidence/*/working.*'));
    expect(working).toHaveLength(1);
    // its other reads are the citizens' temporary uploads (finalize), never the sealed originals
    expect(official.filter((r) => r !== working[0]).every((r) => r.endsWith('/uploads/*'))).toBe(true);
    expect(reads('tips-public').some(([, r]) => r.includes('working'))).toBe(false);
  });

  it('gives the alarms function the answers’ evidence only: its own prefix, working copies, upload slots', () => {
    const g = grants('alarms-api');
    const reads = g.filter(([a]) => a === 's3:GetObject').map(([, r]) => r);
    expect(reads.filter((r) => r.includes('/evidence/'))).toEqual([
      expect.stringMatching(/\/evidence\/response\/\*\/working\.\*$/),
    ]);
    expect(reads.filter((r) => !r.includes('/evidence/')).every((r) => r.endsWith('/uploads/*'))).toBe(true);
    const writes = g.filter(([a]) => a === 's3:PutObject').map(([, r]) => r);
    expect(writes).toEqual([expect.stringMatching(/\/evidence\/response\/\*$/)]);
    const tips = `\${${logicalId(s.data.tables.byName.tips.table)}.Arn}`;
    expect(on(g, tips)).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // no query of the tips table nor of its indexes: the role reads upload slots by key (LeadingKeys upload#*)
    expect(g.some(([a, r]) => r.startsWith(tips) && a === 'dynamodb:Query')).toBe(false);
    expect(JSON.stringify(s.apiTemplate)).toContain('"dynamodb:LeadingKeys":["upload#*"]');
  });
});
