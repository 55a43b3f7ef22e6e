import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebConfig } from '#infra/constructs/web-hosting.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';
import type { ExtraHandler } from './services/http-gateway.ts';
import type { MessagingService } from './services/messaging.ts';
import type { SchedulerService } from './services/scheduler.ts';
import type { StepFunctionsService } from './services/stepfunctions.ts';

/**
 * The platform's own pages under /_local/: what was sent (SNS, SMS), what workflows run, where everything is.
 * JSON for scripts (`.json`), plain HTML for people. Everything shown is HTML-escaped.
 */
export const esc = (s: unknown): string =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · EnvWatch 本地平台</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:1rem;color:#1b1f23}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eef}pre{white-space:pre-wrap;margin:0}nav a{margin-right:1rem}</style>
</head><body><nav><a href="/_local/">总览 Overview</a><a href="/_local/messages">已发送消息 Messages</a><a href="/_local/executions">工作流 Workflows</a><a href="/_local/schedules">定时任务 Schedules</a></nav><h1>${esc(title)}</h1>${body}</body></html>`;
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export function localPages(deps: {
  endpoints: () => Record<string, unknown>;
  messaging: MessagingService;
  stepfunctions: StepFunctionsService;
  scheduler: SchedulerService;
  /** the local Lambda runtime: `/_local/stats.json` shows each function's invocations and queue (load runs read it) */
  lambdas?: Pick<LambdaRuntime, 'stats'>;
}): ExtraHandler {
  return {
    prefix: '/_local',
    async handle(req: IncomingMessage, res: ServerResponse) {
      const url = new URL(req.url ?? '/', 'http://local');
      const q = url.searchParams;
      const run = /^\/_local\/schedules\/([^/]+)\/run$/.exec(url.pathname);
      if (run && req.method === 'POST') {
        // ?time=<ISO instant>: fire as if scheduled then (the event's time, what an input transformer passes on)
        const time = q.get('time');
        if (time !== null && Number.isNaN(Date.parse(time))) {
          return send(
            res,
            400,
            'application/json; charset=utf-8',
            JSON.stringify({ message: 'time must be an ISO 8601 instant' }),
          );
        }
        try {
          await deps.scheduler.runNow(
            decodeURIComponent(run[1] as string),
            time ? { time: new Date(time) } : undefined,
          );
          return send(res, 202, 'application/json; charset=utf-8', JSON.stringify({ fired: run[1] }));
        } catch (err) {
          return send(
            res,
            404,
            'application/json; charset=utf-8',
            JSON.stringify({ message: err instanceof Error ? err.message : 'not found' }),
          );
        }
      }
      switch (url.pathname) {
        case '/_local':
        case '/_local/': {
          const rows = Object.entries(deps.endpoints())
            .map(
              ([k, v]) =>
                `<tr><th>${esc(k)}</th><td><pre>${esc(typeof v === 'string' ? v : JSON.stringify(v, null, 2))}</pre></td></tr>`,
            )
            .join('');
          return send(res, 200, 'text/html; charset=utf-8', page('EnvWatch 本地平台', `<table>${rows}</table>`));
        }
        case '/_local/stats.json':
          return send(
            res,
            200,
            'application/json; charset=utf-8',
            JSON.stringify({ at: new Date().toISOString(), functions: deps.lambdas?.stats() ?? [] }),
          );
        case '/_local/endpoints.json':
          return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(deps.endpoints(), null, 2));
        case '/_local/messages.json':
        case '/_local/messages': {
          const limit = Number(q.get('limit') ?? 200);
          const messages = deps.messaging.listMessages({
            ...(q.get('topic') ? { topicArn: q.get('topic') as string } : {}),
            ...(q.get('phone') ? { phoneNumber: q.get('phone') as string } : {}),
            ...(q.get('since') ? { since: q.get('since') as string } : {}),
            limit: Number.isFinite(limit) && limit > 0 ? limit : 200,
          });
          if (url.pathname.endsWith('.json'))
            return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ messages }));
          const rows = [...messages]
            .reverse()
            .map(
              (m) =>
                `<tr><td>${esc(m.at)}</td><td>${esc(m.topicArn?.split(':').pop() ?? '')}</td><td>${esc(m.phoneNumber ?? (m.smsRecipients ?? []).join(', '))}</td><td>${esc(m.subject ?? '')}</td><td><pre>${esc(m.message)}</pre></td><td><pre>${esc(JSON.stringify(m.messageAttributes))}</pre></td></tr>`,
            )
            .join('');
          return send(
            res,
            200,
            'text/html; charset=utf-8',
            page(
              '已发送消息 Sent messages (SNS / SMS)',
              `<p>${messages.length} 条，最新在前。JSON: <a href="/_local/messages.json">/_local/messages.json</a></p><table><tr><th>时间 (UTC)</th><th>主题 Topic</th><th>短信号码 SMS to</th><th>标题</th><th>内容 Message</th><th>属性 Attributes</th></tr>${rows}</table>`,
            ),
          );
        }
        case '/_local/executions.json':
        case '/_local/executions': {
          const executions = deps.stepfunctions.listExecutions();
          if (url.pathname.endsWith('.json'))
            return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ executions }));
          const rows = executions
            .map(
              (e) =>
                `<tr><td>${esc(e.stateMachineName)}</td><td>${esc(e.name)}</td><td>${esc(e.status)}</td><td>${esc(e.startDate)}</td><td>${esc(e.currentState ?? '')}</td><td>${esc(e.waitingTokens.map((w) => w.stateName).join(', '))}</td><td>${esc(e.error ?? '')} ${esc(e.cause ?? '')}</td></tr>`,
            )
            .join('');
          return send(
            res,
            200,
            'text/html; charset=utf-8',
            page(
              '工作流 Workflows (Step Functions)',
              `<table><tr><th>状态机</th><th>执行</th><th>状态</th><th>开始 (UTC)</th><th>当前步骤</th><th>等待回调</th><th>错误</th></tr>${rows}</table>`,
            ),
          );
        }
        case '/_local/schedules':
          return send(
            res,
            200,
            'application/json; charset=utf-8',
            JSON.stringify({ schedules: deps.scheduler.rules() }),
          );
        default:
          return send(res, 404, 'application/json; charset=utf-8', JSON.stringify({ message: 'Not Found' }));
      }
    },
  };
}

/** `/config.json` as the web hosting writes it at deploy time, with the local platform's own values. */
export function webConfig(config: WebConfig): ExtraHandler {
  const body = JSON.stringify(config);
  return {
    prefix: '/config.json',
    async handle(req: IncomingMessage, res: ServerResponse) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json; charset=utf-8', '{}');
      send(res, 200, 'application/json; charset=utf-8', body);
    },
  };
}
