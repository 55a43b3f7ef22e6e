import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi as CdkHttpApi,
  CorsHttpMethod,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteContracts } from '#shared/http/contract.ts';
import { retentionFor } from './envwatch-function.ts';

/**
 * The HTTP API: a JWT authorizer whose issuer and audience come from context (any OIDC issuer: Cognito is not available
 * in AWS China regions) and two stages with the same throttling and access logs:
 * - `$default`: the API at the root of its own address, for scripts, the operator and machine clients;
 * - `api` (WEB_API_STAGE): the same routes under `/api/…`. The web hosting forwards its `/api/*` path to the API as it
 *   is, and API Gateway strips the stage name: the pages call their own origin (`/api/tips`), with no CORS and no
 *   path rewriting at the edge (CloudFront in the China regions has no edge functions to do it).
 * Routes come from the contracts, so a route exists exactly when a handler implements it. Role checks happen in the
 * handler (claims).
 */
export const WEB_API_STAGE = 'api';

export interface HttpApiProps {
  jwtIssuer: string;
  jwtAudience: string;
  rateLimit: number;
  burstLimit: number;
  logRetentionDays: number;
  retain: boolean;
}

export class EnvWatchHttpApi extends Construct {
  public readonly api: CdkHttpApi;
  public readonly stage: HttpStage;
  /** the same routes under `/api/…`, which the web hosting forwards to */
  public readonly webStage: HttpStage;
  private readonly authorizer: HttpJwtAuthorizer;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    this.api = new CdkHttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-api`,
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [
          CorsHttpMethod.GET,
          CorsHttpMethod.POST,
          CorsHttpMethod.PUT,
          CorsHttpMethod.PATCH,
          CorsHttpMethod.DELETE,
        ],
        allowHeaders: ['authorization', 'content-type', 'if-match', 'x-receipt'],
        exposeHeaders: ['etag', 'location'],
      },
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: retentionFor(props.logRetentionDays),
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const stage = (id: string, stageName: string) =>
      new HttpStage(this, id, {
        httpApi: this.api,
        stageName,
        autoDeploy: true,
        throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
        // no client IP in access logs: it could identify a reporter
        accessLogSettings: {
          destination: new LogGroupLogDestination(accessLogs),
          format: AccessLogFormat.custom(
            JSON.stringify({
              requestId: '$context.requestId',
              stage: '$context.stage',
              routeKey: '$context.routeKey',
              status: '$context.status',
              latency: '$context.responseLatency',
              integrationError: '$context.integrationErrorMessage',
              time: '$context.requestTime',
            }),
          ),
        },
      });
    this.stage = stage('Stage', '$default');
    this.webStage = stage('WebStage', WEB_API_STAGE);
    this.authorizer = new HttpJwtAuthorizer('Officials', props.jwtIssuer, { jwtAudience: [props.jwtAudience] });
  }

  /** Adds one route per contract, all to `fn`; public contracts get no authorizer. */
  addContracts(name: string, contracts: RouteContracts, fn: IFunction): void {
    const integration = new HttpLambdaIntegration(`${name}Integration`, fn);
    for (const contract of Object.values(contracts)) {
      const [route] = this.api.addRoutes({
        path: contract.path,
        methods: [HttpMethod[contract.method]],
        integration,
        ...(contract.auth === 'public' ? {} : { authorizer: this.authorizer }),
      });
      if (contract.auth === 'public' && route) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: 'Citizen route, public by design (anonymous reporting): throttled, size-limited, zod-validated.',
        });
      }
    }
  }
}
