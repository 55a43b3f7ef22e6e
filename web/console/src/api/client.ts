import createClient, { type Middleware } from 'openapi-fetch';
import { currentSession, forget, signIn } from '../auth.ts';
import { config } from '../config.ts';
import type { paths } from './schema';

/**
 * The typed API client: paths, parameters and bodies come from `schema.d.ts`, generated from docs/openapi.json (the
 * zod route contracts) by `npm run openapi`, so a console call that no longer matches the API fails the typecheck.
 * Every call carries the signed-in user's token; a 401 sends the user to sign in again.
 */
export interface FieldProblem {
  field: string;
  message: string;
  messageZh?: string;
}

/** An RFC 9457 problem from the API, in Chinese where the API gave it (`detailZh`, `messageZh`). */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string | undefined,
    readonly fields: FieldProblem[],
    readonly detailZh?: string,
  ) {
    super(detail ?? title);
    this.name = 'ApiProblem';
  }

  /** the detail in Chinese alone when the API gave it (a 403 names the roles that may act), else as it came */
  get explanation(): string {
    return this.detailZh ?? this.detail ?? this.title;
  }

  /** the field's message for a form, by the path the API names (`body.handlers`) */
  forField(path: string): string | undefined {
    const f = this.fields.find((x) => x.field === path || x.field === `body.${path}`);
    return f ? (f.messageZh ?? f.message) : undefined;
  }
}

const auth: Middleware = {
  async onRequest({ request }) {
    const session = currentSession();
    if (session) request.headers.set('authorization', `Bearer ${session.accessToken}`);
    return request;
  },
  async onResponse({ response }) {
    if (response.status === 401) {
      forget();
      await signIn(location.pathname + location.search);
    }
    return response;
  },
};

let instance: ReturnType<typeof createClient<paths>> | undefined;

export function api() {
  if (!instance) {
    instance = createClient<paths>({ baseUrl: config().apiBase });
    instance.use(auth);
  }
  return instance;
}

/** The data of a call, or an ApiProblem (RFC 9457) for a refusal, with its status. */
export async function data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data: body, error, response } = await call;
  if (response.ok) return body as T;
  const p = (error ?? {}) as { title?: string; detail?: string; detailZh?: string; errors?: FieldProblem[] };
  throw new ApiProblem(response.status, p.title ?? `HTTP ${response.status}`, p.detail, p.errors ?? [], p.detailZh);
}

/** A Chinese sentence for any failure, for a message box. */
export function problemText(err: unknown): string {
  if (err instanceof ApiProblem) {
    if (err.status === 403) return `无权执行此操作：${err.explanation}`;
    if (err.status === 404) return '未找到，或不在您的管辖范围内';
    if (err.status === 409 || err.status === 412) return `内容已被他人更改或状态已变化：${err.explanation}`;
    const field = err.fields[0];
    if (field) return field.messageZh ?? field.message;
    return err.explanation;
  }
  return '网络或服务异常，请稍后重试';
}
