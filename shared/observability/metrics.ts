import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export { MetricUnit };

/**
 * CloudWatch metrics as Embedded Metric Format lines, through Powertools for AWS Lambda's Metrics: CloudWatch Logs
 * turns each line into metrics, in Lambda (stdout) and in the gateway's ECS task (stdout, awslogs driver) alike.
 *
 * Two differences from a plain Powertools `Metrics`:
 * - the default dimensions are exactly the ones asked for. Powertools adds `service` unless told otherwise; the
 *   existing metrics (EnvWatch/Ingest by source and outcome, EnvWatch/Gateway by Service) keep their dimension sets,
 *   because a metric's identity in CloudWatch is its namespace, name and full set of dimensions, and alarms name them.
 * - a line goes through `write` (stdout by default), and a flush with nothing stored writes nothing and warns nothing.
 */
export interface MetricsOptions {
  namespace: string;
  /** the `service` dimension's value when `dimensions` is not given (default: POWERTOOLS_SERVICE_NAME) */
  service?: string;
  /** the default dimensions, replacing Powertools' `service`; `{}` for none */
  dimensions?: Record<string, string>;
  write?: (line: string) => void;
  /** where Powertools' own warnings go (an invalid timestamp, a dimension overwritten) */
  logger?: NonNullable<ConstructorParameters<typeof Metrics>[0]>['logger'];
}

const stdout = (line: string) => {
  process.stdout.write(`${line}\n`);
};

export class EmfMetrics extends Metrics {
  private readonly write: (line: string) => void;

  constructor(opts: MetricsOptions) {
    super({
      namespace: opts.namespace,
      ...(opts.service ? { serviceName: opts.service } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    this.write = opts.write ?? stdout;
    if (opts.dimensions) {
      this.clearDefaultDimensions();
      if (Object.keys(opts.dimensions).length > 0) this.setDefaultDimensions(opts.dimensions);
    }
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics() && !this.isDisabled())
        (this.write ?? stdout)(JSON.stringify(this.serializeMetrics()));
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}
