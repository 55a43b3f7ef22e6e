import { addDays, beijingDate } from '#shared/domain/calendar/cn-holidays.ts';
import { ConflictError, PreconditionFailedError, ValidationError } from '#shared/domain/errors.ts';
import type { EvidenceItem } from '#shared/domain/tips/evidence-port.ts';
import type { Alarm, AlarmEvent } from './lifecycle.ts';
import type { NotificationPolicy } from './notify.ts';

/**
 * The enterprise's answer to an alarm (企业情况说明): the unit explains what happened, commits to a rectification
 * deadline (整改期限) and uploads its evidence files (sealed by the evidence store under `evidence/response/<alarmId>/`:
 * the SHA-256 original kept, a metadata-stripped working copy for the bureau); the bureau accepts the answer or sends it back with a reason, and the
 * unit answers again. Kept beside the alarm, not on it: an alarm that cleared by itself still needs an answer, and the
 * answer's version (its ETag) moves independently of the alarm's notifications.
 *
 *   (none) ──submit──► submitted ──accept──► accepted          (final: a new answer is refused, 409)
 *                      submitted ──return──► returned ──submit──► submitted (round + 1)
 *                      submitted ──submit──► submitted          (the unit amends before the bureau reviews)
 *
 * The unit sees only its own alarms (the routes' scope) and never the types the notification policy withholds from
 * enterprises (by default suspected falsification: telling the suspect would warn it, notify.ts rule 5).
 */
export const EXPLANATION_MAX = 2000;
export const REVIEW_NOTE_MAX = 500;
/** the furthest rectification deadline a unit may commit to, in days from today (Beijing) */
export const RECTIFY_MAX_DAYS = 365;
export const RESPONSE_EVIDENCE_MAX = 10;

export type ResponseStatus = 'submitted' | 'accepted' | 'returned';

export const RESPONSE_STATUS_ZH: Record<ResponseStatus, string> = {
  submitted: '待审核',
  accepted: '已认可',
  returned: '已退回',
};

/**
 * A piece of evidence of the answer: its name and the sealed file (original's SHA-256, keys of the original and of
 * the metadata-stripped working copy). Answers stored before files were uploaded name their evidence only (`file`
 * absent, `sha256` as the unit typed it).
 */
export interface ResponseEvidence {
  /** 材料名称, e.g. 整改前后照片、第三方检测报告 */
  name: string;
  /** SHA-256 (hex) of the sealed original, or the fingerprint a named-only item was given */
  sha256?: string;
  file?: EvidenceItem;
}

/** How an answer names a file: a new upload (POST /evidence/uploads) or a file of the current answer it keeps. */
export type ResponseEvidenceRef = { name: string } & ({ uploadId: string } | { evidenceId: string });

export interface AlarmResponse {
  alarmId: string;
  enterpriseId: string;
  status: ResponseStatus;
  /** 情况说明 */
  explanation: string;
  /** 承诺整改完成日期 (Beijing date, YYYY-MM-DD) */
  rectifyBy: string;
  evidence: ResponseEvidence[];
  /** 1 for the first answer; +1 each time the unit answers after the bureau sent it back */
  round: number;
  submittedBy: string;
  submittedAt: string;
  reviewedBy?: string;
  reviewedAt?: string;
  /** the bureau's reason (required when sending back) */
  reviewNote?: string;
  version: number;
}

export interface ResponseInput {
  explanation: string;
  rectifyBy: string;
  evidence: ResponseEvidence[];
}

export interface ResponseChange {
  response: AlarmResponse;
  event: AlarmEvent;
}

const field = (name: string, message: string, messageZh: string) => ({ field: `body.${name}`, message, messageZh });

/** Whether an enterprise user may see this alarm at all: not a type the policy withholds from enterprises. */
export const enterpriseMaySee = (
  alarm: Pick<Alarm, 'type'>,
  policy: Pick<NotificationPolicy, 'enterpriseWithheldTypes'>,
) => !policy.enterpriseWithheldTypes.includes(alarm.type);

function checkVersion(current: AlarmResponse | undefined, expected: number | undefined): void {
  if (expected === undefined) return;
  if (!current || current.version !== expected) {
    const now = current ? `第 ${current.version} 版` : '尚无说明';
    throw new PreconditionFailedError(
      `the answer changed since version ${expected} (now ${current?.version ?? 'none'}); reload (企业情况说明已被更新，当前为${now}，请刷新后重试)`,
    );
  }
}

function checkDeadline(rectifyBy: string, now: Date): void {
  const today = beijingDate(now);
  const latest = addDays(today, RECTIFY_MAX_DAYS);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(rectifyBy) || Number.isNaN(Date.parse(rectifyBy))) {
    throw new ValidationError('rectifyBy is not a date', [
      field('rectifyBy', 'a date, YYYY-MM-DD', '整改期限须为日期（年-月-日）'),
    ]);
  }
  if (rectifyBy < today || rectifyBy > latest) {
    throw new ValidationError('rectifyBy must be from today to a year ahead', [
      field('rectifyBy', `from ${today} to ${latest}`, `整改期限须在今天（${today}）至一年内（${latest}）`),
    ]);
  }
}

/**
 * The unit answers (or answers again): refused (409) once the bureau accepted an answer; If-Match, when sent, must
 * name the answer's current version (412 otherwise). The explanation, deadline and evidence replace the previous ones.
 */
export function submitResponse(
  alarm: Pick<Alarm, 'alarmId' | 'enterpriseId'>,
  current: AlarmResponse | undefined,
  input: ResponseInput,
  by: string,
  now: Date,
  expectedVersion?: number,
): ResponseChange {
  checkVersion(current, expectedVersion);
  if (current?.status === 'accepted') {
    throw new ConflictError(
      `the bureau already accepted the answer to alarm ${alarm.alarmId} (情况说明已被认可，无需再次提交)`,
    );
  }
  const explanation = input.explanation.trim();
  if (!explanation) {
    throw new ValidationError('an explanation is required', [field('explanation', 'required', '请填写情况说明')]);
  }
  checkDeadline(input.rectifyBy, now);
  const at = now.toISOString();
  const round = !current ? 1 : current.status === 'returned' ? current.round + 1 : current.round;
  const response: AlarmResponse = {
    alarmId: alarm.alarmId,
    enterpriseId: alarm.enterpriseId,
    status: 'submitted',
    explanation,
    rectifyBy: input.rectifyBy,
    evidence: input.evidence,
    round,
    submittedBy: by,
    submittedAt: at,
    version: (current?.version ?? 0) + 1,
  };
  const evidence = input.evidence.length > 0 ? `，材料 ${input.evidence.length} 项` : '';
  return {
    response,
    event: {
      type: 'response',
      at,
      by,
      round,
      rectifyBy: input.rectifyBy,
      note: `企业提交情况说明（第 ${round} 次），承诺 ${input.rectifyBy} 前完成整改${evidence}`,
    },
  };
}

/**
 * The bureau accepts the answer or sends it back with a reason. Only a submitted answer (409 otherwise: none yet, or
 * already reviewed); If-Match, when sent, must name the answer's current version (412: the unit changed it meanwhile).
 */
export function reviewResponse(
  alarmId: string,
  current: AlarmResponse | undefined,
  decision: 'accept' | 'return',
  note: string | undefined,
  by: string,
  now: Date,
  expectedVersion?: number,
): ResponseChange {
  if (!current) {
    throw new ConflictError(`alarm ${alarmId} has no answer from the enterprise yet (企业尚未提交情况说明)`);
  }
  checkVersion(current, expectedVersion);
  if (current.status !== 'submitted') {
    throw new ConflictError(
      `the answer to alarm ${alarmId} was already reviewed (情况说明已审核：${RESPONSE_STATUS_ZH[current.status]})`,
    );
  }
  const text = note?.trim() ?? '';
  if (decision === 'return' && !text) {
    throw new ValidationError('a reason is required to send the answer back', [
      field('note', 'required to send back', '退回须填写理由'),
    ]);
  }
  if (text.length > REVIEW_NOTE_MAX) {
    throw new ValidationError(`the note is longer than ${REVIEW_NOTE_MAX} characters`, [
      field('note', `at most ${REVIEW_NOTE_MAX} characters`, `说明不能超过${REVIEW_NOTE_MAX}个字符`),
    ]);
  }
  const at = now.toISOString();
  const status: ResponseStatus = decision === 'accept' ? 'accepted' : 'returned';
  const response: AlarmResponse = {
    ...current,
    status,
    reviewedBy: by,
    reviewedAt: at,
    version: current.version + 1,
    ...(text ? { reviewNote: text } : {}),
  };
  if (!text) delete response.reviewNote;
  const verdict = decision === 'accept' ? '认可' : '退回';
  return {
    response,
    event: {
      type: 'response_review',
      at,
      by,
      decision,
      note: `分局${verdict}企业情况说明（第 ${current.round} 次）${text ? `：${text}` : ''}`,
    },
  };
}

/**
 * What an enterprise user is shown of its alarm: the facts (what, where, when, level, state, the signal), never the
 * bureau's internal bookkeeping (who of the bureau acted, notification state).
 */
export function enterpriseView(alarm: Alarm): Alarm {
  const { acknowledgedBy: _a, snoozedBy: _s, clearedBy: _c, notifyDue: _d, snoozedUntil: _u, ...rest } = alarm;
  return { ...rest, notify: {} };
}

/** The answer as the API shows it: each file by its id, type, size and SHA-256, never its storage keys. */
export function responseView(r: AlarmResponse) {
  return {
    ...r,
    evidence: r.evidence.map(({ name, sha256, file }) => ({
      name,
      ...(sha256 ? { sha256 } : {}),
      ...(file ? { evidenceId: file.id, kind: file.kind, contentType: file.contentType, bytes: file.bytes } : {}),
    })),
  };
}
