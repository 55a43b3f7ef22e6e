/**
 * Errors the domain raises. Each names itself; shared/http maps them to RFC 9457 problems in one place.
 * Messages of these errors are shown to callers, so they never carry secrets or identities.
 * A message says the same in English and Chinese, as `English (中文)`: the problem's `detail` is the message and its
 * `detailZh` the Chinese part (splitBilingual). A ValidationError may leave its Chinese to its field issues instead.
 * test/unit/http/error-texts.test.ts checks every message in shared/ and functions/.
 */
export interface FieldIssue {
  /** dotted path of the failing field, e.g. `outlets.0.limits.1.value` */
  field: string;
  message: string;
  /** the same in Chinese, as specific (bound, unit, format), for citizens and officials */
  messageZh: string;
}

const HAN = /\p{Script=Han}/u;
const OPEN = new Set(['(', '（']);
const CLOSE = new Set([')', '）']);

/**
 * The two languages of a message: `must not be empty (不能为空)` → `must not be empty` and `不能为空`; the Chinese is
 * the last parenthesised part and may hold parentheses of its own. A message in Chinese only is both; an English one
 * has no `zh`.
 */
export function splitBilingual(message: string): { en: string; zh?: string } {
  const text = message.trimEnd();
  if (CLOSE.has(text.charAt(text.length - 1))) {
    let depth = 0;
    for (let i = text.length - 1; i >= 0; i--) {
      const c = text.charAt(i);
      if (CLOSE.has(c)) depth++;
      else if (OPEN.has(c) && --depth === 0) {
        const en = text.slice(0, i).trim();
        const zh = text.slice(i + 1, -1).trim();
        if (en !== '' && !HAN.test(en) && HAN.test(zh)) return { en, zh };
        break;
      }
    }
  }
  return HAN.test(message) ? { en: message, zh: message } : { en: message };
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly slug: string;
  abstract readonly titleZh: string;
  abstract readonly titleEn: string;
}

export class ValidationError extends DomainError {
  readonly status = 400;
  readonly slug = 'validation-error';
  readonly titleZh = '请求参数无效';
  readonly titleEn = 'Invalid request';
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly slug = 'not-found';
  readonly titleZh = '未找到';
  readonly titleEn = 'Not found';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly slug = 'conflict';
  readonly titleZh = '与现有数据冲突';
  readonly titleEn = 'Conflict';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class PreconditionFailedError extends DomainError {
  readonly status = 412;
  readonly slug = 'precondition-failed';
  readonly titleZh = '数据已被他人修改';
  readonly titleEn = 'Precondition failed';
  constructor(message: string) {
    super(message);
    this.name = 'PreconditionFailedError';
  }
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly slug = 'forbidden';
  readonly titleZh = '无权执行此操作';
  readonly titleEn = 'Forbidden';
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly slug = 'unauthorized';
  readonly titleZh = '未登录或凭据无效';
  readonly titleEn = 'Unauthorized';
  constructor(message: string) {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  readonly slug = 'payload-too-large';
  readonly titleZh = '请求内容过大';
  readonly titleEn = 'Payload too large';
  constructor(message: string) {
    super(message);
    this.name = 'PayloadTooLargeError';
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly slug = 'unsupported-media-type';
  readonly titleZh = '不支持的内容类型';
  readonly titleEn = 'Unsupported media type';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedMediaTypeError';
  }
}
