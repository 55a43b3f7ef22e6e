import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WEB_CSP } from '#infra/constructs/web-hosting.ts';
import { asArray, type BuiltApp, buildForTest, isRecord, type Json, PROD_CONTEXT } from './helpers.ts';

/**
 * The web hosting as deployed: a private bucket behind CloudFront, `/api/*` to the HTTP API's `api` stage, security
 * headers, cache rules; and in a China region what CloudFront there supports (synthesis cannot tell an unsupported
 * resource type: only a deployment would).
 */
const built: BuiltApp[] = [];
function build(context: Record<string, unknown> = {}, region?: string): BuiltApp {
  if (region) {
    vi.stubEnv('CDK_DEFAULT_REGION', region);
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '123456789012');
  }
  try {
    const b = buildForTest(context);
    built.push(b);
    return b;
  } finally {
    vi.unstubAllEnvs();
  }
}
afterAll(() => {
  for (const b of built) b.cleanup();
});

const CHINA_WEB = { webDomain: 'hb.qingyuan.gov.cn', webCertificate: 'ASCAQINGYUANEXAMPLE01' };

function webTemplate(b: BuiltApp): Template {
  if (!b.web) throw new Error('no Web stack');
  return Template.fromStack(b.web);
}

function distributionConfig(t: Template): Json {
  const [d] = Object.values(t.findResources('AWS::CloudFront::Distribution'));
  const config = isRecord(d) && isRecord(d['Properties']) ? d['Properties']['DistributionConfig'] : undefined;
  if (!isRecord(config)) throw new Error('no distribution');
  return config;
}

/** every property name anywhere under a value */
function keysUnder(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysUnder(v, into);
  else if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keysUnder(v, into);
    }
  }
  return into;
}

describe('web hosting (global partition)', () => {
  const t = webTemplate(build(PROD_CONTEXT));

  it('keeps the bucket private, readable by the distribution through origin access control only', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    t.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    const config = distributionConfig(t);
    const s3 = asArray(config['Origins']).find((o) => isRecord(o) && isRecord(o['S3OriginConfig']));
    expect(isRecord(s3) && s3['OriginAccessControlId']).toBeTruthy();
  });

  it('serves HTTPS only with the CSP of the pages, HSTS, no framing, no sniffing and no referrer', () => {
    t.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: {
          ContentSecurityPolicy: { ContentSecurityPolicy: WEB_CSP, Override: true },
          StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000, IncludeSubdomains: true, Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ContentTypeOptions: { Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
        },
      },
    });
    expect(WEB_CSP).toContain("frame-ancestors 'none'");
    expect(WEB_CSP).toContain("script-src 'self'");
    const config = distributionConfig(t);
    expect(config['DefaultRootObject']).toBe('index.html');
    expect((config['DefaultCacheBehavior'] as Json)['ViewerProtocolPolicy']).toBe('redirect-to-https');
    expect(config['Logging']).toBeDefined();
  });

  it('forwards /api/* uncached to the API with every viewer header but Host', () => {
    const config = distributionConfig(t);
    const api = asArray(config['CacheBehaviors']).find((b) => isRecord(b) && b['PathPattern'] === '/api/*') as Json;
    expect(api).toBeDefined();
    expect(api['ViewerProtocolPolicy']).toBe('https-only');
    expect(api['AllowedMethods']).toEqual(expect.arrayContaining(['POST', 'PUT', 'DELETE', 'OPTIONS']));
    expect(api['CachePolicyId']).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // managed CachingDisabled
    expect(api['OriginRequestPolicyId']).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac'); // AllViewerExceptHostHeader
    const origin = asArray(config['Origins']).find((o) => isRecord(o) && o['Id'] === api['TargetOriginId']) as Json;
    expect(JSON.stringify(origin['DomainName'])).toContain('ApiEndpoint');
  });

  it('answers console routes with the console page through a viewer-request function', () => {
    const [fn] = Object.values(t.findResources('AWS::CloudFront::Function'));
    const code = String(isRecord(fn) && isRecord(fn['Properties']) ? fn['Properties']['FunctionCode'] : '');
    // run the deployed function's code as CloudFront would: console routes get the console page, files themselves
    const handler = new Function(`${code}; return handler;`)() as (e: { request: { uri: string } }) => {
      uri: string;
    };
    const at = (uri: string) => handler({ request: { uri } }).uri;
    expect(at('/console/alarms/01J9ZQ')).toBe('/console/index.html');
    expect(at('/console/')).toBe('/console/index.html');
    expect(at('/console/assets/index-BkzT2a9x.js')).toBe('/console/assets/index-BkzT2a9x.js');
    expect(at('/tip/follow.html')).toBe('/tip/follow.html');
    const behavior = distributionConfig(t)['DefaultCacheBehavior'] as Json;
    expect(asArray(behavior['FunctionAssociations'])).toEqual([
      expect.objectContaining({ EventType: 'viewer-request' }),
    ]);
  });

  it('caches hashed files for a year and HTML and config.json not at all, invalidating on deploy', () => {
    t.hasResourceProperties('Custom::CDKBucketDeployment', {
      Exclude: ['*.html', 'config.json'],
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
      Prune: true,
    });
    t.hasResourceProperties('Custom::CDKBucketDeployment', {
      Exclude: ['*'],
      Include: ['*.html', 'config.json'],
      SystemMetadata: { 'cache-control': 'no-cache' },
      DistributionPaths: ['/*'],
    });
  });

  it('writes config.json with the same-origin API base, the login issuer and client id, and history routes', () => {
    const b = built[0] as BuiltApp;
    expect(b.web?.web.config).toEqual({
      apiBase: '/api',
      login: { issuer: PROD_CONTEXT.jwtIssuer, clientId: PROD_CONTEXT.jwtAudience },
      routerMode: 'history',
    });
    const pages = Object.values(t.findResources('Custom::CDKBucketDeployment')).find(
      (d) => (d as { Properties: Json }).Properties['Include'] !== undefined,
    ) as { Properties: Json };
    expect(asArray(pages.Properties['SourceObjectKeys'])).toHaveLength(2);
  });

  it('has one API stage under /api beside $default, with the same throttling', () => {
    const api = Template.fromStack((built[0] as BuiltApp).api);
    const stages = api.findResources('AWS::ApiGatewayV2::Stage');
    const names = Object.values(stages).map((s) => (s as { Properties: Json }).Properties['StageName']);
    expect(names.sort()).toEqual(['$default', 'api']);
    const throttles = Object.values(stages).map((s) =>
      JSON.stringify((s as { Properties: Json }).Properties['DefaultRouteSettings']),
    );
    expect(new Set(throttles).size).toBe(1);
  });
});

describe('web hosting in a China region', () => {
  it('uses only resource types CloudFront in aws-cn supports: an origin access identity, legacy cache settings', () => {
    const t = webTemplate(build({ ...PROD_CONTEXT, ...CHINA_WEB }, 'cn-northwest-1'));
    const types = new Set(Object.values(t.toJSON()['Resources'] as Json).map((r) => (r as Json)['Type']));
    const supported = new Set([
      'AWS::S3::Bucket',
      'AWS::S3::BucketPolicy',
      'AWS::CloudFront::Distribution',
      'AWS::CloudFront::CloudFrontOriginAccessIdentity',
      'AWS::Lambda::Function',
      'AWS::Lambda::LayerVersion',
      'AWS::IAM::Role',
      'AWS::IAM::Policy',
      'Custom::CDKBucketDeployment',
      'Custom::S3AutoDeleteObjects',
      'AWS::CDK::Metadata',
    ]);
    expect([...types].filter((type) => !supported.has(type as string))).toEqual([]);
    const keys = keysUnder(distributionConfig(t));
    for (const unsupported of [
      'CachePolicyId',
      'OriginRequestPolicyId',
      'ResponseHeadersPolicyId',
      'FunctionAssociations',
      'LambdaFunctionAssociations',
      'OriginAccessControlId',
      'AcmCertificateArn',
    ]) {
      expect(keys.has(unsupported), unsupported).toBe(false);
    }
    const config = distributionConfig(t);
    expect(config['Aliases']).toEqual([CHINA_WEB.webDomain]);
    expect(config['ViewerCertificate']).toMatchObject({
      IamCertificateId: CHINA_WEB.webCertificate,
      MinimumProtocolVersion: 'TLSv1.2_2021',
    });
    const api = asArray(config['CacheBehaviors'])[0] as Json;
    expect(api).toMatchObject({ PathPattern: '/api/*', MaxTTL: 0, DefaultTTL: 0 });
    expect((api['ForwardedValues'] as Json)['Headers']).toEqual(
      expect.arrayContaining(['Authorization', 'If-Match', 'X-Receipt']),
    );
    expect((built.at(-1) as BuiltApp).web?.web.config.routerMode).toBe('hash');
  });

  it('leaves web hosting out with a warning when no domain is given, and entirely with -c web=off', () => {
    const china = build(PROD_CONTEXT, 'cn-north-1');
    expect(china.web).toBeUndefined();
    const warnings = Annotations.fromStack(china.data).findWarning('*', Match.anyValue());
    expect(JSON.stringify(china.app.node.metadata)).toContain('ICP-filed domain');
    expect(warnings).toBeDefined();
    expect(build({ ...PROD_CONTEXT, web: 'off' }).web).toBeUndefined();
  });

  it('refuses a domain without its certificate', () => {
    expect(() => build({ ...PROD_CONTEXT, webDomain: 'hb.qingyuan.gov.cn' })).toThrow(/webCertificate/);
  });
});
