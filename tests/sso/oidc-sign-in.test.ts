/**
 * OpenID Connect sign-in against a real OpenID Provider (the `oidc-provider` package, its own
 * login and consent pages driven over HTTP) with clients shaped like Google (`hd`) and Entra ID
 * (`tid`, `groups`); real PostgreSQL and Redis. Each refusal ends at `/sign-in?sso_error=<code>`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents, memberships, organizations, userIdentities, users } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { sha256Hex } from '../../edge/src/auth/bytes.ts';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { newId } from '../../edge/src/ids.ts';
import { ssoStateKey } from '../../edge/src/redis-keys.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { type OidcProviderServer, signInAtProvider, startOidcProvider } from '../harness/oidc-provider.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const KEEL = 'http://keel.test';
const TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const SLUGS = ['google', 'entra', 'generic', 'strict', 'foreign-keys'];
const secretOf = (clientId: string) => `${clientId}-secret-${'x'.repeat(16)}`;

describe('OpenID Connect sign-in against a real OpenID Provider (Google and Entra ID presets)', () => {
  let t: TestApp;
  let idp: OidcProviderServer;
  /** A second, unrelated provider: its tokens must never sign anyone in at the first one's clients. */
  let foreign: OidcProviderServer;
  let root: BrowserClient;
  let orgId: string;
  const seen: string[] = [];
  const client = () =>
    new BrowserClient((path, init) =>
      t.fetch(path, init).then(async (res) => {
        seen.push(await res.clone().text(), JSON.stringify([...res.headers]));
        return res;
      }),
    );

  const save = async (slug: string, kind: string, config: Record<string, unknown>) => {
    const res = await root.request('PUT', '/api/admin/sign-in/providers', {
      kind,
      name: `Sign in ${slug}`,
      slug,
      config: {
        issuer: idp.issuer,
        clientId: `keel-${slug}`,
        clientSecret: secretOf(`keel-${slug}`),
        insecure: true,
        ...config,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };

  /** Start at Keel, sign in at the provider's pages, and stop before the callback. */
  async function startAndSignIn(slug: string, account: string, c = client(), returnTo?: string) {
    const query = returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : '';
    const start = await c.request('GET', `/api/auth/sso/${slug}/start${query}`);
    assert.equal(start.status, 302, JSON.stringify(start.body));
    const authorization = start.headers.get('location')!;
    assert.ok(authorization.startsWith(`${idp.issuer}/`), authorization);
    const callback = await signInAtProvider(authorization, account, `${KEEL}/`);
    return { c, callback, state: new URL(authorization).searchParams.get('state')! };
  }

  async function callbackAt(c: BrowserClient, callback: URL) {
    const res = await c.request('GET', callback.pathname + callback.search);
    assert.equal(res.status, 302, JSON.stringify(res.body));
    return res.headers.get('location')!;
  }

  async function signIn(slug: string, account: string, returnTo?: string) {
    const { c, callback } = await startAndSignIn(slug, account, client(), returnTo);
    return { c, location: await callbackAt(c, callback), callback };
  }

  before(async () => {
    const clients = SLUGS.map((slug) => ({
      clientId: `keel-${slug}`,
      clientSecret: secretOf(`keel-${slug}`),
      redirectUris: [`${KEEL}/api/auth/sso/${slug}/callback`],
    }));
    [idp, foreign, t] = await Promise.all([
      startOidcProvider(clients),
      startOidcProvider(clients),
      createTestApp({ database: 'postgres', env: { KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } }),
    ]);
    idp.accounts.set('ann', {
      email: 'ann@example.com',
      email_verified: true,
      name: 'Ann Google',
      hd: 'example.com',
    });
    idp.accounts.set('outsider', { email: 'o@gmail.test', email_verified: true, name: 'No Workspace' });
    idp.accounts.set('other-domain', { email: 'x@other.test', email_verified: true, hd: 'other.test' });
    idp.accounts.set('bob', {
      email: 'bob@contoso.test',
      name: 'Bob Entra',
      tid: TENANT,
      groups: ['g-admins', 'g-devs'],
    });
    idp.accounts.set('carl', { email: 'carl@contoso.test', name: 'Carl', tid: TENANT, groups: ['g-devs'] });
    idp.accounts.set('guest', { email: 'guest@fabrikam.test', tid: '00000000-0000-0000-0000-000000000001' });
    idp.accounts.set('fake-root', { email: 'root@example.com', email_verified: false, name: 'Not Root' });
    idp.accounts.set('member', { email: 'member@example.com', email_verified: true, name: 'Member' });
    idp.accounts.set('elsewhere', { email: 'elsewhere@example.com', email_verified: true });
    idp.accounts.set('nogroups', { email: 'nogroups@example.com', email_verified: true });

    root = client();
    const res = await root.request('POST', '/api/auth/signup', {
      email: 'root@example.com',
      password: PASSWORD,
      name: 'Root',
    });
    assert.equal(res.status, 201);
    orgId = res.body.organization.id;
    await save('google', 'google', { allowedDomains: ['example.com'] });
    await save('entra', 'entra', {
      tenantId: TENANT,
      trustEmail: true,
      groupRoleMap: [
        { group: 'g-devs', role: 'developer' },
        { group: 'g-admins', role: 'admin' },
      ],
    });
    await save('generic', 'oidc', {});
    await save('strict', 'oidc', { defaultRole: null, groupRoleMap: [{ group: 'g-devs', role: 'viewer' }] });
  });

  after(async () => {
    await t?.close();
    await idp?.stop();
    await foreign?.stop();
  });

  test('Google preset: a Workspace person signs in, is created without a password, and lands where they asked', async () => {
    const { c, location } = await signIn('google', 'ann', '/workspaces?tab=mine');
    assert.equal(location, '/workspaces?tab=mine');
    const me = await c.request('GET', '/api/auth/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, 'ann@example.com');
    assert.equal(me.body.role, 'developer', 'the organization’s default role');
    const [row] = await t.services.db.select().from(users).where(eq(users.id, me.body.user.id));
    assert.equal(row?.source, 'oidc');
    assert.equal(row?.passwordHash, null);
    assert.ok(row?.lastSignInAt);
    // The session is an ordinary one: it refreshes and signs out like a password session.
    const refreshed = await c.request('POST', '/api/auth/refresh', {});
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    // A second sign-in finds the same person through the link.
    const again = await signIn('google', 'ann');
    assert.equal(again.location, '/');
    assert.equal((await again.c.request('GET', '/api/auth/me')).body.user.id, me.body.user.id);
  });

  test('Google preset: accounts outside the allowed Workspace domains are refused', async () => {
    assert.equal((await signIn('google', 'outsider')).location, '/sign-in?sso_error=domain_not_allowed');
    assert.equal((await signIn('google', 'other-domain')).location, '/sign-in?sso_error=domain_not_allowed');
  });

  test('Entra ID preset: the tenant is checked and groups map to the highest role, again at each sign-in', async () => {
    const bob = await signIn('entra', 'bob');
    assert.equal(bob.location, '/');
    assert.equal((await bob.c.request('GET', '/api/auth/me')).body.role, 'admin');
    const carl = await signIn('entra', 'carl');
    assert.equal((await carl.c.request('GET', '/api/auth/me')).body.role, 'developer');

    idp.accounts.set('bob', { ...idp.accounts.get('bob')!, groups: ['g-devs'] });
    const demoted = await signIn('entra', 'bob');
    assert.equal((await demoted.c.request('GET', '/api/auth/me')).body.role, 'developer');
    assert.equal(
      (await bob.c.request('GET', '/api/auth/me')).body.role,
      'developer',
      'the session opened under the old role reads the new one at once',
    );

    assert.equal((await signIn('entra', 'guest')).location, '/sign-in?sso_error=tenant_not_allowed');
  });

  test('a wrong state, a callback in another browser, and a replayed callback are refused', async () => {
    const first = await startAndSignIn('generic', 'member');
    const forged = new URL(first.callback);
    forged.searchParams.set('state', 'not-the-state');
    assert.equal(await callbackAt(first.c, forged), '/sign-in?sso_error=state_mismatch');

    // The genuine callback, opened by someone else's browser (login CSRF): no binding cookie.
    const second = await startAndSignIn('generic', 'member');
    assert.equal(await callbackAt(client(), second.callback), '/sign-in?sso_error=state_mismatch');
    // That spent the state: not even the right browser may use it now.
    assert.equal(await callbackAt(second.c, second.callback), '/sign-in?sso_error=state_mismatch');

    const third = await startAndSignIn('generic', 'member');
    assert.equal(await callbackAt(third.c, third.callback), '/');
    assert.equal(await callbackAt(third.c, third.callback), '/sign-in?sso_error=state_mismatch', 'replayed');

    // The used code, carried by a fresh state of the same browser: the provider refuses it.
    const fourth = await startAndSignIn('generic', 'member', third.c);
    const replayed = new URL(fourth.callback);
    replayed.searchParams.set('code', third.callback.searchParams.get('code')!);
    assert.equal(await callbackAt(third.c, replayed), '/sign-in?sso_error=token_rejected');

    // A state started for one provider, brought to another's callback.
    const fifth = await startAndSignIn('generic', 'member');
    const crossed = new URL(fifth.callback.toString().replace('/sso/generic/', '/sso/google/'));
    assert.equal(await callbackAt(fifth.c, crossed), '/sign-in?sso_error=state_mismatch');
  });

  test('an ID token whose nonce is not the one this browser was given is refused', async () => {
    const { c, callback, state } = await startAndSignIn('generic', 'member');
    const key = ssoStateKey(t.services, sha256Hex(state));
    const stored = JSON.parse((await t.services.redis().get(key))!);
    await t.services.redis().set(key, JSON.stringify({ ...stored, nonce: 'forged-nonce' }), 'EX', 60);
    assert.equal(await callbackAt(c, callback), '/sign-in?sso_error=token_rejected');
  });

  test('ID tokens for another audience, from a foreign issuer, or signed by another key are refused', async () => {
    const substitutes: Array<[string, (claims: Record<string, unknown>) => Promise<string>]> = [
      ['another audience', (claims) => idp.sign({ ...claims, aud: 'keel-strict' })],
      ['a foreign issuer', (claims) => foreign.sign({ ...claims, iss: foreign.issuer })],
      ['the right issuer, another key', (claims) => foreign.sign(claims)],
      ['no signature', async (claims) => `${b64({ alg: 'none' })}.${b64(claims)}.`],
    ];
    try {
      for (const [what, make] of substitutes) {
        idp.tamperTokens = async (body) => {
          const { iat: _, exp: __, ...claims } = decodeJwt(String(body.id_token));
          return { ...body, id_token: await make(claims) };
        };
        const { location } = await signIn('generic', 'member');
        assert.equal(location, '/sign-in?sso_error=token_rejected', what);
      }
      // The untouched token still works, so the refusals above were the substitutions'.
      idp.tamperTokens = async (body) => body;
      assert.equal((await signIn('generic', 'member')).location, '/');
    } finally {
      idp.tamperTokens = undefined;
    }
  });

  test('a client id the provider does not know for this callback is refused (the provider’s error comes back)', async () => {
    const saved = await root.request('PUT', '/api/admin/sign-in/providers', {
      kind: 'oidc',
      name: 'Mismatched',
      slug: 'mismatched',
      config: {
        issuer: idp.issuer,
        clientId: 'keel-generic',
        clientSecret: secretOf('keel-generic'),
        insecure: true,
      },
    });
    assert.equal(saved.status, 201);
    const c = client();
    const start = await c.request('GET', '/api/auth/sso/mismatched/start');
    assert.equal(start.status, 302);
    // keel-generic did not register .../mismatched/callback: the provider shows its error page.
    await assert.rejects(
      signInAtProvider(start.headers.get('location')!, 'member', `${KEEL}/`),
      /answered 400/,
    );
  });

  test('an unverified e-mail does not link to an existing account; a verified one of a member does', async () => {
    const { location } = await signIn('generic', 'fake-root');
    assert.equal(location, '/sign-in?sso_error=email_unverified');
    const [rootUser] = await t.services.db.select().from(users).where(eq(users.email, 'root@example.com'));
    const links = await t.services.db
      .select()
      .from(userIdentities)
      .where(eq(userIdentities.userId, rootUser!.id));
    assert.equal(links.length, 0);

    const memberId = newId('user');
    await t.services.db.delete(users).where(eq(users.email, 'member@example.com'));
    await t.services.db.insert(users).values({
      id: memberId,
      email: 'member2@example.com',
      name: 'Member Two',
      passwordHash: await hashPassword(PASSWORD),
    });
    await t.services.db
      .insert(memberships)
      .values({ userId: memberId, organizationId: orgId, role: 'admin' });
    idp.accounts.set('member2', { email: 'member2@example.com', email_verified: true });
    const linked = await signIn('generic', 'member2');
    assert.equal(linked.location, '/');
    const me = (await linked.c.request('GET', '/api/auth/me')).body;
    assert.equal(me.user.id, memberId);
    assert.equal(me.role, 'admin', 'no mapped group: the member keeps their role');

    // A verified address of someone in another organization only: not taken over.
    const [other] = await t.services.db
      .insert(organizations)
      .values({ id: newId('organization'), name: 'Other' })
      .returning();
    const outsiderId = newId('user');
    await t.services.db.insert(users).values({ id: outsiderId, email: 'elsewhere@example.com', name: 'E' });
    await t.services.db
      .insert(memberships)
      .values({ userId: outsiderId, organizationId: other!.id, role: 'super_admin' });
    assert.equal((await signIn('generic', 'elsewhere')).location, '/sign-in?sso_error=account_exists');
  });

  test('no mapped group and no default role is refused; a disabled membership is refused', async () => {
    assert.equal((await signIn('strict', 'nogroups')).location, '/sign-in?sso_error=no_role');
    // carl came through the Entra ID provider, whose addresses are trusted; this one does not
    // verify them, so it cannot link to carl's account.
    assert.equal((await signIn('strict', 'carl')).location, '/sign-in?sso_error=email_unverified');
    idp.accounts.set('dana', { email: 'dana@example.com', email_verified: true, groups: ['g-devs'] });
    const dana = await signIn('strict', 'dana');
    assert.equal(dana.location, '/');
    const me = (await dana.c.request('GET', '/api/auth/me')).body;
    assert.equal(me.role, 'viewer');
    const danaId = me.user.id;
    await t.services.db
      .update(memberships)
      .set({ disabledAt: new Date() })
      .where(and(eq(memberships.userId, danaId), eq(memberships.organizationId, orgId)));
    assert.equal((await signIn('strict', 'dana')).location, '/sign-in?sso_error=account_disabled');
  });

  test('malformed requests answer 4xx with the error body; unknown providers 404; the provider’s error is relayed as a code', async () => {
    const c = client();
    for (const path of [
      `/api/auth/sso/generic/callback?code=${'x'.repeat(5000)}&state=s`,
      '/api/auth/sso/generic/callback?=x',
      '/api/auth/sso/Not_A_Slug/start',
      '/api/auth/sso/generic/start?returnTo=https://evil.test/',
      '/api/auth/sso/generic/start?returnTo=//evil.test/',
      '/api/auth/sso/generic/start?surprise=1',
    ]) {
      const res = await c.request('GET', path);
      assert.ok(res.status >= 400 && res.status < 500, `${path} → ${res.status}`);
      assert.equal(typeof res.body.error.requestId, 'string', path);
    }
    const unknown = await c.request('GET', '/api/auth/sso/no-such-provider/start');
    assert.equal(unknown.status, 404);

    const { c: browser, state } = await startAndSignIn('generic', 'member');
    const declined = await browser.request(
      'GET',
      `/api/auth/sso/generic/callback?error=access_denied&state=${state}`,
    );
    assert.equal(declined.headers.get('location'), '/sign-in?sso_error=provider_error');
    const noState = await browser.request('GET', '/api/auth/sso/generic/callback?code=abc');
    assert.equal(noState.headers.get('location'), '/sign-in?sso_error=state_mismatch');
  });

  test('sign-ins are audited, and no client secret appears in any response', async () => {
    const rows = await t.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'auth.sso_login'));
    assert.ok(rows.some((r) => r.outcome === 'success'));
    assert.ok(rows.some((r) => r.outcome !== 'success'));
    const haystack = [...seen, JSON.stringify(rows)];
    assert.ok(seen.length > 40);
    for (const slug of SLUGS) {
      const secret = secretOf(`keel-${slug}`);
      for (const text of haystack) assert.equal(text.includes(secret), false, `${slug}'s secret leaked`);
    }
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
