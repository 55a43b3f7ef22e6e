import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '#shared/domain/errors.ts';
import { PROBLEM_CONTENT_TYPE, problemResponse, toProblem } from '#shared/http/problem.ts';

describe('toProblem', () => {
  it('shows a domain error’s message, title in both languages and instance', () => {
    expect(toProblem(new NotFoundError('townships nowhere does not exist'), 'req-1')).toEqual({
      type: '/problems/not-found',
      title: '未找到 / Not found',
      status: 404,
      detail: 'townships nowhere does not exist',
      instance: '/requests/req-1',
    });
  });

  it('lists the failing fields of a validation error', () => {
    const err = new ValidationError('1 field(s) failed validation: body.name (1 个字段未通过校验：body.name)', [
      { field: 'body.name', message: 'at least 2 characters', messageZh: '至少 2 个字符' },
    ]);
    expect(toProblem(err)).toEqual({
      type: '/problems/validation-error',
      title: '请求参数无效 / Invalid request',
      status: 400,
      detail: '1 field(s) failed validation: body.name (1 个字段未通过校验：body.name)',
      detailZh: '1 个字段未通过校验：body.name',
      errors: [{ field: 'body.name', message: 'at least 2 characters', messageZh: '至少 2 个字符' }],
    });
  });

  it('gives the Chinese of a message written as `English (中文)` as detailZh', () => {
    expect(toProblem(new ConflictError('this tip is closed; submit a new tip (线索已办结)'))).toMatchObject({
      detail: 'this tip is closed; submit a new tip (线索已办结)',
      detailZh: '线索已办结',
    });
  });

  it('builds detailZh from the field issues of a validation error written in English', () => {
    const err = new ValidationError('a note is required', [
      { field: 'body.note', message: 'a note is required', messageZh: '请填写说明' },
    ]);

    expect(toProblem(err).detailZh).toBe('body.note：请填写说明');
  });

  it('maps every domain error to its status and type', () => {
    const cases = [
      [new ValidationError('x'), 400, 'validation-error'],
      [new UnauthorizedError('x'), 401, 'unauthorized'],
      [new ForbiddenError('x'), 403, 'forbidden'],
      [new NotFoundError('x'), 404, 'not-found'],
      [new ConflictError('x'), 409, 'conflict'],
      [new PreconditionFailedError('x'), 412, 'precondition-failed'],
      [new PayloadTooLargeError('x'), 413, 'payload-too-large'],
      [new UnsupportedMediaTypeError('x'), 415, 'unsupported-media-type'],
    ] as const;
    for (const [err, status, slug] of cases) {
      expect(toProblem(err)).toMatchObject({ status, type: `/problems/${slug}` });
    }
  });

  it('answers an unknown error with a plain 500 that leaks nothing', () => {
    const err = new Error('connect ECONNREFUSED 10.0.3.7:8000 password=hunter2');
    err.stack = 'Error: at secretModule (/var/task/secret.js:1:1)';

    const problem = toProblem(err, 'req-9');
    const text = JSON.stringify(problem);

    expect(problem).toMatchObject({ type: '/problems/internal-error', status: 500, instance: '/requests/req-9' });
    expect(problem.errors).toBeUndefined();
    for (const leak of ['hunter2', 'ECONNREFUSED', '10.0.3.7', 'secret.js']) expect(text).not.toContain(leak);
  });

  it('answers a thrown non-error with a plain 500', () => {
    expect(toProblem('boom')).toMatchObject({ status: 500, type: '/problems/internal-error' });
    expect(JSON.stringify(toProblem({ token: 'abc' }))).not.toContain('abc');
  });
});

describe('problemResponse', () => {
  it('sends application/problem+json with the problem’s status and no caching', () => {
    const res = problemResponse(toProblem(new ConflictError('exists')));

    expect(res.statusCode).toBe(409);
    expect(res.headers).toEqual({ 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' });
    expect(JSON.parse(res.body ?? '')).toMatchObject({ status: 409, detail: 'exists' });
  });
});
