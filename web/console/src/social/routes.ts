import type { RouteRecordRaw } from 'vue-router';

/**
 * The tips and cases pages (线索研判, 案件) and their menu entries, kept here so the router and the menu each take them
 * in one line. Who sees an entry follows the API's roles: the triage roles for tips, the case staff for the case list
 * (the reward post and the liaisons reach their cases from 我的待办 on the home page).
 */
export const socialRoutes: RouteRecordRaw[] = [
  { path: 'tips', name: 'tips', component: () => import('../pages/Tips.vue'), meta: { title: '线索研判' } },
  {
    path: 'tips/intake',
    name: 'tip-intake',
    component: () => import('../pages/TipIntake.vue'),
    meta: { title: '录入线索' },
  },
  { path: 'tips/:id', name: 'tip', component: () => import('../pages/TipDetail.vue'), meta: { title: '线索详情' } },
  { path: 'cases', name: 'cases', component: () => import('../pages/Cases.vue'), meta: { title: '案件' } },
  {
    path: 'cases/:caseId',
    name: 'case',
    component: () => import('../pages/CaseDetail.vue'),
    meta: { title: '案件详情' },
  },
];

export const SOCIAL_MENU = [
  { path: '/tips', label: '线索研判', roles: ['analyst', 'duty_officer', 'handler', 'section_chief'] },
  { path: '/cases', label: '案件', roles: ['handler', 'section_chief', 'bureau_head', 'analyst'] },
];
