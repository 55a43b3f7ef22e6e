import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DomainError, type FieldIssue, ValidationError } from '#shared/domain/errors.ts';

/**
 * RFC 9457 problem details. Only domain errors (all below 500) show their message; anything else is a plain 500
 * whose detail never leaks. `type` is a stable relative URI documented in docs/api.md.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldIssue[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function toProblem(err: unknown, requestId?: string): Problem {
  if (err instanceof DomainError) {
    return {
      type: `/problems/${err.slug}`,
      title: `${err.titleZh} / ${err.titleEn}`,
      status: err.status,
      detail: err.message,
      ...(requestId ? { instance: `/requests/${requestId}` } : {}),
      ...(err instanceof ValidationError && err.issues.length > 0 ? { errors: err.issues } : {}),
    };
  }
  return {
    type: '/problems/internal-error',
    title: '服务器内部错误 / Internal server error',
    status: 500,
    detail:
      '请稍后重试；如问题持续请联系管理员并提供请求编号。 Please retry later; quote the request id if it persists.',
    ...(requestId ? { instance: `/requests/${requestId}` } : {}),
  };
}

export function problemResponse(problem: Problem): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' },
    body: JSON.stringify(problem),
  };
}
