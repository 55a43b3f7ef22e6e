/** Official roles. A token carries one or more; routes and use-cases check them. */
export const ROLES = [
  'admin',
  'duty_officer',
  'analyst',
  'handler',
  'section_chief',
  'bureau_head',
  'reward_post',
  'police_liaison',
  'procuratorate_liaison',
  'grid_member',
  'river_chief',
  'inspector',
  'township_official',
  'leader',
  'industry_regulator',
  'enterprise',
  'machine',
] as const;

export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: '系统管理员',
  duty_officer: '值班人员',
  analyst: '线索研判岗',
  handler: '案件承办人',
  section_chief: '科室负责人',
  bureau_head: '局领导',
  reward_post: '举报奖励岗',
  police_liaison: '公安联络员',
  procuratorate_liaison: '检察联络员',
  grid_member: '网格员',
  river_chief: '河长',
  inspector: '执法检查人员',
  township_official: '乡镇（街道）环保员',
  leader: '县领导',
  industry_regulator: '行业主管部门',
  enterprise: '企业用户',
  machine: '系统对接客户端',
};

/**
 * What each role may see (shared/domain/scope.ts decides with it):
 * - the bureau's staff and the leader see the townships their token names (`*` = the whole county);
 * - a township official (乡镇环保员), grid member and river chief: their townships only;
 * - an industry regulator (行业主管部门): the alarms of its industry (`department` claim = the alarm's regulator);
 * - an enterprise user: its own units only (`uscc` claim = its unified social credit code), never tips or reporters;
 * - a machine client (OIDC client credentials, e.g. a utility's data feed): only the routes made for it.
 */
export const ROLE_SCOPES: Record<Role, 'townships' | 'department' | 'enterprise' | 'none'> = {
  admin: 'townships',
  duty_officer: 'townships',
  analyst: 'townships',
  handler: 'townships',
  section_chief: 'townships',
  bureau_head: 'townships',
  reward_post: 'townships',
  police_liaison: 'townships',
  procuratorate_liaison: 'townships',
  grid_member: 'townships',
  river_chief: 'townships',
  inspector: 'townships',
  township_official: 'townships',
  leader: 'townships',
  industry_regulator: 'department',
  enterprise: 'enterprise',
  machine: 'none',
};

/** The bureau's own officials (every role but the outside parties and machines). */
export const STAFF_ROLES: readonly Role[] = [
  'admin',
  'duty_officer',
  'analyst',
  'handler',
  'section_chief',
  'bureau_head',
  'reward_post',
  'police_liaison',
  'procuratorate_liaison',
  'grid_member',
  'river_chief',
  'inspector',
];

/** Who else may act on a workflow step: the case's own handlers, or the workflow itself. */
const OTHER_ACTOR_LABELS: Record<string, string> = { case_team: '本案承办人', system: '系统' };

/** Roles (or workflow actors) in Chinese for a message: `线索研判岗、值班人员`; an unknown id is shown as it is. */
export const rolesZh = (roles: readonly string[], separator = '、'): string =>
  roles.map((r) => (isRole(r) ? ROLE_LABELS[r] : (OTHER_ACTOR_LABELS[r] ?? r))).join(separator);

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Roles that may read the registry: every official, the leader, township officials, and an enterprise (its own). */
export const REGISTRY_READERS: readonly Role[] = [
  ...STAFF_ROLES,
  'township_official',
  'leader',
  'industry_regulator',
  'enterprise',
];
/** Roles that may change the registry. */
export const REGISTRY_WRITERS: readonly Role[] = ['admin'];
