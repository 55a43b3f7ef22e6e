import { ConflictError, NotFoundError, splitBilingual, ValidationError } from '#shared/domain/errors.ts';
import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import { EvidenceError, type EvidenceFinalizer } from '#shared/domain/tips/evidence-port.ts';
import type { TipStatus } from '#shared/domain/tips/model.ts';
import { PatrolFindingTakenError } from '#shared/domain/tips/ports.ts';
import type { Official, TipService } from '#shared/domain/tips/use-cases.ts';
import type { FindingToTip, Patrol, PatrolInput } from './model.ts';
import { missedSections, RIVER_SECTIONS, type RiverSection, sectionById } from './sections.ts';

/**
 * Patrol use-cases: record a patrol (photos sealed through the EvidenceFinalizer, owner kind `patrol`), list a
 * section's patrols, turn a finding into a tip (channel `patrol`, through TipService: same pipeline and
 * protections; at most one tip per finding), and list sections not patrolled on schedule.
 */
export interface PatrolStore {
  /**
   * The patrol and its audit entry in one transaction; `uploadIds` (the findings' photos) get their unreferenced marks
   * cleared in it (evidence-port.ts).
   */
  create(patrol: Patrol, audit: AuditEntry, uploadIds?: string[]): Promise<void>;
  /** a strongly consistent read: a conversion that lost a race reads the winner's tip id right after */
  get(id: string): Promise<Patrol | undefined>;
  /** a section's patrols, latest end first */
  bySection(sectionId: string, query: { limit: number; cursor?: string }): Promise<Page<Patrol>>;
  /** end of the latest patrol of a section (one index query, newest first, limit 1) */
  lastEndedAt(sectionId: string): Promise<string | undefined>;
}

/**
 * A finding turned into a tip. `created` is false when the finding had already become a tip (a retried request, or
 * another official converting it at the same moment): then `tipId` is that tip and there is no receipt, which is shown
 * only once, to whoever created the tip.
 */
export interface FindingTip {
  tipId: string;
  status: TipStatus;
  receipt?: string;
  created: boolean;
}

export interface PatrolDeps {
  store: PatrolStore;
  evidence: EvidenceFinalizer;
  tips: TipService;
  newId: () => string;
  now?: () => Date;
  sections?: readonly RiverSection[];
}

export class PatrolService {
  private readonly now: () => Date;
  private readonly sections: readonly RiverSection[];

  constructor(private readonly deps: PatrolDeps) {
    this.now = deps.now ?? (() => new Date());
    this.sections = deps.sections ?? RIVER_SECTIONS;
  }

  async record(input: PatrolInput, actor: Official): Promise<Patrol> {
    const uploadIds = input.findings.flatMap((f) => f.uploadIds);
    // a retry of a patrol whose write failed resumes its id, so the photos already sealed for it are reused
    const resumed = uploadIds.length > 0 ? await this.deps.evidence.unreferencedOwner?.(uploadIds) : undefined;
    const id = resumed?.kind === 'patrol' && !(await this.deps.store.get(resumed.id)) ? resumed.id : this.deps.newId();
    let evidence: Awaited<ReturnType<EvidenceFinalizer['finalize']>> = [];
    if (uploadIds.length > 0) {
      try {
        evidence = await this.deps.evidence.finalize({ owner: { kind: 'patrol', id }, uploadIds });
      } catch (err) {
        if (err instanceof EvidenceError) {
          const { en, zh } = splitBilingual(err.message);
          throw new ValidationError('an evidence file cannot be accepted (证据文件无法接收)', [
            { field: 'body.findings', message: en, messageZh: `证据文件无法接收：${zh ?? en}` },
          ]);
        }
        throw err;
      }
    }
    const byUpload = new Map(uploadIds.map((u, i) => [u, evidence[i]]));
    const at = this.now().toISOString();
    const patrol: Patrol = {
      id,
      ...(input.sectionId ? { sectionId: input.sectionId } : {}),
      ...(input.gridId ? { gridId: input.gridId } : {}),
      route: input.route,
      startedAt: new Date(input.startedAt).toISOString(),
      endedAt: new Date(input.endedAt).toISOString(),
      findings: input.findings.map((f) => ({
        text: f.text,
        ...(f.point ? { point: f.point } : {}),
        evidence: f.uploadIds.map((u) => byUpload.get(u)).filter((e) => e !== undefined),
      })),
      patrolledBy: actor.sub,
      recordedAt: at,
    };
    await this.deps.store.create(
      patrol,
      {
        actor: actor.sub,
        action: 'patrol.record',
        entity: `patrol/${id}`,
        at,
        detail: { sectionId: input.sectionId, gridId: input.gridId, findings: patrol.findings.length },
      },
      uploadIds,
    );
    return patrol;
  }

  bySection(sectionId: string, query: { limit: number; cursor?: string }): Promise<Page<Patrol>> {
    return this.deps.store.bySection(sectionId, query);
  }

  /** the river sections patrolled on a schedule (a report names one of them) */
  sectionList(): RiverSection[] {
    return [...this.sections];
  }

  async missed() {
    const last = new Map(
      await Promise.all(this.sections.map(async (s) => [s.id, await this.deps.store.lastEndedAt(s.id)] as const)),
    );
    return missedSections(this.sections, last, this.now());
  }

  /**
   * Turns finding `n` (0-based) into a tip with channel `patrol`; its photos go with it as evidence. Idempotent and
   * race-free: the finding is claimed in the tip's own transaction on the condition that it is unclaimed, so however
   * many conversions run (retries, two officials), exactly one tip is written and every caller gets its id.
   */
  async findingToTip(patrolId: string, n: number, input: FindingToTip, actor: Official): Promise<FindingTip> {
    const patrol = await this.deps.store.get(patrolId);
    if (!patrol) throw new NotFoundError(`patrol ${patrolId} does not exist (巡查记录 ${patrolId} 不存在)`);
    const finding = patrol.findings[n];
    if (!finding) throw new NotFoundError(`patrol ${patrolId} has no finding ${n} (巡查记录没有第 ${n} 项发现)`);
    if (finding.tipId) return this.existing(finding.tipId);
    const townshipId = input.townshipId ?? (patrol.sectionId ? sectionById(patrol.sectionId)?.townshipId : undefined);
    if (!townshipId) {
      throw new ValidationError('the township is required for a grid patrol', [
        { field: 'body.townshipId', message: 'required', messageZh: '请填写乡镇' },
      ]);
    }
    try {
      const submitted = await this.deps.tips.patrolIntake(
        {
          category: input.category,
          description: finding.text,
          location: { townshipId, address: input.address, ...(finding.point ? { point: finding.point } : {}) },
          observedAt: patrol.endedAt,
        },
        finding.evidence,
        actor,
        { patrolId, index: n },
      );
      return { ...submitted, created: true };
    } catch (err) {
      if (!(err instanceof PatrolFindingTakenError)) throw err;
      const winner = (await this.deps.store.get(patrolId))?.findings[n]?.tipId;
      if (winner) return this.existing(winner);
      // the other conversion was still committing (or failed): nothing was written by either call yet
      throw new ConflictError(
        `finding ${n} is being turned into a tip by someone else; try again (正在转为线索，请稍后重试)`,
      );
    }
  }

  private async existing(tipId: string): Promise<FindingTip> {
    const { tip } = await this.deps.tips.getTip(tipId);
    return { tipId, status: tip.status, created: false };
  }
}
