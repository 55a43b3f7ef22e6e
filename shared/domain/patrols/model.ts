import * as z from 'zod';
import { Location } from '#shared/domain/registry/model.ts';
import { lineText, multilineText } from '#shared/domain/text.ts';
import type { EvidenceItem } from '#shared/domain/tips/evidence-port.ts';
import { TipCategory, UploadId } from '#shared/domain/tips/model.ts';
import { RIVER_SECTIONS } from './sections.ts';

/**
 * Patrol reports by grid members (网格员) and river chiefs (河长): a section or a grid, the route walked as points,
 * start and end, and findings, each with its text, optional point and photos (evidence owner kind `patrol`).
 * A finding can become a tip (channel `patrol`, same pipeline).
 */
export const MAX_ROUTE_POINTS = 2000;
export const MAX_FINDINGS = 20;

const sectionId = z.enum(RIVER_SECTIONS.map((s) => s.id) as [string, ...string[]]).describe('河段 river section id');

export const FindingInput = z.strictObject({
  text: multilineText(1000).describe('发现的问题'),
  point: Location.optional(),
  uploadIds: z.array(UploadId).max(10, 'at most 10 photos per finding (每项发现最多 10 张照片)').default([]),
});

export const PatrolInput = z
  .strictObject({
    sectionId: sectionId.optional(),
    gridId: z
      .string()
      .regex(
        /^[a-z0-9-]{2,40}$/,
        'grid id: 2 to 40 lower-case letters, digits and dashes (网格编号为 2 至 40 位小写字母、数字或连字符)',
      )
      .optional(),
    route: z.array(Location).min(1).max(MAX_ROUTE_POINTS).describe('巡查轨迹'),
    startedAt: z.iso.datetime({ offset: true }),
    endedAt: z.iso.datetime({ offset: true }),
    findings: z.array(FindingInput).max(MAX_FINDINGS).default([]),
  })
  .refine((p) => (p.sectionId === undefined) !== (p.gridId === undefined), {
    path: ['sectionId'],
    message: 'give exactly one of sectionId or gridId (河段编号与网格编号须填且只填一个)',
  })
  .refine((p) => Date.parse(p.endedAt) >= Date.parse(p.startedAt), {
    path: ['endedAt'],
    message: 'endedAt must not be before startedAt (结束时间不能早于开始时间)',
  });
export type PatrolInput = z.infer<typeof PatrolInput>;

export interface Finding {
  text: string;
  point?: Location;
  evidence: EvidenceItem[];
  /** set once the finding became a tip */
  tipId?: string;
}

export interface Patrol {
  id: string;
  sectionId?: string;
  gridId?: string;
  route: Location[];
  startedAt: string;
  endedAt: string;
  findings: Finding[];
  patrolledBy: string;
  recordedAt: string;
}

/** What an officer adds when turning a finding into a tip. */
export const FindingToTip = z.strictObject({
  category: TipCategory,
  townshipId: z
    .string()
    .regex(/^[a-z]{2,20}$/, 'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)')
    .optional()
    .describe("defaults to the section's township"),
  address: lineText(200),
});
export type FindingToTip = z.infer<typeof FindingToTip>;
