import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  splitBilingual,
  ValidationError,
} from '#shared/domain/errors.ts';
import type { Role } from '#shared/domain/roles.ts';
import { EvidenceError, type EvidenceFinalizer, type EvidenceItem, type EvidenceViewer } from './evidence-port.ts';
import {
  canTransition,
  hasSealedIdentity,
  type ReporterIdentity,
  type ReporterView,
  rewardClaimable,
  type StaffTipInput,
  TEXT_LIMITS,
  TIP_STATUS_LABELS,
  TIP_TRANSITIONS,
  type TimelineEntry,
  type Tip,
  type TipChannel,
  type TipFilter,
  type TipInput,
  type TipLinks,
  type TipStatus,
} from './model.ts';
import {
  type AuditEntry,
  type Page,
  ReceiptCollisionError,
  RewardClaimedError,
  TipExistsError,
  type TipRecord,
  type TipStore,
} from './ports.ts';
import {
  afterFailure,
  formatReceipt,
  generateReceipt,
  hashReceipt,
  isLocked,
  parseReceipt,
  type Receipt,
  verifyReceipt,
} from './receipt.ts';
import {
  computeLinks,
  firstValidReporter,
  mergedGroup,
  mergeTips,
  OPEN_STATUSES,
  type OverdueFlags,
  overdueCutoffs,
  overdueFlags,
  type TriageSources,
  withFirstReporter,
} from './triage.ts';
import type { IdentityVault, SealedIdentity } from './vault.ts';

/**
 * Tip use-cases. Public: submit, follow with the receipt, add information, answer a handler's message, claim the reward
 * (an anonymous reporter of a substantiated tip reveals who they are, sealed for the reward post only). Staff: intake
 * from other channels (same pipeline), the triage queue, reading a tip (never the identity), status changes along
 * TIP_TRANSITIONS, assignment, messages to the reporter. The reward post alone opens an identity, with a reason; the
 * opening is recorded (audit + the reporter's access log) before the identity is decrypted and returned.
 * Every failure to resolve a receipt is the same NotFoundError, whatever the cause.
 */
export interface Official {
  sub: string;
  name?: string;
  roles: readonly Role[];
}

export interface TipDeps {
  store: TipStore;
  vault: IdentityVault;
  evidence: EvidenceFinalizer;
  now?: () => Date;
  newId: () => string;
  /** for tests; defaults to the slow scrypt hash */
  hashReceipt?: (code: string) => Promise<string>;
  /** triage link sources (registry, alarms, tips indexes); without them a tip is stored without links */
  triage?: TriageSources;
  /** told when link computation fails (the tip is stored anyway, marked incomplete); never given tip content */
  onTriageError?: (err: unknown) => void;
  /** short-lived links to the metadata-stripped copies, for officials; without it no evidence is shown */
  viewer?: EvidenceViewer;
}

/** One evidence file of a tip as an official may see it: a link to its stripped copy, or why there is none. */
export interface EvidenceView {
  evidenceId: string;
  kind: EvidenceItem['kind'];
  contentType: string;
  bytes: number;
  sha256: string;
  /** `tip`: sent with the report; `info`: added later by the reporter (with the entry's time) */
  source: 'tip' | 'info';
  addedAt: string;
  link?: { url: string; expiresAt: string };
  /** why no link is given (no stripped copy exists: originals are never shown) */
  withheld?: string;
}

export type QueuedTip = Tip & { overdue: OverdueFlags };

export interface Submitted {
  tipId: string;
  /** the 16-digit receipt, grouped by four: shown once, never stored */
  receipt: string;
  status: TipStatus;
}

/** Future observation times are refused beyond this clock skew. */
const SKEW_MS = 10 * 60 * 1000;
/** A merged group is read whole for the first-reporter rule; this bounds the reads should the data ever loop. */
const MAX_GROUP = 200;

/** What intake needs beyond the form: evidence already sealed (patrol), the finding it comes from, the report time. */
interface IntakeOptions {
  sealedEvidence?: EvidenceItem[];
  finding?: { patrolId: string; index: number };
  /** staff intake: when the report reached the bureau (validated here) */
  reportedAt?: string;
}
const RECEIPT_NOT_FOUND = 'no tip matches this receipt code (查询码无效)';

export class TipService {
  private readonly now: () => Date;
  private readonly hash: (code: string) => Promise<string>;

  constructor(private readonly deps: TipDeps) {
    this.now = deps.now ?? (() => new Date());
    this.hash = deps.hashReceipt ?? hashReceipt;
  }

  /** A tip from the public form. */
  submitTip(input: TipInput): Promise<Submitted> {
    return this.intake(input, 'web', 'public');
  }

  /** A tip received by phone, letter, visit or patrol, entered by staff: same pipeline and protections. */
  staffIntake(input: StaffTipInput, actor: Official): Promise<Submitted> {
    const { channel, reportedAt, ...tip } = input;
    return this.intake(tip, channel, actor.sub, reportedAt ? { reportedAt } : {});
  }

  /**
   * A patrol finding turned into a tip (channel `patrol`) by the officer who found it: same pipeline, with the
   * evidence already sealed under the patrol. The officer is not a citizen reporter: anonymous, no reward standing.
   * The store marks the finding in the tip's own transaction, on the condition that it is unmarked: a second
   * conversion of the same finding (a retry, or another official at the same moment) writes nothing and gets
   * PatrolFindingTakenError (ports.ts); PatrolService answers it with the tip that won.
   */
  patrolIntake(
    input: Pick<TipInput, 'category' | 'description' | 'location' | 'observedAt'>,
    evidence: EvidenceItem[],
    actor: Official,
    finding: { patrolId: string; index: number },
  ): Promise<Submitted> {
    const tip: TipInput = {
      ...input,
      reporter: { kind: 'anonymous' },
      insider: false,
      commendationConsent: false,
      uploadIds: [],
    };
    return this.intake(tip, 'patrol', actor.sub, { sealedEvidence: evidence, finding });
  }

  async followTip(receipt: string | undefined): Promise<ReporterView> {
    return this.followTipById(await this.resolve(receipt));
  }

  async addInfo(receipt: string | undefined, text: string, uploadIds: string[]): Promise<ReporterView> {
    const tipId = await this.resolve(receipt);
    const found = await this.deps.store.get(tipId);
    if (!found) throw new NotFoundError(RECEIPT_NOT_FOUND);
    if (found.tip.status === 'closed') throw new ConflictError('this tip is closed; submit a new tip (线索已办结)');
    const at = this.now().toISOString();
    const evidence = await this.finalize(tipId, uploadIds, 'body.uploadIds');
    const entry: TimelineEntry = { type: 'info', id: this.deps.newId(), at, text, evidence };
    await this.deps.store.addEntry(
      tipId,
      entry,
      this.audit('reporter', 'tip.info_added', tipId, at, { files: evidence.length }),
      uploadIds,
    );
    return this.followTipById(tipId);
  }

  async replyToMessage(receipt: string | undefined, text: string): Promise<ReporterView> {
    const tipId = await this.resolve(receipt);
    const timeline = await this.deps.store.timeline(tipId);
    if (!timeline.some((e) => e.type === 'message' && e.from === 'handler')) {
      throw new ConflictError('there is no message from the handler to answer yet (尚无可回复的消息)');
    }
    const at = this.now().toISOString();
    const entry: TimelineEntry = { type: 'message', id: this.deps.newId(), at, from: 'reporter', text };
    await this.deps.store.addEntry(tipId, entry, this.audit('reporter', 'tip.reporter_replied', tipId, at));
    return this.followTipById(tipId);
  }

  /**
   * An anonymous reporter claims the reward with the receipt (举报奖励申领): the identity they give is sealed in the
   * vault under the tip, exactly like a real-name reporter's, so only the reward post opens it (logged, and listed on
   * the follow page). Only an anonymous, non-patrol tip found true, and only once: a second claim, a retry included,
   * is a 409 and changes nothing (the view shows when the claim was made). Nothing of the identity is logged, audited
   * or returned. The tip, the sealed identity, the reporter-visible entry and the audit entry are one transaction.
   */
  async claimReward(receipt: string | undefined, identity: ReporterIdentity): Promise<ReporterView> {
    const tipId = await this.resolve(receipt);
    let sealed: SealedIdentity | undefined; // sealed once, on the first attempt that finds the tip claimable
    for (let attempt = 0; ; attempt++) {
      const found = await this.deps.store.get(tipId);
      if (!found) throw new NotFoundError(RECEIPT_NOT_FOUND);
      const { tip } = found;
      if (!rewardClaimable(tip, await this.groupFinding(tip))) throw new ConflictError(notClaimable(tip));
      const at = this.now().toISOString();
      sealed ??= await this.deps.vault.seal(tipId, identity);
      try {
        await this.deps.store.recordRewardClaim({
          tip: { ...tip, rewardClaimedAt: at, updatedAt: at },
          expectedVersion: found.version,
          identity: sealed,
          entry: { type: 'reward_claim', id: this.deps.newId(), at },
          audit: this.audit('reporter', 'tip.reward_claimed', tipId, at),
        });
        return this.followTipById(tipId);
      } catch (err) {
        if (err instanceof RewardClaimedError) {
          // a concurrent claim won: say when it was made, as stored
          const winner = (await this.deps.store.get(tipId))?.tip;
          throw new ConflictError(notClaimable(winner?.rewardClaimedAt ? winner : { ...tip, rewardClaimedAt: at }));
        }
        // an official changed the tip meanwhile (status, assignment): read it again and re-check
        if (!(err instanceof PreconditionFailedError) || attempt >= 2) throw err;
      }
    }
  }

  // ---- triage (official roles; the routes check the roles) ----

  /** The queue for one status, oldest first, each tip with its overdue flags; `filter` narrows it. */
  async queue(
    status: TipStatus,
    query: { limit: number; cursor?: string; filter?: TipFilter },
  ): Promise<Page<QueuedTip>> {
    const { from, to } = query.filter ?? {};
    if (from && to && Date.parse(from) >= Date.parse(to)) {
      throw new ValidationError('the time range is empty', [
        { field: 'query.to', message: 'must be after from', messageZh: '结束时间须晚于开始时间' },
      ]);
    }
    const page = await this.deps.store.queue(status, query);
    const now = this.now();
    return { ...page, items: page.items.map((tip) => ({ ...tip, overdue: overdueFlags(tip, now) })) };
  }

  /**
   * Overdue tips: still `received` past the triage deadline (1 working day), or open past 60 days. One gsi1 query per
   * open status, bounded by the receipt-time cutoff; at most `limit` per status, oldest first.
   */
  async overdue(limit: number): Promise<QueuedTip[]> {
    const now = this.now();
    const cut = overdueCutoffs(now);
    const pages = await Promise.all(
      OPEN_STATUSES.map((status) =>
        this.deps.store.queueBefore(
          status,
          status === 'received' || status === 'held' ? cut.triage : cut.conclusion,
          limit,
        ),
      ),
    );
    return pages
      .flat()
      .map((tip) => ({ ...tip, overdue: overdueFlags(tip, now) }))
      .filter((t) => t.overdue.triage || t.overdue.conclusion)
      .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  }

  /**
   * An analyst merges a duplicate into a primary tip: the duplicate points to the primary and leaves the queue; both
   * timelines note it and the audit entry goes in the same transaction. Which tip is the primary is the analyst's
   * choice and does not decide who is first: the answer carries the first valid reporter of the merged group
   * (triage.ts, firstValidReporter), computed over every tip of both groups whatever the merge order.
   */
  async merge(
    tipId: string,
    into: string,
    reason: string,
    actor: Official,
  ): Promise<{ primary: TipRecord; merged: TipRecord }> {
    if (!actor.roles.includes('analyst'))
      throw new ForbiddenError('only an analyst may merge tips (只有线索研判岗可以合并线索)');
    if (tipId === into) {
      throw new ValidationError('a tip cannot be merged into itself', [
        { field: 'body.into', message: 'must be another tip', messageZh: '不能合并到自身' },
      ]);
    }
    const [dup, primary] = await Promise.all([this.deps.store.get(tipId), this.deps.store.get(into)]);
    if (!dup) throw new NotFoundError(`tip ${tipId} does not exist (线索 ${tipId} 不存在)`);
    if (!primary) throw new NotFoundError(`tip ${into} does not exist (线索 ${into} 不存在)`);
    if (dup.tip.mergedInto)
      throw new ConflictError(
        `tip ${tipId} was already merged into ${dup.tip.mergedInto} (该线索已合并到 ${dup.tip.mergedInto})`,
      );
    if (primary.tip.mergedInto) {
      throw new ConflictError(
        `tip ${into} was itself merged into ${primary.tip.mergedInto}; merge into that one (目标线索已合并到 ${primary.tip.mergedInto}，请合并到该线索)`,
      );
    }
    const at = this.now().toISOString();
    const by = actor.name ?? actor.sub;
    const why = reason.trim();
    const merged = mergeTips(primary.tip, dup.tip, at);
    // both are group primaries (checked above): the new group is the two subtrees with the merged pair replaced
    const [below, belowDup] = await Promise.all([this.subtree(primary.tip), this.subtree(dup.tip)]);
    const group = [
      ...below.filter((t) => t.id !== into),
      ...belowDup.filter((t) => t.id !== tipId),
      merged.primary,
      merged.duplicate,
    ];
    const first = firstValidReporter(group);
    const note = (direction: 'merged_into' | 'absorbed', otherTipId: string): TimelineEntry => ({
      type: 'merge',
      id: this.deps.newId(),
      at,
      actor: by,
      direction,
      otherTipId,
      reason: why,
    });
    await this.deps.store.merge({
      primary: { tip: merged.primary, version: primary.version },
      duplicate: { tip: merged.duplicate, version: dup.version },
      entries: { primary: note('absorbed', tipId), duplicate: note('merged_into', into) },
      audit: this.audit(actor.sub, 'tip.merge', tipId, at, {
        into,
        reason: why,
        ...(first ? { firstReporterTipId: first.tipId } : {}),
      }),
    });
    return {
      primary: { tip: withFirstReporter(merged.primary, group), version: primary.version + 1 },
      merged: { tip: withFirstReporter(merged.duplicate, group), version: dup.version + 1 },
    };
  }

  /**
   * A tip as handlers see it: no identity, no receipt; the timeline includes identity accesses (who, why); and the
   * first valid reporter of its merged group, computed now (`firstReporterTipId`, `firstReportedAt`).
   */
  async getTip(tipId: string): Promise<TipRecord & { timeline: TimelineEntry[] }> {
    const found = await this.deps.store.get(tipId);
    if (!found) throw new NotFoundError(`tip ${tipId} does not exist (线索 ${tipId} 不存在)`);
    const [group, timeline] = await Promise.all([this.groupOf(found.tip), this.deps.store.timeline(tipId)]);
    return { tip: withFirstReporter(found.tip, group), version: found.version, timeline };
  }

  async setStatus(tipId: string, to: TipStatus, expectedVersion: number | undefined, actor: Official) {
    const found = await this.existing(tipId, expectedVersion);
    const from = found.tip.status;
    if (!canTransition(from, to)) {
      const allowed = TIP_TRANSITIONS[from];
      throw new ValidationError(`a tip cannot go from ${from} to ${to}`, [
        {
          field: 'body.status',
          message: allowed.length ? `from ${from} only ${allowed.join(', ')}` : `${from} is final`,
          messageZh: `线索状态不能从"${TIP_STATUS_LABELS[from]}"改为"${TIP_STATUS_LABELS[to]}"`,
        },
      ]);
    }
    const at = this.now().toISOString();
    // a finding stays with the tip until a new one replaces it: closing an untrue report keeps it untrue
    const finding = to === 'substantiated' || to === 'unsubstantiated' ? to : found.tip.finding;
    return this.deps.store.update(
      { ...found.tip, status: to, ...(finding ? { finding } : {}), updatedAt: at },
      found.version,
      this.audit(actor.sub, 'tip.status', tipId, at, { from, to }),
    );
  }

  async assign(tipId: string, assignee: string, expectedVersion: number | undefined, actor: Official) {
    const found = await this.existing(tipId, expectedVersion);
    const at = this.now().toISOString();
    return this.deps.store.update(
      { ...found.tip, assignee, updatedAt: at },
      found.version,
      this.audit(actor.sub, 'tip.assign', tipId, at, { assignee }),
    );
  }

  /**
   * Links a tip to a registered unit (研判关联单位): usually the unit triage suggested, confirmed by the analyst. The
   * tip then names it as its suspected unit (a case opened from it must be on that unit). `visible` is the caller's
   * scope: a unit outside it is answered as unknown.
   */
  async linkUnit(
    tipId: string,
    enterpriseId: string,
    expectedVersion: number | undefined,
    actor: Official,
    visible: (place: { townshipId?: string; enterpriseId?: string }) => boolean = () => true,
  ): Promise<TipRecord> {
    const found = await this.existing(tipId, expectedVersion);
    const unit = await this.deps.triage?.enterprise(enterpriseId);
    if (!unit || !visible({ townshipId: unit.townshipId, enterpriseId })) {
      throw new ValidationError(`unit ${enterpriseId} is not in the registry (该单位未在名录中登记)`, [
        { field: 'body.enterpriseId', message: 'not a registered unit', messageZh: '该单位未在名录中登记' },
      ]);
    }
    if (found.tip.status === 'closed' || found.tip.status === 'case_opened') {
      throw new ConflictError(
        `tip ${tipId} is ${found.tip.status}; its unit is the case's now (线索已${TIP_STATUS_LABELS[found.tip.status]}，不能再更改关联单位)`,
      );
    }
    const at = this.now().toISOString();
    return this.deps.store.update(
      { ...found.tip, suspectedUnit: { kind: 'registered', enterpriseId }, updatedAt: at },
      found.version,
      this.audit(actor.sub, 'tip.unit_linked', tipId, at, {
        enterpriseId,
        ...(found.tip.suspectedUnit ? { before: found.tip.suspectedUnit } : {}),
      }),
    );
  }

  /**
   * The evidence of a tip (sent with it and added later) for an official: a short-lived link to each file's
   * metadata-stripped copy. An original is never linked: a file without a stripped copy (a video, a document) is
   * listed with the reason it is withheld.
   */
  async evidenceLinks(tipId: string): Promise<EvidenceView[]> {
    const found = await this.deps.store.get(tipId);
    if (!found) throw new NotFoundError(`tip ${tipId} does not exist (线索 ${tipId} 不存在)`);
    const timeline = await this.deps.store.timeline(tipId);
    const files: { item: EvidenceItem; source: 'tip' | 'info'; addedAt: string }[] = [
      ...found.tip.evidence.map((item) => ({ item, source: 'tip' as const, addedAt: found.tip.receivedAt })),
      ...timeline.flatMap((e) =>
        e.type === 'info' ? e.evidence.map((item) => ({ item, source: 'info' as const, addedAt: e.at })) : [],
      ),
    ];
    return Promise.all(
      files.map(async ({ item, source, addedAt }): Promise<EvidenceView> => {
        const base = {
          evidenceId: item.id,
          kind: item.kind,
          contentType: item.contentType,
          bytes: item.bytes,
          sha256: item.sha256,
          source,
          addedAt,
        };
        if (!item.workingKey || !this.deps.viewer) {
          return { ...base, withheld: withheldReason(item) };
        }
        const type = item.workingKey.endsWith('.png') ? 'image/png' : item.contentType;
        return { ...base, link: await this.deps.viewer.link(item.workingKey, type) };
      }),
    );
  }

  async postMessage(tipId: string, text: string, actor: Official): Promise<TimelineEntry> {
    await this.existing(tipId, undefined);
    const at = this.now().toISOString();
    const entry: TimelineEntry = { type: 'message', id: this.deps.newId(), at, from: 'handler', text };
    await this.deps.store.addEntry(tipId, entry, this.audit(actor.sub, 'tip.message', tipId, at));
    return entry;
  }

  /**
   * The reward post opens a reporter's identity: a real-name report's, or an anonymous reporter's who claimed the
   * reward with the receipt. The grant (audit + reporter-visible access entry) is
   * written first, in one transaction; only then is the identity decrypted and returned. A failed write returns nothing.
   */
  async openIdentity(tipId: string, reason: string, actor: Official) {
    if (!actor.roles.includes('reward_post')) {
      throw new ForbiddenError('only the reward post may open a reporter identity (只有举报奖励岗可以查看举报人身份)');
    }
    const why = reason.trim();
    if (why.length < 4 || why.length > TEXT_LIMITS.reason) {
      throw new ValidationError('a reason is required', [
        {
          field: 'body.reason',
          message: `4 to ${TEXT_LIMITS.reason} characters`,
          messageZh: `请填写查看理由（4 至 ${TEXT_LIMITS.reason} 个字符）`,
        },
      ]);
    }
    const found = await this.deps.store.get(tipId);
    if (!found) throw new NotFoundError(`tip ${tipId} does not exist (线索 ${tipId} 不存在)`);
    const sealed = hasSealedIdentity(found.tip) ? await this.deps.store.sealedIdentity(tipId) : undefined;
    if (!sealed) {
      throw new NotFoundError(
        `tip ${tipId} was submitted anonymously and no reward was claimed with its receipt; there is no identity (匿名举报且未凭查询码申领奖励，没有身份信息)`,
      );
    }
    const at = this.now().toISOString();
    const by = actor.name ?? actor.sub;
    await this.deps.store.recordIdentityAccess(
      tipId,
      { type: 'identity_access', id: this.deps.newId(), at, actor: by, role: 'reward_post', reason: why },
      this.audit(actor.sub, 'tip.identity_opened', tipId, at, { reason: why }),
    );
    return { tipId, identity: await this.deps.vault.open(sealed), openedAt: at };
  }

  // ---- internals ----

  /**
   * Steps: check the times; draw the receipt (its slow hash runs meanwhile); choose the tip id (a retry of a submission
   * whose transaction failed resumes that tip's id, so its sealed originals are reused: evidence-port.ts); seal the
   * evidence; seal the identity and compute triage links; write everything in one transaction, which also clears the
   * uploads' unreferenced marks and, for a patrol tip, claims the finding.
   */
  private async intake(
    input: TipInput,
    channel: TipChannel,
    actor: string,
    opts: IntakeOptions = {},
  ): Promise<Submitted> {
    const now = this.now();
    if (Date.parse(input.observedAt) > now.getTime() + SKEW_MS) {
      throw new ValidationError('the observation time is in the future', [
        { field: 'body.observedAt', message: 'must not be in the future', messageZh: '发现时间不能晚于现在' },
      ]);
    }
    const at = now.toISOString();
    const reportedAt = opts.reportedAt ? checkReportedAt(opts.reportedAt, input.observedAt, now) : at;
    // The receipt hash is deliberately slow (scrypt on the thread pool, ~130–250 ms): it runs while the evidence,
    // the identity and the triage links are awaited, not after them (bench/tips.bench.ts measures the submit path).
    let receipt = this.drawReceipt();
    const sealedEvidence = opts.sealedEvidence;
    const tipId = sealedEvidence ? this.deps.newId() : await this.tipIdFor(input.uploadIds);
    const evidence = sealedEvidence ?? (await this.finalize(tipId, input.uploadIds, 'body.uploadIds'));
    const sealing =
      input.reporter.kind === 'real_name' ? this.deps.vault.seal(tipId, input.reporter.identity) : undefined;
    const tip: Tip = {
      id: tipId,
      channel,
      category: input.category,
      description: input.description,
      location: input.location,
      observedAt: input.observedAt,
      ...(input.suspectedUnit ? { suspectedUnit: input.suspectedUnit } : {}),
      reporterKind: input.reporter.kind,
      insider: input.insider,
      commendationConsent: input.commendationConsent,
      evidence,
      status: 'received',
      ...(actor === 'public' ? {} : { enteredBy: actor }),
      receivedAt: at,
      reportedAt,
      ...(opts.finding ? { patrolFinding: opts.finding } : {}),
      updatedAt: at,
    };
    const [identity, links] = await Promise.all([sealing, this.links(tip, now)]);
    if (links) {
      tip.links = links;
      if (links.spamWave) tip.status = 'held';
    }
    const audit = this.audit(actor, 'tip.submit', tipId, at, {
      channel,
      category: input.category,
      // a report time earlier than entry (a letter entered late) decides first place: the audit keeps who claimed it
      ...(reportedAt !== at ? { reportedAt } : {}),
    });
    const finding = opts.finding
      ? {
          ...opts.finding,
          audit: {
            actor,
            action: 'patrol.finding_to_tip',
            entity: `patrol/${opts.finding.patrolId}`,
            at,
            detail: { finding: opts.finding.index, tipId },
          },
        }
      : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.store.create({
          tip,
          receipt: { selector: receipt.selector, hash: await receipt.hash },
          ...(identity ? { identity } : {}),
          audit,
          ...(finding ? { finding } : {}),
          ...(sealedEvidence || input.uploadIds.length === 0 ? {} : { uploadIds: input.uploadIds }),
        });
        // the reporter sees 'received' even when the tip is held back in a suspected spam wave
        const status: TipStatus = tip.status === 'held' ? 'received' : tip.status;
        return { tipId, receipt: formatReceipt(receipt.code), status };
      } catch (err) {
        if (err instanceof TipExistsError) {
          // a concurrent retry of this same submission (same uploads) committed first and holds the receipt
          throw new ConflictError('this submission was already received (该举报已受理，请勿重复提交)');
        }
        if (!(err instanceof ReceiptCollisionError) || attempt >= 4) throw err;
        receipt = this.drawReceipt();
      }
    }
  }

  /**
   * A new tip id, or the id of an earlier submission of the same uploads whose transaction never committed: its
   * uploads are sealed and still unreferenced (evidence-port.ts), and no tip of that id exists. Resuming it makes
   * `finalize` return the sealed originals instead of refusing them as attached to another owner.
   */
  private async tipIdFor(uploadIds: string[]): Promise<string> {
    if (uploadIds.length === 0) return this.deps.newId();
    const owner = await this.deps.evidence.unreferencedOwner?.(uploadIds);
    if (owner?.kind === 'tip' && !(await this.deps.store.get(owner.id))) return owner.id;
    return this.deps.newId();
  }

  /** Every tip of the merged group `tip` belongs to: up to the group's primary, then down through `mergedTips`. */
  private async groupOf(tip: Tip): Promise<Tip[]> {
    const known = new Map<string, Tip>([[tip.id, tip]]);
    return this.subtree(await this.rootOf(tip, known), known);
  }

  /** The primary of the merged group `tip` belongs to (one read per level); each tip read goes into `known`. */
  private async rootOf(tip: Tip, known: Map<string, Tip>): Promise<Tip> {
    let root = tip;
    while (root.mergedInto && !known.has(root.mergedInto) && known.size < MAX_GROUP) {
      const up = (await this.deps.store.get(root.mergedInto))?.tip;
      if (!up) break;
      known.set(up.id, up);
      root = up;
    }
    return root;
  }

  /** `root` and every tip merged into it (triage.ts mergedGroup), reading through the store. */
  private subtree(root: Tip, known: ReadonlyMap<string, Tip> = new Map()): Promise<Tip[]> {
    return mergedGroup(root, async (id) => known.get(id) ?? (await this.deps.store.get(id))?.tip, MAX_GROUP);
  }

  /**
   * A new receipt code with its hash already under way. The hash promise is marked handled here, so a failure earlier
   * in intake (evidence refused, KMS down) leaves no unhandled rejection; awaiting it still throws.
   */
  private drawReceipt(): Receipt & { hash: Promise<string> } {
    const receipt = generateReceipt();
    const hash = this.hash(receipt.code);
    hash.catch(() => undefined);
    return { ...receipt, hash };
  }

  /** The triage links of a new tip; on a source failure the tip is stored anyway, its links marked incomplete. */
  private async links(tip: Tip, now: Date): Promise<TipLinks | undefined> {
    if (!this.deps.triage) return undefined;
    try {
      return await computeLinks(tip, this.deps.triage, now);
    } catch (err) {
      this.deps.onTriageError?.(err);
      return { computedAt: now.toISOString(), alarms: [], duplicates: [], incomplete: true };
    }
  }

  /** The tip id behind a receipt, or the one NotFoundError for every kind of miss. */
  private async resolve(raw: string | undefined): Promise<string> {
    const receipt = parseReceipt(raw);
    if (!receipt) throw new NotFoundError(RECEIPT_NOT_FOUND);
    const record = await this.deps.store.receipt(receipt.selector);
    const now = this.now();
    if (!record || isLocked(record.guard, now)) {
      await verifyReceipt(receipt.code, undefined);
      throw new NotFoundError(RECEIPT_NOT_FOUND);
    }
    if (await verifyReceipt(receipt.code, record.hash)) return record.tipId;
    const { guard, locked } = afterFailure(record.guard, now);
    await this.deps.store.recordReceiptFailure(
      receipt.selector,
      guard,
      locked ? this.audit('public', 'tip.receipt_locked', record.tipId, now.toISOString()) : undefined,
    );
    throw new NotFoundError(RECEIPT_NOT_FOUND);
  }

  private async followTipById(tipId: string): Promise<ReporterView> {
    const found = await this.deps.store.get(tipId);
    if (!found) throw new NotFoundError(RECEIPT_NOT_FOUND);
    const [timeline, groupFinding] = await Promise.all([this.deps.store.timeline(tipId), this.groupFinding(found.tip)]);
    return reporterView(found.tip, timeline, groupFinding);
  }

  /** The finding that counts for a tip: its own, or for a merged tip its group primary's (where findings are made). */
  private async groupFinding(tip: Tip): Promise<Tip['finding']> {
    if (tip.finding || !tip.mergedInto) return tip.finding;
    return (await this.rootOf(tip, new Map([[tip.id, tip]]))).finding;
  }

  private async existing(tipId: string, expectedVersion: number | undefined): Promise<TipRecord> {
    const found = await this.deps.store.get(tipId);
    if (!found) throw new NotFoundError(`tip ${tipId} does not exist (线索 ${tipId} 不存在)`);
    if (expectedVersion !== undefined && expectedVersion !== found.version) {
      throw new ConflictError(
        `tip ${tipId} is at version ${found.version}, not ${expectedVersion}; reload (线索当前为第 ${found.version} 版，不是第 ${expectedVersion} 版，请重新读取)`,
      );
    }
    return found;
  }

  private async finalize(tipId: string, uploadIds: string[], field: string): Promise<EvidenceItem[]> {
    if (uploadIds.length === 0) return [];
    try {
      return await this.deps.evidence.finalize({ owner: { kind: 'tip', id: tipId }, uploadIds });
    } catch (err) {
      if (err instanceof EvidenceError) {
        const i = uploadIds.indexOf(err.uploadId);
        const { en, zh } = splitBilingual(err.message);
        throw new ValidationError('an evidence file cannot be accepted (证据文件无法接收)', [
          { field: i >= 0 ? `${field}.${i}` : field, message: en, messageZh: `证据文件无法接收：${zh ?? en}` },
        ]);
      }
      throw err;
    }
  }

  private audit(
    actor: string,
    action: string,
    tipId: string,
    at: string,
    detail?: Record<string, unknown>,
  ): AuditEntry {
    return { actor, action, entity: `tip/${tipId}`, at, ...(detail ? { detail } : {}) };
  }
}

/**
 * A staff-given report time as UTC ISO: not in the future (beyond clock skew) and not before the observation it
 * reports; ValidationError on `body.reportedAt` otherwise.
 */
function checkReportedAt(reportedAt: string, observedAt: string, now: Date): string {
  const ms = Date.parse(reportedAt);
  if (ms > now.getTime() + SKEW_MS) {
    throw new ValidationError('the report time is in the future', [
      { field: 'body.reportedAt', message: 'must not be in the future', messageZh: '收到举报的时间不能晚于现在' },
    ]);
  }
  if (ms < Date.parse(observedAt)) {
    throw new ValidationError('the report time is before the observation', [
      {
        field: 'body.reportedAt',
        message: 'must not be before observedAt',
        messageZh: '收到举报的时间不能早于发现时间',
      },
    ]);
  }
  return new Date(ms).toISOString();
}

/** Why an evidence file has no link: only metadata-stripped copies are shown, and this one has none. */
function withheldReason(item: EvidenceItem): string {
  if (item.kind === 'video')
    return '该视频封存时尚未生成去除元数据的副本，为保护举报人不提供原件；如需查看请按证据调取程序办理';
  if (item.kind === 'document')
    return '文件未生成去除元数据的副本，为保护举报人不提供原件；如需查看请按证据调取程序办理';
  return '该照片暂无去除元数据的副本，不提供原件';
}

/** Why a reward cannot be claimed on `tip` (the 409's text, with the Chinese the follow page shows). */
function notClaimable(tip: Tip): string {
  if (tip.rewardClaimedAt) {
    return `the reward was already claimed on ${tip.rewardClaimedAt} (已提交奖励申领，如需更正请联系举报奖励岗)`;
  }
  if (tip.reporterKind === 'real_name') {
    return 'this report was made under a real name; the reward post already knows the reporter (实名举报无需申领，奖励岗将与您联系)';
  }
  if (tip.channel === 'patrol') return 'a patrol finding carries no reward (巡查发现的线索不予奖励)';
  return 'the report has not been found true yet (线索尚未查实，暂不能申领奖励)';
}

/**
 * Only what the reporter may see: status, messages, their own additions, who opened their identity and why, and the
 * reward claim (`groupFinding`: the finding of a merged tip's group primary, which decides whether it can be claimed).
 */
export function reporterView(tip: Tip, timeline: TimelineEntry[], groupFinding?: Tip['finding']): ReporterView {
  const view: ReporterView = {
    tipId: tip.id,
    // a reporter is never told their tip was held as part of a suspected spam wave
    status: tip.status === 'held' ? 'received' : tip.status,
    statusLabel: TIP_STATUS_LABELS[tip.status === 'held' ? 'received' : tip.status],
    category: tip.category,
    receivedAt: tip.receivedAt,
    messages: [],
    addedInfo: [],
    identityAccess: [],
    reward: {
      claimable: rewardClaimable(tip, groupFinding ?? tip.finding),
      ...(tip.rewardClaimedAt ? { claimedAt: tip.rewardClaimedAt } : {}),
    },
  };
  for (const e of timeline) {
    if (e.type === 'message') view.messages.push({ at: e.at, from: e.from, text: e.text });
    else if (e.type === 'info') view.addedInfo.push({ at: e.at, text: e.text, files: e.evidence.length });
    else if (e.type === 'identity_access') view.identityAccess.push({ at: e.at, by: e.actor, reason: e.reason });
    // merge notes are for handlers only: they name another reporter's tip; the claim shows as `reward.claimedAt`
  }
  return view;
}
