import { createPrivateKey, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { DEMO_ACCOUNTS, DEMO_PASSWORD, type DemoAccount } from '#infra/local/demo-accounts.ts';
import type { LocalJwtKeys } from '#infra/local/jwt.ts';
import type { LocalService } from '#infra/local/spec.ts';
import { esc } from '../pages.ts';

/**
 * The local identity provider: a real OpenID Connect provider (panva's `oidc-provider`, certified), so officials sign
 * in to the console with a password through authorization code + PKCE exactly as against the bureau's own issuer
 * (Keycloak, Authing, Cognito). What the API needs from a token, and what production issuers must be configured to
 * put in it (docs/operations.md):
 *   - access tokens are JWTs (RS256) for the API: `aud` = the API's audience (the console's client id), `sub`,
 *     `name`, `roles` (array of role ids) and `townships` (array of township ids, `*` = county-wide), and for an
 *     enterprise user `uscc` (its unified social credit code);
 *   - the console is a public client (no secret) that must use PKCE (S256).
 * Signed with the platform's local key (`<dataDir>/jwt/`), the key the local JWT authorizer verifies and
 * `npm run token` signs with, so scripts keep working beside real sign-ins.
 * Accounts: infra/local/demo-accounts.ts (one shared demo password). Sessions and codes live in memory.
 */
export interface OidcOptions {
  host: string;
  port: number;
  keys: LocalJwtKeys;
  /** the API's audience: the console's client id too */
  audience: string;
  /** where the console runs (`http://127.0.0.1:4510`): its redirect URIs */
  webOrigin: string;
  log: (line: string) => void;
}

export interface OidcService extends LocalService {
  issuer: string;
  clientId: string;
}

/** The API as a resource server: the audience its JWT authorizer checks. */
const API_RESOURCE = 'urn:envwatch:api';
const API_SCOPE = 'envwatch';

/** scrypt hashes of the demo password, one per account (what a real provider keeps; compared in constant time) */
function passwordCheck() {
  const salt = randomBytes(16);
  const hash = scryptSync(DEMO_PASSWORD, salt, 32);
  return (password: string) => {
    const candidate = scryptSync(password, salt, 32);
    return timingSafeEqual(candidate, hash);
  };
}

function accountClaims(account: DemoAccount) {
  return {
    name: account.name,
    roles: account.roles,
    townships: account.townships,
    ...(account.uscc ? { uscc: account.uscc } : {}),
  };
}

export async function startOidc(opts: OidcOptions): Promise<OidcService> {
  const server = createServer();
  await new Promise<void>((ready, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => {
      server.off('error', fail);
      ready();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${opts.host}:${port}`;
  const byId = new Map(DEMO_ACCOUNTS.map((a) => [a.username, a]));
  const checkPassword = passwordCheck();
  const jwk = {
    ...createPrivateKey(opts.keys.privateKeyPem).export({ format: 'jwk' }),
    kid: opts.keys.kid,
    alg: 'RS256',
    use: 'sig',
  };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: opts.audience,
        client_name: '政务工作台 EnvWatch console',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [`${opts.webOrigin}/console/callback`],
        post_logout_redirect_uris: [`${opts.webOrigin}/console/`],
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'profile', API_SCOPE, 'offline_access'],
    claims: { openid: ['sub'], profile: ['name'], [API_SCOPE]: ['roles', 'townships', 'uscc'] },
    async findAccount(_ctx, id) {
      const account = byId.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...accountClaims(account) }) };
    },
    // the access token carries what the API decides on: who, roles, townships
    async extraTokenClaims(_ctx, token) {
      const account = 'accountId' in token && token.accountId ? byId.get(token.accountId) : undefined;
      return account ? accountClaims(account) : undefined;
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: API_SCOPE,
          audience: opts.audience,
          accessTokenTTL: 8 * 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    pkce: { required: () => true },
    // the console calls the token endpoint from its own origin: the origins of the client's redirect URIs
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    // sessions, codes and grants live in this process's memory (a restart signs everyone out, as it should locally)
    adapter: MemoryStore,
    // the console is the bureau's own application: what it asks for is granted with the sign-in, no consent screen
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const client = ctx.oidc.client;
      const session = ctx.oidc.session;
      if (!client || !session?.accountId) return undefined;
      const existing = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(`openid profile ${API_SCOPE} offline_access`);
      grant.addOIDCClaims(['name', 'roles', 'townships', 'uscc']);
      grant.addResourceScope(API_RESOURCE, API_SCOPE);
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    ttl: {
      Session: 8 * 3600,
      Interaction: 600,
      Grant: 8 * 3600,
      AuthorizationCode: 60,
      AccessToken: 3600,
      IdToken: 3600,
      RefreshToken: 8 * 3600,
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('登录出错', `<p>${esc(out.error_description ?? out.error)}</p>`);
    },
  });
  const callback = provider.callback();

  const reply = (res: ServerResponse, status: number, html: string) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy':
        // the sign-in form's POST ends in a redirect to the console: a form-action target too
        `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${opts.webOrigin}; frame-ancestors 'none'`,
    });
    res.end(html);
  };

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action?: string) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return reply(res, 400, page('登录已过期', '<p>请返回工作台重新登录。</p>'));
    if (action === 'login' && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const username = (form.get('username') ?? '').trim();
      const password = form.get('password') ?? '';
      const account = byId.get(username);
      // the same refusal for an unknown user and a wrong password
      if (!account || !checkPassword(password)) {
        opts.log('oidc: refused a sign-in (wrong user name or password)');
        return reply(res, 401, loginPage(uid, username, '用户名或密码错误'));
      }
      opts.log(`oidc: ${account.username} signed in`);
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account.username } },
        {
          mergeWithLastSubmission: false,
        },
      );
      return;
    }
    if (details.prompt.name === 'login') return reply(res, 200, loginPage(uid, '', undefined));
    // consent: granted by loadExistingGrant; finishing resumes the authorization
    await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
  }

  server.on('request', (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    const m = /^\/interaction\/([\w-]+)(?:\/(login))?$/.exec(path);
    if (m) {
      interaction(req, res, m[1] as string, m[2]).catch((err: unknown) => {
        opts.log(`oidc: interaction failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) reply(res, 400, page('登录已过期', '<p>请返回工作台重新登录。</p>'));
      });
      return;
    }
    callback(req, res);
  });
  opts.log(`oidc: issuer ${issuer}, ${DEMO_ACCOUNTS.length} demo accounts`);
  return {
    name: 'oidc',
    issuer,
    clientId: opts.audience,
    stop: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** oidc-provider's storage, in memory: one Map per model, entries dropped when they expire. */
class MemoryStore {
  private static readonly stores = new Map<
    string,
    Map<string, { payload: Record<string, unknown>; expires?: number }>
  >();
  private readonly store: Map<string, { payload: Record<string, unknown>; expires?: number }>;

  constructor(name: string) {
    let store = MemoryStore.stores.get(name);
    if (!store) {
      store = new Map();
      MemoryStore.stores.set(name, store);
    }
    this.store = store;
  }

  async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
    this.store.set(id, { payload, ...(expiresIn ? { expires: Date.now() + expiresIn * 1000 } : {}) });
  }

  async find(id: string) {
    const entry = this.store.get(id);
    if (!entry) return undefined;
    if (entry.expires !== undefined && entry.expires < Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode(userCode: string) {
    return this.findBy('userCode', userCode);
  }

  async findByUid(uid: string) {
    return this.findBy('uid', uid);
  }

  async consume(id: string) {
    const entry = this.store.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string) {
    this.store.delete(id);
  }

  async revokeByGrantId(grantId: string) {
    for (const [id, entry] of this.store) if (entry.payload.grantId === grantId) this.store.delete(id);
  }

  private async findBy(field: string, value: string) {
    for (const [id, entry] of this.store) if (entry.payload[field] === value) return this.find(id);
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 16_384) {
        reject(new Error('form too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)} · 庆元县生态环境局</title>
<style>body{font:15px/1.6 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f2f5f4;color:#1b1f23}main{max-width:22rem;margin:10vh auto;background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:1.5rem}h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.55rem;font-size:1rem;border:1px solid #8a949e;border-radius:4px}button{margin-top:1.2rem;width:100%;padding:.65rem;font-size:1rem;background:#0b6e4f;color:#fff;border:0;border-radius:4px;cursor:pointer}.error{color:#b00020;margin:.5rem 0 0}.note{color:#57606a;font-size:.85rem;margin-top:1rem}</style>
</head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

function loginPage(uid: string, username: string, error: string | undefined): string {
  return page(
    '登录 政务工作台',
    `<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="on">
<label for="username">用户名</label><input id="username" name="username" value="${esc(username)}" autocomplete="username" required autofocus>
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password" required${error ? ' aria-describedby="login-error" aria-invalid="true"' : ''}>
${error ? `<p class="error" id="login-error" role="alert">${esc(error)}</p>` : ''}
<button type="submit">登录</button>
</form>
<p class="note">本地平台：示例账号与密码见 README 或 npm start 的输出（示例数据）。</p>`,
  );
}
