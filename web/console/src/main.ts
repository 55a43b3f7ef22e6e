import 'element-plus/theme-chalk/base.css';
import 'element-plus/es/components/message/style/css';
import 'element-plus/es/components/message-box/style/css';
import 'element-plus/es/components/loading/style/css';
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { loadConfig } from './config.ts';
import { createConsoleRouter } from './router.ts';
import './console.css';

/** Loads /config.json (issuer, client id, router mode), then mounts the console. */
async function start() {
  const root = document.getElementById('app');
  try {
    const config = await loadConfig();
    const app = createApp(App);
    app.use(createPinia());
    app.use(createConsoleRouter(config.routerMode));
    app.mount('#app');
  } catch {
    if (root) root.textContent = '政务工作台暂时无法加载（配置读取失败），请稍后刷新重试。';
  }
}

void start();
