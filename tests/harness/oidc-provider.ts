/**
 * A real OpenID Provider for the tests: the `oidc-provider` package (the certified Node
 * implementation), in-process on a free loopback port over http, with its own development
 * login and consent pages. Accounts and their claims are the test's; clients may be shaped like
 * Google (an `hd` claim) or Microsoft Entra ID (`tid`, `groups`).
 *
 * `tamperTokens` lets a test rewrite the token endpoint's answer on its way out (a substituted
 * ID token, as a hostile network or provider would send); `sign` mints a token with this
 * provider's own key, for forgeries that only the claims give away.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
// @ts-expect-error The package ships no type declarations; the few calls here are typed below.
import Provider from 'oidc-provider';
import { freePort } from './ports.ts';

export interface OidcAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  hd?: string;
  tid?: string;
  groups?: string[];
}

export interface OidcClientSpec {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface OidcProviderServer {
  issuer: string;
  accounts: Map<string, OidcAccount>;
  /** Rewrites the JSON answer of the token endpoint, when set. */
  tamperTokens: ((body: Record<string, unknown>) => Promise<Record<string, unknown>>) | undefined;
  /** A JWT signed with this provider's signing key. */
  sign(claims: JWTPayload): Promise<string>;
  stop(): Promise<void>;
}

export async function startOidcProvider(clients: OidcClientSpec[]): Promise<OidcProviderServer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = {
    ...(await exportJWK(privateKey)),
    kid: randomBytes(8).toString('hex'),
    alg: 'RS256',
    use: 'sig',
  };
  const accounts = new Map<string, OidcAccount>();

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    // Google and Entra ID put these in the ID token itself; scope claims there too, as Google does.
    claims: {
      openid: ['sub', 'hd', 'tid', 'groups'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
  });
  // Quiet: the development interactions warn on every start.
  provider.on('server_error', (_ctx: unknown, err: unknown) =>
    console.error('oidc-provider server_error', err),
  );

  const server: OidcProviderServer = {
    issuer,
    accounts,
    tamperTokens: undefined,
    sign: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid! })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey),
    stop: () => new Promise<void>((r) => http.close(() => r())),
  };
  provider.use(async (ctx: { path: string; status: number; body: unknown }, next: () => Promise<void>) => {
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && server.tamperTokens && ctx.body) {
      ctx.body = await server.tamperTokens(ctx.body as Record<string, unknown>);
    }
  });

  const http: Server = createServer(provider.callback());
  await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
  return server;
}

/** A cookie jar for one host, as a browser keeps it (enough for the provider's own cookies). */
class Jar {
  private readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  absorb(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/**
 * Goes through the provider's pages with plain HTTP, as a person would in a browser: from the
 * authorization URL, the login form (account id, any password) and the consent form, following
 * the provider's redirects until it sends the browser to `callbackPrefix`. Returns that URL.
 */
export async function signInAtProvider(
  authorizationUrl: string,
  accountId: string,
  callbackPrefix: string,
): Promise<URL> {
  const jar = new Jar();
  let url = authorizationUrl;
  let body: URLSearchParams | undefined;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(callbackPrefix)) return new URL(url);
    const res = await fetch(url, {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
    });
    jar.absorb(res.headers);
    body = undefined;
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).toString();
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`the provider answered ${res.status}: ${html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no form on the provider's page: ${html.slice(0, 500)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).toString();
    body =
      prompt === 'login'
        ? new URLSearchParams({ prompt, login: accountId, password: 'any password' })
        : new URLSearchParams({ prompt });
  }
  throw new Error('too many hops at the provider');
}
