import { AssetHashType, DockerImage, Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  CfnCloudFrontOriginAccessIdentity,
  CfnDistribution,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { CanonicalUserPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { buildWeb, WEB_DIR, WEB_SOURCE } from '#web/build.ts';
import { consoleFallback, IMMUTABLE, REVALIDATE } from '#web/cache.ts';
import { BUILD_FILES, inputsHash } from './bundle-hash.ts';
import { WEB_API_STAGE } from './http-api.ts';
import { acknowledgeCdkOwnedWildcards } from './nag.ts';

/**
 * The citizen pages and the officials' console, hosted: a private S3 bucket behind CloudFront, HTTPS only.
 *
 * - Content: web/build.ts at synth (esbuild; content-hashed scripts and styles). Two deployments: the hashed files
 *   `max-age=31536000, immutable`; HTML and config.json `no-cache`, so a new deployment is seen at once. Plus
 *   `config.json`, written at deploy time: where the API is (`/api`, same origin), the login issuer and client id, and
 *   the console's router mode.
 * - `/api/*` goes to the HTTP API's `api` stage as it is (API Gateway strips the stage): the pages call their own
 *   origin, no CORS. Never cached; every viewer header (Authorization, If-Match, x-receipt) but Host reaches the API.
 * - Global partition: origin access control, a response headers policy (CSP as strict as the pages' own, HSTS, frame
 *   ancestors none, nosniff, no referrer), and the console's SPA fallback as a CloudFront Function (`/console/<route>`
 *   without a file extension is answered with `/console/index.html`).
 * - China partition (aws-cn): CloudFront there requires an ICP-filed domain with a certificate from IAM (no ACM) and
 *   supports neither origin access control nor cache, origin-request or response-headers policies, nor edge
 *   functions. So the distribution is written at the CloudFormation level with legacy cache settings and an origin
 *   access identity; the CSP comes from each page's own `<meta>` (HSTS and frame-ancestors cannot be set there: see
 *   docs/operations.md), and the console uses hash routes (`routerMode: "hash"` in config.json), which need no
 *   fallback. test/infra/web.test.ts asserts the China template's resource types, since synthesis cannot tell.
 */
export interface WebHostingProps {
  api: HttpApi;
  /** CloudFront and S3 access logs (an ACL-enabled bucket) */
  accessLogs: IBucket;
  partition: 'aws' | 'aws-cn';
  /** e.g. `hb.qingyuan.gov.cn`: optional in the global partition, required (ICP-filed) in China */
  domain?: string;
  /** ACM certificate ARN in us-east-1 (global) or IAM server certificate ID (China) for `domain` */
  certificate?: string;
  /** what the console needs to sign officials in (OIDC authorization code + PKCE) */
  login: { issuer: string; clientId: string };
  retain: boolean;
}

/** /config.json: where the API is, how officials sign in, how the console routes. */
export interface WebConfig {
  apiBase: string;
  login: { issuer: string; clientId: string };
  routerMode: 'history' | 'hash';
}

/** The Content-Security-Policy of every page: what the pages' own `<meta>` allow, plus what a header alone can say. */
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "font-src 'self'",
  // presigned uploads go to S3 and the console's token calls to the identity provider: both https
  "connect-src 'self' https:",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** the console's SPA fallback (web/cache.ts), the same function the local platform runs */
const CONSOLE_FALLBACK = `${consoleFallback.toString()}
function handler(event) {
  event.request.uri = consoleFallback(event.request.uri);
  return event.request;
}`;

export class WebHosting extends Construct {
  public readonly bucket: Bucket;
  /** `https://<domain or distribution domain>` */
  public readonly url: string;
  public readonly distributionId: string;
  /** what the pages read from /config.json (the local platform serves its own) */
  public readonly config: WebConfig;

  constructor(scope: Construct, id: string, props: WebHostingProps) {
    super(scope, id);
    const china = props.partition === 'aws-cn';
    if (china && (!props.domain || !props.certificate)) {
      throw new Error(
        'web hosting in a China region needs an ICP-filed domain and its IAM server certificate: -c webDomain=<domain> -c webCertificate=<IAM certificate id> (or -c web=off)',
      );
    }
    // content built from the repository; nothing in it that cannot be built again
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'web-bucket/',
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !props.retain,
    });
    const apiDomain = Fn.select(2, Fn.split('/', props.api.apiEndpoint));

    const distribution = china ? this.chinaDistribution(props, apiDomain) : this.globalDistribution(props, apiDomain);
    this.distributionId = distribution.id;
    this.url = `https://${props.domain ?? distribution.domainName}`;

    const site = Source.asset(WEB_SOURCE, {
      assetHash: inputsHash([WEB_DIR, ...BUILD_FILES], 'web'),
      assetHashType: AssetHashType.CUSTOM,
      bundling: {
        // the build runs in-process at synth (local bundling); the image is never pulled (no Docker anywhere)
        image: DockerImage.fromRegistry('none'),
        local: {
          tryBundle(outputDir: string) {
            buildWeb(outputDir);
            return true;
          },
        },
      },
    });
    this.config = { apiBase: `/${WEB_API_STAGE}`, login: props.login, routerMode: china ? 'hash' : 'history' };
    const config = Source.jsonData('config.json', this.config);
    const assets = new BucketDeployment(this, 'Assets', {
      sources: [site],
      destinationBucket: this.bucket,
      exclude: ['*.html', 'config.json'],
      cacheControl: [CacheControl.fromString(IMMUTABLE)],
      memoryLimit: 512,
    });
    const pages = new BucketDeployment(this, 'Pages', {
      sources: [site, config],
      destinationBucket: this.bucket,
      exclude: ['*'],
      include: ['*.html', 'config.json'],
      cacheControl: [CacheControl.fromString(REVALIDATE)],
      distribution: distribution.ref,
      distributionPaths: ['/*'],
      memoryLimit: 512,
    });
    // CDK's deployment handler is one function per stack (and memory size), made beside this construct, not in it
    const handlers = new Set([assets, pages].map((d) => d.handlerRole.node.scope as IConstruct));
    for (const handler of handlers) {
      Validations.of(handler).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: "CDK's BucketDeployment handler writes its own logs through AWSLambdaBasicExecutionRole.",
        },
        { id: 'AwsSolutions-L1', reason: "CDK's BucketDeployment handler runtime is chosen by aws-cdk-lib." },
      );
      acknowledgeCdkOwnedWildcards(
        handler,
        "CDK's BucketDeployment copies the build from the CDK assets bucket into the web bucket and invalidates the distribution (cloudfront:CreateInvalidation takes no resource): its actions and keys are CDK's own.",
      );
    }
  }

  private globalDistribution(props: WebHostingProps, apiDomain: string) {
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'EnvWatch pages: CSP, HSTS, no framing, no sniffing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: WEB_CSP, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    const fallback = new EdgeFunction(this, 'ConsoleFallback', {
      code: FunctionCode.fromInline(CONSOLE_FALLBACK),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'console routes → /console/index.html',
    });
    const certificate =
      props.domain && props.certificate
        ? Certificate.fromCertificateArn(this, 'Certificate', props.certificate)
        : undefined;
    const distribution = new Distribution(this, 'Distribution', {
      comment: 'EnvWatch web pages and console',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_ALL,
      ...(certificate && props.domain
        ? { domainNames: [props.domain], certificate, minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021 }
        : {}),
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'web/',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: [{ function: fallback, eventType: FunctionEventType.VIEWER_REQUEST }],
        compress: true,
      },
      additionalBehaviors: {
        [`/${WEB_API_STAGE}/*`]: {
          origin: new HttpOrigin(apiDomain, {
            protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
            originSslProtocols: [OriginSslPolicy.TLS_V1_2],
          }),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          // never cached; with caching off, every viewer header but Host (API Gateway needs its own) is forwarded
          cachePolicy: CachePolicy.CACHING_DISABLED,
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: headers,
        },
      },
    });
    Validations.of(distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'No geo restriction: reporters and officials may be travelling; every route is authenticated or throttled.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'No WAF by default (a cost the bureau decides); the API is throttled and validates every input.',
      },
      ...(certificate
        ? []
        : [
            {
              id: 'AwsSolutions-CFR4',
              reason:
                'Without -c webDomain and -c webCertificate the distribution has only its default certificate, which CloudFront serves with TLS 1.0+; set both for TLS 1.2.',
            },
          ]),
    );
    return { id: distribution.distributionId, domainName: distribution.distributionDomainName, ref: distribution };
  }

  private chinaDistribution(props: WebHostingProps, apiDomain: string) {
    const identity = new CfnCloudFrontOriginAccessIdentity(this, 'OriginIdentity', {
      cloudFrontOriginAccessIdentityConfig: { comment: 'EnvWatch web bucket' },
    });
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects('*')],
        principals: [new CanonicalUserPrincipal(identity.attrS3CanonicalUserId)],
      }),
    );
    const forwardNothing = { queryString: false, cookies: { forward: 'none' } };
    const distribution = new CfnDistribution(this, 'Distribution', {
      distributionConfig: {
        enabled: true,
        comment: 'EnvWatch web pages and console',
        aliases: [props.domain as string],
        viewerCertificate: {
          iamCertificateId: props.certificate as string,
          sslSupportMethod: 'sni-only',
          minimumProtocolVersion: 'TLSv1.2_2021',
        },
        defaultRootObject: 'index.html',
        httpVersion: 'http2',
        logging: { bucket: props.accessLogs.bucketRegionalDomainName, prefix: 'web/', includeCookies: false },
        origins: [
          {
            id: 'site',
            domainName: this.bucket.bucketRegionalDomainName,
            s3OriginConfig: { originAccessIdentity: `origin-access-identity/cloudfront/${identity.ref}` },
          },
          {
            id: 'api',
            domainName: apiDomain,
            customOriginConfig: {
              originProtocolPolicy: 'https-only',
              originSslProtocols: ['TLSv1.2'],
            },
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: 'site',
          viewerProtocolPolicy: 'redirect-to-https',
          allowedMethods: ['GET', 'HEAD'],
          compress: true,
          forwardedValues: forwardNothing,
        },
        cacheBehaviors: [
          {
            pathPattern: `/${WEB_API_STAGE}/*`,
            targetOriginId: 'api',
            viewerProtocolPolicy: 'https-only',
            allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
            // legacy cache settings: never cached, the headers the API reads forwarded (Host is not: API Gateway's own)
            minTtl: 0,
            defaultTtl: 0,
            maxTtl: 0,
            forwardedValues: {
              queryString: true,
              cookies: { forward: 'none' },
              headers: ['Authorization', 'Content-Type', 'If-Match', 'X-Receipt', 'Accept', 'Accept-Language'],
            },
          },
        ],
      },
    });
    Validations.of(distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'No geo restriction: reporters and officials may be travelling.' },
      { id: 'AwsSolutions-CFR2', reason: 'No WAF by default (a cost the bureau decides); the API is throttled.' },
      {
        id: 'AwsSolutions-CFR7',
        reason: 'Origin access control does not exist in the China partition: an origin access identity is used.',
      },
    );
    return { id: distribution.ref, domainName: distribution.attrDomainName, ref: distribution };
  }
}
