import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * X-Ray tracing through Powertools for AWS Lambda's Tracer: the handler's segment (the middy stacks open and close
 * it), cold start and service annotations, and outgoing HTTPS calls (the AWS SDK's) as subsegments.
 *
 * Off outside Lambda (no AWS_EXECUTION_ENV: tests, scripts) and wherever POWERTOOLS_TRACE_ENABLED=false (the local
 * platform sets it: it runs the same bundles but has no X-Ray daemon). Responses are never captured as metadata
 * (POWERTOOLS_TRACER_CAPTURE_RESPONSE=false on every function, and `captureResponse: false` in the middleware): an
 * answer can carry a receipt code or a reporter's identity.
 */
export const tracer = new Tracer();
