import * as oauth from 'oauth4webapi';
import { config } from './config.ts';

/**
 * Sign-in with OpenID Connect, authorization code + PKCE (oauth4webapi; the console is a public client, no secret),
 * against whichever issuer the deployment names: Cognito, Keycloak, Authing, the bureau's own, or the local platform's
 * provider. The access token (a JWT for the API) lives in sessionStorage for this tab only; signing out forgets it and
 * ends the provider's session.
 */
export interface SignedIn {
  accessToken: string;
  expiresAt: number;
  idToken?: string;
  user: User;
}

/** Who is signed in, as the token says: for showing and hiding, never for deciding (the API decides). */
export interface User {
  sub: string;
  name: string;
  roles: string[];
  /** township ids; `*` = county-wide */
  townships: string[];
}

const SESSION = 'envwatch.session';
const PENDING = 'envwatch.signin';

/** loopback issuers (the local platform) may use http; anything else must be https */
const insecure = (issuer: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);

let server: oauth.AuthorizationServer | undefined;

async function authorizationServer(): Promise<oauth.AuthorizationServer> {
  if (server) return server;
  const issuer = new URL(config().login.issuer);
  const options = insecure(issuer) ? { [oauth.allowInsecureRequests]: true } : {};
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options });
  server = await oauth.processDiscoveryResponse(issuer, response);
  return server;
}

const client = (): oauth.Client => ({ client_id: config().login.clientId });
const redirectUri = () => `${location.origin}/console/callback`;
const requestOptions = () => {
  const issuer = new URL(config().login.issuer);
  return insecure(issuer) ? { [oauth.allowInsecureRequests]: true } : {};
};

function decodeClaims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  const json = decodeURIComponent(
    atob(part.replace(/-/g, '+').replace(/_/g, '/'))
      .split('')
      .map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
      .join(''),
  );
  return JSON.parse(json) as Record<string, unknown>;
}

const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : [];

export function userOf(accessToken: string): User {
  const c = decodeClaims(accessToken);
  return {
    sub: String(c.sub ?? ''),
    name: typeof c.name === 'string' ? c.name : String(c.sub ?? ''),
    roles: [...list(c.roles), ...list(c['cognito:groups'])],
    townships: list(c.townships),
  };
}

/** Goes to the identity provider's sign-in page; comes back to /console/callback. */
export async function signIn(returnTo: string): Promise<never> {
  const as = await authorizationServer();
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo }));
  const url = new URL(as.authorization_endpoint as string);
  url.searchParams.set('client_id', client().client_id);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'openid profile envwatch');
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  location.assign(url.href);
  return new Promise<never>(() => undefined);
}

/** Finishes the sign-in on /console/callback; returns where the user was going. */
export async function completeSignIn(current: URL): Promise<string> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as {
    verifier: string;
    state: string;
    returnTo: string;
  } | null;
  if (!pending) throw new Error('没有进行中的登录，请重新登录');
  sessionStorage.removeItem(PENDING);
  const as = await authorizationServer();
  const params = oauth.validateAuthResponse(as, client(), current, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client(),
    oauth.None(),
    params,
    redirectUri(),
    pending.verifier,
    requestOptions(),
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client(), response);
  const session: SignedIn = {
    accessToken: result.access_token,
    expiresAt: Date.now() + (result.expires_in ?? 3600) * 1000,
    ...(result.id_token ? { idToken: result.id_token } : {}),
    user: userOf(result.access_token),
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return pending.returnTo;
}

export function currentSession(): SignedIn | undefined {
  const s = JSON.parse(sessionStorage.getItem(SESSION) ?? 'null') as SignedIn | null;
  if (!s || s.expiresAt <= Date.now() + 30_000) return undefined;
  return s;
}

export function forget(): void {
  sessionStorage.removeItem(SESSION);
}

/** Forgets the token and ends the provider's session (RP-initiated logout), back to the console's start. */
export async function signOut(): Promise<void> {
  const session = currentSession();
  forget();
  const as = await authorizationServer();
  if (!as.end_session_endpoint) {
    location.assign('/console/');
    return;
  }
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('client_id', client().client_id);
  url.searchParams.set('post_logout_redirect_uri', `${location.origin}/console/`);
  if (session?.idToken) url.searchParams.set('id_token_hint', session.idToken);
  location.assign(url.href);
}
