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
};

/** Who else may act on a workflow step: the case's own handlers, or the workflow itself. */
const OTHER_ACTOR_LABELS: Record<string, string> = { case_team: '本案承办人', system: '系统' };

/** Roles (or workflow actors) in Chinese for a message: `线索研判岗、值班人员`; an unknown id is shown as it is. */
export const rolesZh = (roles: readonly string[], separator = '、'): string =>
  roles.map((r) => (isRole(r) ? ROLE_LABELS[r] : (OTHER_ACTOR_LABELS[r] ?? r))).join(separator);

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Roles that may read the registry; every official role may. */
export const REGISTRY_READERS: readonly Role[] = ROLES;
/** Roles that may change the registry. */
export const REGISTRY_WRITERS: readonly Role[] = ['admin'];
