import { SOCIAL_MENU } from '../social/routes.ts';

/** The console's sections and who sees them in the menu (the API still decides every call). */
export interface MenuItem {
  path: string;
  label: string;
  /** any of these roles; empty = everyone signed in */
  roles: string[];
}

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
  ...SOCIAL_MENU,
];

export const visibleMenu = (roles: readonly string[]) =>
  MENU.filter((m) => m.roles.length === 0 || m.roles.some((r) => roles.includes(r)));
