import * as z from 'zod';

/**
 * Deployment settings, from CDK context (`-c stage=prod -c jwtIssuer=… -c jwtAudience=…`, or cdk.json), validated at synth.
 * Cognito user pools do not exist in AWS China regions, so the JWT issuer is any OIDC issuer the bureau runs.
 */
const Stage = z.enum(['dev', 'prod']);

const AppConfig = z
  .object({
    stage: Stage,
    jwtIssuer: z.url({ protocol: /^https?$/ }),
    jwtAudience: z.string().min(1),
    /** public routes: steady requests per second and burst, for the whole stage */
    publicRateLimit: z.coerce.number().int().positive(),
    publicBurstLimit: z.coerce.number().int().positive(),
    logRetentionDays: z.coerce.number().int().positive(),
    /** web hosting: `auto` (on in global regions; in China regions only with a domain and certificate), `on`, `off` */
    web: z.enum(['auto', 'on', 'off']),
    /** the pages' domain (ICP-filed in China), e.g. `hb.qingyuan.gov.cn` */
    webDomain: z
      .string()
      .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lower-case domain name')
      .optional(),
    /** its certificate: an ACM certificate ARN in us-east-1 (global) or an IAM server certificate id (China) */
    webCertificate: z.string().min(1).optional(),
    /** the gateway VPC's zones (`-c gatewayZones=cn-north-1a,cn-north-1b`); default per region, never looked up */
    gatewayZones: z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((zone) => zone.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'a zone name such as cn-north-1a')).min(2))
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.stage === 'prod' && c.jwtIssuer.includes('.invalid')) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwtIssuer'],
        message: 'prod needs a real OIDC issuer: -c jwtIssuer=https://…',
      });
    }
    if ((c.webDomain === undefined) !== (c.webCertificate === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.webDomain === undefined ? 'webDomain' : 'webCertificate'],
        message: 'webDomain and webCertificate go together',
      });
    }
  });
export type AppConfig = z.infer<typeof AppConfig>;

const DEFAULTS = {
  dev: {
    jwtIssuer: 'https://issuer.envwatch.invalid/dev',
    jwtAudience: 'envwatch-console',
    publicRateLimit: 20,
    publicBurstLimit: 40,
    logRetentionDays: 30,
  },
  prod: {
    jwtIssuer: 'https://issuer.envwatch.invalid/prod',
    jwtAudience: 'envwatch-console',
    publicRateLimit: 50,
    publicBurstLimit: 100,
    logRetentionDays: 365,
  },
} as const;

export function readAppConfig(get: (key: string) => unknown): AppConfig {
  const stage = Stage.safeParse(get('stage') ?? 'dev');
  if (!stage.success) throw new Error(`context "stage" must be dev or prod, got ${JSON.stringify(get('stage'))}`);
  const d = DEFAULTS[stage.data];
  const parsed = AppConfig.safeParse({
    stage: stage.data,
    jwtIssuer: get('jwtIssuer') ?? d.jwtIssuer,
    jwtAudience: get('jwtAudience') ?? d.jwtAudience,
    publicRateLimit: get('publicRateLimit') ?? d.publicRateLimit,
    publicBurstLimit: get('publicBurstLimit') ?? d.publicBurstLimit,
    logRetentionDays: get('logRetentionDays') ?? d.logRetentionDays,
    gatewayZones: get('gatewayZones'),
    web: get('web') ?? 'auto',
    webDomain: get('webDomain'),
    webCertificate: get('webCertificate'),
  });
  if (!parsed.success) {
    throw new Error(
      `invalid CDK context: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}
