import { ROLES } from '../../../../shared/domain/roles.ts';

/** The console's sections and who sees them in the menu (the API still decides every call). */
export interface MenuItem {
  path: string;
  label: string;
  /** any of these roles; empty = everyone signed in */
  roles: string[];
}

/** every official who reads the registry (the enterprise user sees its own units under 告警中心 and 监测数据 instead) */
const OFFICIALS: string[] = ROLES.filter((r) => r !== 'enterprise' && r !== 'machine');

export const MENU: MenuItem[] = [
  { path: '/', label: '工作台', roles: [] },
  {
    path: '/alarms',
    label: '告警中心',
    roles: ['duty_officer', 'analyst', 'handler', 'section_chief', 'bureau_head', 'admin', 'inspector', 'enterprise'],
  },
  {
    path: '/devices',
    label: '监测数据',
    roles: ['duty_officer', 'analyst', 'handler', 'section_chief', 'bureau_head', 'admin', 'inspector', 'enterprise'],
  },
  { path: '/map', label: '一张图', roles: OFFICIALS },
  { path: '/registry', label: '名录', roles: OFFICIALS },
  {
    path: '/patrols',
    label: '巡查',
    roles: ['grid_member', 'river_chief', 'duty_officer', 'analyst', 'section_chief'],
  },
  // who sees an entry follows the API's roles: the triage roles for tips, the case staff for the case list (the reward
  // post and the liaisons reach their cases from 我的待办 on the home page)
  { path: '/tips', label: '线索研判', roles: ['analyst', 'duty_officer', 'handler', 'section_chief'] },
  { path: '/cases', label: '案件', roles: ['handler', 'section_chief', 'bureau_head', 'analyst'] },
];

export const visibleMenu = (roles: readonly string[]) =>
  MENU.filter((m) => m.roles.length === 0 || m.roles.some((r) => roles.includes(r)));
