import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { AuditEntry, Page } from '../registry/store.ts';
import { EvidenceError, type EvidenceFinalizer } from '../tips/evidence-port.ts';
import type { Official, Submitted, TipService } from '../tips/use-cases.ts';
import type { FindingToTip, Patrol, PatrolInput } from './model.ts';
import { missedSections, RIVER_SECTIONS, type RiverSection, sectionById } from './sections.ts';

/**
 * Patrol use-cases: record a patrol (photos sealed through the EvidenceFinalizer, owner kind `patrol`), list a
 * section's patrols, turn a finding into a tip (channel `patrol`, through TipService: same pipeline and
 * protections), and list sections not patrolled on schedule.
 */
export interface PatrolStore {
  /** the patrol and its audit entry in one transaction */
  create(patrol: Patrol, audit: AuditEntry): Promise<void>;
  get(id: string): Promise<Patrol | undefined>;
  /** a section's patrols, latest end first */
  bySection(sectionId: string, query: { limit: number; cursor?: string }): Promise<Page<Patrol>>;
  /** end of the latest patrol of a section (one index query, newest first, limit 1) */
  lastEndedAt(sectionId: string): Promise<string | undefined>;
  /** marks finding `n` as turned into `tipId`; ConflictError when it already was. With its audit entry. */
  markFindingTip(patrolId: string, n: number, tipId: string, audit: AuditEntry): Promise<void>;
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
    const id = this.deps.newId();
    const uploadIds = input.findings.flatMap((f) => f.uploadIds);
    let evidence: Awaited<ReturnType<EvidenceFinalizer['finalize']>> = [];
    if (uploadIds.length > 0) {
      try {
        evidence = await this.deps.evidence.finalize({ owner: { kind: 'patrol', id }, uploadIds });
      } catch (err) {
        if (err instanceof EvidenceError) {
          throw new ValidationError('an evidence file cannot be accepted', [
            { field: 'body.findings', message: `${err.message} (${err.uploadId})`, messageZh: '证据文件无法接收' },
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
    await this.deps.store.create(patrol, {
      actor: actor.sub,
      action: 'patrol.record',
      entity: `patrol/${id}`,
      at,
      detail: { sectionId: input.sectionId, gridId: input.gridId, findings: patrol.findings.length },
    });
    return patrol;
  }

  bySection(sectionId: string, query: { limit: number; cursor?: string }): Promise<Page<Patrol>> {
    return this.deps.store.bySection(sectionId, query);
  }

  async missed() {
    const last = new Map(
      await Promise.all(this.sections.map(async (s) => [s.id, await this.deps.store.lastEndedAt(s.id)] as const)),
    );
    return missedSections(this.sections, last, this.now());
  }

  /** Turns finding `n` (0-based) into a tip with channel `patrol`; its photos go with it as evidence. */
  async findingToTip(patrolId: string, n: number, input: FindingToTip, actor: Official): Promise<Submitted> {
    const patrol = await this.deps.store.get(patrolId);
    if (!patrol) throw new NotFoundError(`patrol ${patrolId} does not exist`);
    const finding = patrol.findings[n];
    if (!finding) throw new NotFoundError(`patrol ${patrolId} has no finding ${n}`);
    if (finding.tipId) throw new ConflictError(`finding ${n} already became tip ${finding.tipId}`);
    const townshipId = input.townshipId ?? (patrol.sectionId ? sectionById(patrol.sectionId)?.townshipId : undefined);
    if (!townshipId) {
      throw new ValidationError('the township is required for a grid patrol', [
        { field: 'body.townshipId', message: 'required', messageZh: '请填写乡镇' },
      ]);
    }
    const submitted = await this.deps.tips.patrolIntake(
      {
        category: input.category,
        description: finding.text,
        location: { townshipId, address: input.address, ...(finding.point ? { point: finding.point } : {}) },
        observedAt: patrol.endedAt,
      },
      finding.evidence,
      actor,
    );
    await this.deps.store.markFindingTip(patrolId, n, submitted.tipId, {
      actor: actor.sub,
      action: 'patrol.finding_to_tip',
      entity: `patrol/${patrolId}`,
      at: this.now().toISOString(),
      detail: { finding: n, tipId: submitted.tipId },
    });
    return submitted;
  }
}
