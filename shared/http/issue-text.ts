import type * as z from 'zod';
import enLocale from 'zod/v4/locales/en.js';
import { splitBilingual } from '#shared/domain/errors.ts';

/**
 * A zod issue in English and Chinese, as specific in both: the bound and its unit (`不能超过 2000 个字符`, `不能小于 0 分`),
 * the expected format (`YYYY-MM-DD`, a ULID), the allowed values of an enum. A message written by us (a refine, a
 * regex's explanation) wins; it carries its Chinese as `English (中文)`. The offending input is never repeated, except
 * unknown field names, which are shortened.
 */
export interface IssueText {
  message: string;
  messageZh: string;
}

type Issue = z.core.$ZodIssue;

// only the English locale, to tell zod's default message from one written by us
const en = enLocale();
const defaultMessage = (issue: Issue): string | undefined => {
  const m = en.localeError(issue as Parameters<typeof en.localeError>[0]);
  return typeof m === 'string' ? m : m?.message;
};

const TYPE_ZH: Record<string, string> = {
  string: '文字',
  number: '数字',
  int: '整数',
  bigint: '整数',
  boolean: '布尔值（true 或 false）',
  object: '对象 {…}',
  array: '数组 […]',
  record: '对象 {…}',
  tuple: '数组 […]',
  date: '日期',
  null: 'null',
  undefined: '空',
  nan: '非数字 NaN',
};
const typeZh = (t: string) => TYPE_ZH[t] ?? t;

function received(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  if (typeof input === 'number' && Number.isNaN(input)) return 'nan';
  return typeof input;
}

/** The unit of a number field, from its name: money is in fen (分), sizes in bytes. */
const UNITS: [RegExp, string, string][] = [
  [/Fen$/, ' fen', ' 分'],
  [/^bytes$|Bytes$/, ' bytes', ' 字节'],
  [/Seconds$/, ' seconds', ' 秒'],
  [/Minutes$/, ' minutes', ' 分钟'],
  [/Hours$/, ' hours', ' 小时'],
  [/Days$/, ' days', ' 天'],
  [/^(lat|lng)$/, '°', '°'],
  [/^limit$/, ' items', ' 条'],
];
function unitOf(path: readonly PropertyKey[]): { en: string; zh: string } {
  const last = path[path.length - 1];
  if (typeof last !== 'string') return { en: '', zh: '' };
  const hit = UNITS.find(([re]) => re.test(last));
  return hit ? { en: hit[1], zh: hit[2] } : { en: '', zh: '' };
}

const ULID_PATTERN = '/^[0-9A-HJKMNP-TV-Z]{26}$/';
const ULID_ZH = '应为 26 位 ULID 编号（数字和大写字母，不含 I、L、O、U）';

function formatZh(issue: z.core.$ZodIssueInvalidStringFormat): string {
  switch (issue.format) {
    case 'date':
      return '应为日期，格式 YYYY-MM-DD（如 2026-05-01）';
    case 'datetime':
      return issue.pattern?.includes('[+-]')
        ? '应为带时区的时间，格式 YYYY-MM-DDTHH:mm:ss+08:00（ISO 8601，如 2026-05-01T08:30:00+08:00）'
        : '应为 UTC 时间，格式 YYYY-MM-DDTHH:mm:ssZ（ISO 8601，如 2026-05-01T00:30:00Z）';
    case 'time':
      return '应为时刻，格式 HH:mm:ss（如 08:30:00）';
    case 'duration':
      return '应为 ISO 8601 时长（如 PT15M）';
    case 'url':
      return '应为完整网址（如 https://example.com/…）';
    case 'email':
      return '应为电子邮件地址';
    case 'ulid':
      return ULID_ZH;
    case 'uuid':
    case 'guid':
      return '应为 UUID（如 123e4567-e89b-12d3-a456-426614174000）';
    case 'lowercase':
      return '只能使用小写字母';
    case 'uppercase':
      return '只能使用大写字母';
    case 'starts_with':
      return `应以 "${(issue as z.core.$ZodIssueStringStartsWith).prefix}" 开头`;
    case 'ends_with':
      return `应以 "${(issue as z.core.$ZodIssueStringEndsWith).suffix}" 结尾`;
    case 'includes':
      return `应包含 "${(issue as z.core.$ZodIssueStringIncludes).includes}"`;
    case 'base64':
    case 'base64url':
      return `应为 ${issue.format} 编码`;
    case 'regex':
      return issue.pattern === ULID_PATTERN ? ULID_ZH : `格式不符合规则 ${issue.pattern ?? ''}`;
    default:
      return `格式应为 ${issue.format}`;
  }
}

const list = (values: readonly unknown[], max = 40) => {
  const shown = values.slice(0, max).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return values.length > max ? [...shown, `…（共 ${values.length} 个）`] : shown;
};

/** Unknown field names come from the caller: at most 5, each cut to 40 characters. */
const keyList = (keys: readonly string[]) =>
  [
    ...keys.slice(0, 5).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)),
    ...(keys.length > 5 ? [`+${keys.length - 5}`] : []),
  ].join(', ');

function bound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, small: boolean): IssueText {
  const n = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      if (issue.exact) return { message: `must be exactly ${n} characters`, messageZh: `应为 ${n} 个字符` };
      if (small && Number(n) === 1 && inclusive) return { message: 'must not be empty', messageZh: '不能为空' };
      return small
        ? { message: `at least ${n} characters`, messageZh: `至少 ${n} 个字符` }
        : { message: `at most ${n} characters`, messageZh: `不能超过 ${n} 个字符` };
    case 'array':
    case 'set':
      if (issue.exact) return { message: `must have exactly ${n} items`, messageZh: `应为 ${n} 项` };
      return small
        ? { message: `at least ${n} item(s)`, messageZh: `至少 ${n} 项` }
        : { message: `at most ${n} items`, messageZh: `最多 ${n} 项` };
    case 'date': {
      const at = new Date(Number(n)).toISOString();
      return small
        ? { message: `must not be before ${at}`, messageZh: `不能早于 ${at}` }
        : { message: `must not be after ${at}`, messageZh: `不能晚于 ${at}` };
    }
    case 'file':
      return small
        ? { message: `at least ${n} bytes`, messageZh: `至少 ${n} 字节` }
        : { message: `at most ${n} bytes`, messageZh: `不能超过 ${n} 字节` };
    default: {
      const u = unitOf(issue.path);
      if (small) {
        return inclusive
          ? { message: `must be at least ${n}${u.en}`, messageZh: `不能小于 ${n}${u.zh}` }
          : { message: `must be greater than ${n}${u.en}`, messageZh: `必须大于 ${n}${u.zh}` };
      }
      return inclusive
        ? { message: `must be at most ${n}${u.en}`, messageZh: `不能大于 ${n}${u.zh}` }
        : { message: `must be less than ${n}${u.en}`, messageZh: `必须小于 ${n}${u.zh}` };
    }
  }
}

/** What zod would say, in both languages, before an author's own message is considered. */
function standard(issue: Issue): IssueText {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) {
        return { message: `required (${issue.expected})`, messageZh: `必填（应为${typeZh(issue.expected)}）` };
      }
      const got = received(issue.input);
      return {
        message: `expected ${issue.expected}, received ${got}`,
        messageZh: `应为${typeZh(issue.expected)}，收到的是${typeZh(got)}`,
      };
    }
    case 'too_small':
      return bound(issue, true);
    case 'too_big':
      return bound(issue, false);
    case 'invalid_format':
      return { message: defaultMessage(issue) ?? issue.message, messageZh: formatZh(issue) };
    case 'not_multiple_of':
      return { message: `must be a multiple of ${issue.divisor}`, messageZh: `应为 ${issue.divisor} 的整数倍` };
    case 'unrecognized_keys':
      return {
        message: `unknown field(s): ${keyList(issue.keys)}`,
        messageZh: `不接受的字段：${keyList(issue.keys)}`,
      };
    case 'invalid_value': {
      const values = list(issue.values);
      return values.length === 1
        ? { message: `must be ${values[0]}`, messageZh: `应为 ${values[0]}` }
        : { message: `must be one of: ${values.join(', ')}`, messageZh: `应为以下之一：${values.join('、')}` };
    }
    case 'invalid_union': {
      if (issue.discriminator !== undefined && 'options' in issue && issue.options) {
        const options = list(issue.options);
        return {
          message: `${issue.discriminator} must be one of: ${options.join(', ')}`,
          messageZh: `${issue.discriminator} 应为以下之一：${options.join('、')}`,
        };
      }
      const branches = issue.errors
        .slice(0, 3)
        .map((branch) => (branch[0] ? issueText(branch[0]) : undefined))
        .filter((b): b is IssueText => b !== undefined);
      if (branches.length === 0) {
        return { message: 'matches more than one allowed form', messageZh: '同时符合多种形式，无法确定' };
      }
      return {
        message: `matches none of the allowed forms: ${branches.map((b) => b.message).join('; or ')}`,
        messageZh: `不符合任何一种允许的形式：${branches.map((b) => b.messageZh).join('；或')}`,
      };
    }
    case 'invalid_key': {
      const inner = issue.issues[0] ? issueText(issue.issues[0]) : undefined;
      return {
        message: `invalid key${inner ? `: ${inner.message}` : ''}`,
        messageZh: `键无效${inner ? `：${inner.messageZh}` : ''}`,
      };
    }
    case 'invalid_element': {
      const inner = issue.issues[0] ? issueText(issue.issues[0]) : undefined;
      return {
        message: `invalid element${inner ? `: ${inner.message}` : ''}`,
        messageZh: `元素无效${inner ? `：${inner.messageZh}` : ''}`,
      };
    }
    case 'custom':
      return { message: issue.message, messageZh: `未通过校验：${issue.message}` };
  }
}

/**
 * An issue's text. A message we wrote (it differs from zod's default) is the `message` as written, and its Chinese
 * part (`English (中文)`, or a message in Chinese alone) the `messageZh`; an English-only message of ours keeps the
 * Chinese of its kind of issue (a ULID, a date format) and a refine's keeps only `未通过校验：` before the English.
 */
export function issueText(issue: Issue): IssueText {
  const std = standard(issue);
  const own = issue.code === 'custom' || issue.message !== defaultMessage(issue);
  if (!own) return std;
  const { zh } = splitBilingual(issue.message);
  if (zh !== undefined) return { message: issue.message, messageZh: zh };
  if (issue.code === 'custom') return std;
  return { message: issue.message, messageZh: std.messageZh };
}
