import type { RouteRecordRaw } from 'vue-router';

/**
 * The tips and cases pages (线索研判, 案件), kept here so the router takes them in one line; their menu entries are in
 * layout/menu.ts.
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
