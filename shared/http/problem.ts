import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DomainError, type FieldIssue, splitBilingual, ValidationError } from '#shared/domain/errors.ts';

/**
 * RFC 9457 problem details. Only domain errors (all below 500) show their message; anything else is a plain 500
 * whose detail never leaks. `type` is a stable relative URI documented in docs/api.md. `detail` is the error's
 * message (`English (中文)`), `detailZh` its Chinese alone, for a page to show as it is.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  detailZh?: string;
  instance?: string;
  errors?: FieldIssue[];
}

/** The Chinese of a domain error: its message's, or for a validation error written in English, its fields'. */
function detailZh(err: DomainError): string | undefined {
  const zh = splitBilingual(err.message).zh;
  if (zh !== undefined) return zh;
  if (err instanceof ValidationError && err.issues.length > 0) {
    return err.issues.map((i) => `${i.field}：${i.messageZh}`).join('；');
  }
  return undefined;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function toProblem(err: unknown, requestId?: string): Problem {
  if (err instanceof DomainError) {
    const zh = detailZh(err);
    return {
      type: `/problems/${err.slug}`,
      title: `${err.titleZh} / ${err.titleEn}`,
      status: err.status,
      detail: err.message,
      ...(zh !== undefined ? { detailZh: zh } : {}),
      ...(requestId ? { instance: `/requests/${requestId}` } : {}),
      ...(err instanceof ValidationError && err.issues.length > 0 ? { errors: err.issues } : {}),
    };
  }
  return {
    type: '/problems/internal-error',
    title: '服务器内部错误 / Internal server error',
    status: 500,
    detail:
      'Please retry later; quote the request id if it persists. (请稍后重试；如问题持续请联系管理员并提供请求编号。)',
    detailZh: '请稍后重试；如问题持续请联系管理员并提供请求编号。',
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
