import * as z from 'zod';
import { FindingToTip, PatrolInput } from '#shared/domain/patrols/model.ts';
import { RIVER_SECTIONS } from '#shared/domain/patrols/sections.ts';
import type { Role } from '#shared/domain/roles.ts';
import { TipStatus } from '#shared/domain/tips/model.ts';
import { defineRoutes } from '#shared/http/contract.ts';
import { PLACES, patrolPlace } from './places.ts';

/**
 * Patrol reports (巡查) in the official tips function: grid members and river chiefs record patrols, a finding can
 * become a tip (channel `patrol`), and sections not patrolled on schedule are listed.
 */
export const PATROL_WRITE_ROLES: readonly Role[] = ['grid_member', 'river_chief'];
/** the duty officer too: findings phoned in while on duty are read and turned into tips there (docs/decisions.md) */
export const PATROL_READ_ROLES: readonly Role[] = [
  'grid_member',
  'river_chief',
  'analyst',
  'section_chief',
  'duty_officer',
];
export const PATROL_TIP_ROLES: readonly Role[] = ['grid_member', 'river_chief', 'analyst', 'duty_officer'];

const tags = ['patrols'];

/** A finding turned into a tip: 201 with the receipt when this call created it, 200 without when it already had one. */
export const FindingTip = z.object({
  tipId: z.string(),
  status: TipStatus,
  receipt: z.string().optional().describe('only when this call created the tip: shown once'),
  created: z.boolean().describe('false: the finding had already become this tip (a retry or another official)'),
});
const ulid = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'patrol id is a ULID');
const point = () => z.object({ lat: z.number(), lng: z.number() });
const Patrol = () =>
  z.object({
    id: z.string(),
    sectionId: z.string().optional(),
    gridId: z.string().optional(),
    route: z.array(point()),
    startedAt: z.iso.datetime(),
    endedAt: z.iso.datetime(),
    findings: z.array(
      z.object({
        text: z.string(),
        point: point().optional(),
        evidence: z.array(z.looseObject({ id: z.string(), kind: z.string(), sha256: z.string() })),
        tipId: z.string().optional(),
      }),
    ),
    patrolledBy: z.string(),
    recordedAt: z.iso.datetime(),
  });

export const patrolRoutes = defineRoutes({
  record_patrol: {
    method: 'POST',
    scope: { kind: 'body', place: patrolPlace },
    path: '/patrols',
    auth: PATROL_WRITE_ROLES,
    tags,
    summary: '提交巡查记录 record a patrol',
    description:
      'A river section (`sectionId`) or a grid (`gridId`), the route as points, start and end, findings with photos (upload ids from POST /evidence/uploads, sealed with owner kind `patrol`).',
    body: PatrolInput,
    response: Patrol(),
    status: 201,
    maxBodyBytes: 256 * 1024,
  },
  list_patrols: {
    method: 'GET',
    scope: { kind: 'list', item: patrolPlace },
    path: '/patrols',
    auth: PATROL_READ_ROLES,
    tags,
    summary: '河段巡查记录 patrols of a section, latest first',
    query: z.strictObject({
      section: z.enum(RIVER_SECTIONS.map((s) => s.id) as [string, ...string[]]),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(2048).optional(),
    }),
    response: z.object({ items: z.array(Patrol()), cursor: z.string().optional() }),
  },
  list_patrol_sections: {
    method: 'GET',
    scope: { kind: 'list', item: (s: { townshipId: string }) => ({ townshipId: s.townshipId }) },
    path: '/patrols/sections',
    auth: PATROL_READ_ROLES,
    tags,
    summary: '巡查河段 river sections patrolled on a schedule',
    description:
      'The sections a patrol report may name (`sectionId`), with their township and patrol interval; the caller’s townships only.',
    response: z.object({
      items: z.array(
        z.object({ id: z.string(), name: z.string(), townshipId: z.string(), intervalDays: z.number().int() }),
      ),
    }),
  },
  missed_patrols: {
    method: 'GET',
    scope: { kind: 'list', item: (m: { section: { townshipId: string } }) => ({ townshipId: m.section.townshipId }) },
    path: '/patrols/missed',
    auth: PATROL_READ_ROLES,
    tags,
    summary: '未按期巡查河段 sections not patrolled on schedule',
    response: z.object({
      items: z.array(
        z.object({
          section: z.object({ id: z.string(), name: z.string(), townshipId: z.string(), intervalDays: z.number() }),
          lastPatrolEndedAt: z.string().optional(),
          daysSince: z.number().int().optional(),
        }),
      ),
    }),
  },
  patrol_finding_to_tip: {
    method: 'POST',
    scope: { kind: 'entity', param: 'id', place: PLACES.patrol },
    path: '/patrols/{id}/findings/{n}/tip',
    auth: PATROL_TIP_ROLES,
    tags,
    summary: '巡查发现转为线索 turn a finding into a tip',
    description:
      'Channel `patrol`, same pipeline as every tip; the finding’s photos become the tip’s evidence. One tip per finding: a repeated or concurrent conversion answers 200 with the same tipId (no receipt) instead of creating another.',
    params: z.strictObject({ id: ulid, n: z.coerce.number().int().min(0).max(19) }),
    body: FindingToTip,
    response: FindingTip,
    status: 201,
  },
});
