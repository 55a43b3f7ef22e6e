import { createRouter, createWebHashHistory, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { currentSession, signIn } from './auth.ts';
import Shell from './layout/Shell.vue';
import { socialRoutes } from './social/routes.ts';

/**
 * The console's pages. Every page but the sign-in callback needs a session; without one the router sends the user
 * to the identity provider and back. Which pages a user sees in the menu comes from their roles (layout/menu.ts);
 * the API decides what they may actually do.
 */
const routes: RouteRecordRaw[] = [
  { path: '/callback', name: 'callback', component: () => import('./pages/Callback.vue'), meta: { public: true } },
  {
    path: '/',
    component: Shell,
    children: [
      { path: '', name: 'home', component: () => import('./pages/Home.vue'), meta: { title: '工作台' } },
      { path: 'alarms', name: 'alarms', component: () => import('./pages/Alarms.vue'), meta: { title: '告警中心' } },
      {
        path: 'alarms/:alarmId',
        name: 'alarm',
        component: () => import('./pages/AlarmDetail.vue'),
        meta: { title: '告警详情' },
      },
      { path: 'devices', name: 'devices', component: () => import('./pages/Devices.vue'), meta: { title: '监测数据' } },
      { path: 'map', name: 'map', component: () => import('./pages/MapView.vue'), meta: { title: '一张图' } },
      {
        path: 'patrols',
        name: 'patrols',
        component: () => import('./pages/patrols/Patrols.vue'),
        meta: { title: '巡查' },
      },
      {
        path: 'patrols/new',
        name: 'patrol-report',
        component: () => import('./pages/patrols/PatrolReport.vue'),
        meta: { title: '填报巡查' },
      },
      {
        path: 'registry/:kind(townships|enterprises|outlets|devices)?',
        name: 'registry',
        component: () => import('./pages/registry/RegistryList.vue'),
        meta: { title: '名录' },
      },
      {
        path: 'registry/:kind(townships|enterprises|outlets|devices)/:id',
        name: 'registry-entry',
        component: () => import('./pages/registry/RegistryEntry.vue'),
        meta: { title: '名录' },
      },
      ...socialRoutes,
    ],
  },
  { path: '/:rest(.*)', redirect: '/' },
];

export function createConsoleRouter(mode: 'history' | 'hash') {
  const router = createRouter({
    history: mode === 'hash' ? createWebHashHistory('/console/') : createWebHistory('/console/'),
    routes,
  });
  router.beforeEach(async (to) => {
    if (to.meta.public || currentSession()) return true;
    await signIn(to.fullPath);
    return false;
  });
  router.afterEach((to) => {
    const title = typeof to.meta.title === 'string' ? `${to.meta.title} · ` : '';
    document.title = `${title}政务工作台 · 庆元县环境污染问题发现平台`;
  });
  return router;
}
