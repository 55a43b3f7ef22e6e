import { PENCIL } from '#shared/domain/registry/qingyuan-seed.ts';
import type { Role } from '#shared/domain/roles.ts';

/**
 * The local identity provider's demo accounts (示例账号): one per official role, plus township-scoped ones, so a person
 * can sign in to the console with a password exactly as in production. Invented people; one shared demo password,
 * printed by `npm start` and written in the README. Never used outside the local platform.
 *
 * `townships`: the townships the account may see; `['*']` is county-wide (an explicit value: a token without the claim
 * sees nothing).
 */
export interface DemoAccount {
  username: string;
  name: string;
  roles: Role[];
  townships: string[];
  /** an enterprise user's unified social credit code (the `uscc` claim): the unit it answers for */
  uscc?: string;
}

export const DEMO_PASSWORD = 'Qingyuan-2026';

export const COUNTY_WIDE = '*';

const county = [COUNTY_WIDE];

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  { username: 'admin', name: '管理员 林志远', roles: ['admin'], townships: county },
  { username: 'duty', name: '值班员 吴晓梅', roles: ['duty_officer'], townships: county },
  { username: 'duty.zhukou', name: '竹口镇值班员 周建华', roles: ['duty_officer'], townships: ['zhukou'] },
  { username: 'duty.songyuan', name: '松源街道值班员 陈丽', roles: ['duty_officer'], townships: ['songyuan'] },
  { username: 'analyst', name: '研判员 叶思远', roles: ['analyst'], townships: county },
  { username: 'handler1', name: '承办人 季文斌', roles: ['handler'], townships: county },
  { username: 'handler2', name: '承办人 毛晓东', roles: ['handler'], townships: county },
  { username: 'chief', name: '科长 吴国平', roles: ['section_chief'], townships: county },
  { username: 'head', name: '局长 刘建新', roles: ['bureau_head'], townships: county },
  { username: 'reward', name: '奖励岗 范小燕', roles: ['reward_post'], townships: county },
  { username: 'police', name: '公安联络员 王磊', roles: ['police_liaison'], townships: county },
  { username: 'procurator', name: '检察联络员 李静', roles: ['procuratorate_liaison'], townships: county },
  { username: 'grid.zhukou', name: '网格员 张伟', roles: ['grid_member'], townships: ['zhukou'] },
  { username: 'river.songyuan', name: '河长 郑海', roles: ['river_chief'], townships: ['songyuan'] },
  { username: 'inspector', name: '执法检查员 胡斌', roles: ['inspector'], townships: county },
  // the seeded pencil factory (屏都街道): sees its own unit's alarms and answers them, nothing else
  {
    username: 'enterprise.pencil',
    name: '庆元县示例铅笔制造有限公司 环保专员 陈立新',
    roles: ['enterprise'],
    townships: [],
    uscc: PENCIL,
  },
];

export function findDemoAccount(username: string): DemoAccount | undefined {
  return DEMO_ACCOUNTS.find((a) => a.username === username);
}
