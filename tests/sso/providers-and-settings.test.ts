/**
 * Single sign-on providers in the console's API: saved with their client secret sealed (required
 * when adding, kept when left out, never returned), listed with the callback URL to register,
 * another organization's provider a 404; and the sign-in settings (password sign-in off, SSO
 * required) enforced at password sign-in, where the super_admin keeps a way in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { identityProviders, memberships, organizations, users } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { newId } from '../../edge/src/ids.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const SECRET = 'the-client-secret-that-must-never-leave';
const GH_SECRET = 'github-client-secret-that-must-never-leave';

describe('single sign-on providers and sign-in settings (real PostgreSQL and Redis)', () => {
  let t: TestApp;
  let root: BrowserClient;
  let orgId: string;
  const seen: string[] = [];
  const client = () =>
    new BrowserClient((path, init) =>
      t.fetch(path, init).then(async (res) => {
        seen.push(await res.clone().text());
        return res;
      }),
    );

  const oidc = (overrides: Record<string, unknown> = {}) => ({
    issuer: 'https://accounts.google.com',
    clientId: 'keel-web.apps.googleusercontent.com',
    clientSecret: SECRET,
    allowedDomains: ['example.com'],
    ...overrides,
  });
  const save = (body: Record<string, unknown>) => root.request('PUT', '/api/admin/sign-in/providers', body);

  before(async () => {
    t = await createTestApp({
      database: 'postgres',
      env: { KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '1000', KEEL_PUBLIC_URL: 'https://keel.example.com' },
    });
    root = client();
    const res = await root.request('POST', '/api/auth/signup', {
      email: 'root@example.com',
      password: PASSWORD,
      name: 'Root',
    });
    assert.equal(res.status, 201);
    orgId = res.body.organization.id;
  });

  after(async () => {
    await t?.close();
  });

  test('an OIDC provider is saved with its secret sealed, listed with its callback URL, and never shows the secret', async () => {
    const noSecret = await save({
      kind: 'google',
      name: 'Google',
      slug: 'google',
      config: oidc({ clientSecret: undefined }),
    });
    assert.equal(noSecret.status, 422, 'adding needs the client secret');
    assert.equal(noSecret.body.error.issues[0].path, 'config.clientSecret');

    const created = await save({ kind: 'google', name: 'Google', slug: 'google', config: oidc() });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.kind, 'google');
    assert.equal(created.body.callbackUrl, 'https://keel.example.com/api/auth/sso/google/callback');
    assert.equal(created.body.config.hasClientSecret, true);
    assert.equal('clientSecret' in created.body.config, false);
    assert.deepEqual(created.body.config.scopes, ['openid', 'email', 'profile']);

    const [row] = await t.services.db
      .select()
      .from(identityProviders)
      .where(eq(identityProviders.id, created.body.id));
    assert.ok(row?.secretSealed && !row.secretSealed.includes(SECRET));
    assert.equal(JSON.stringify(row.config).includes(SECRET), false);

    // Left out on update: kept.
    const { clientSecret: _, ...withoutSecret } = oidc({ allowedDomains: ['example.org'] });
    const renamed = await save({
      id: created.body.id,
      kind: 'google',
      name: 'Google Workspace',
      slug: 'google',
      config: withoutSecret,
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.config.hasClientSecret, true);
    assert.deepEqual(renamed.body.config.allowedDomains, ['example.org']);
    const [kept] = await t.services.db
      .select()
      .from(identityProviders)
      .where(eq(identityProviders.id, created.body.id));
    assert.equal(kept?.secretSealed, row.secretSealed);

    const kindChange = await save({
      id: created.body.id,
      kind: 'entra',
      name: 'x',
      slug: 'google',
      config: oidc(),
    });
    assert.equal(kindChange.status, 400);
    assert.equal(kindChange.body.error.code, 'bad_request');

    const gh = await save({
      kind: 'github',
      name: 'GitHub',
      slug: 'github',
      config: { clientId: 'Iv1.abc', clientSecret: GH_SECRET, requiredOrganizations: ['keel-dev'] },
    });
    assert.equal(gh.status, 201, JSON.stringify(gh.body));
    assert.equal(gh.body.config.webUrl, 'https://github.com');
    assert.equal(gh.body.callbackUrl, 'https://keel.example.com/api/auth/sso/github/callback');

    const list = await root.request('GET', '/api/admin/sign-in/providers');
    assert.deepEqual(
      list.body.providers.map((p: any) => [p.slug, p.kind, p.config.hasClientSecret]),
      [
        ['github', 'github', true],
        ['google', 'google', true],
      ],
    );

    const publicList = await client().request('GET', '/api/auth/providers');
    assert.deepEqual(
      publicList.body.providers.map((p: any) => [p.slug, p.startUrl]),
      [
        ['github', '/api/auth/sso/github/start'],
        ['google', '/api/auth/sso/google/start'],
      ],
    );
    assert.equal(publicList.body.passwordSignIn, true);
  });

  test('bad bodies answer 4xx with the error body', async () => {
    for (const body of [
      { kind: 'oidc', name: 'x', slug: 'plain-http', config: oidc({ issuer: 'http://idp.example.com' }) },
      { kind: 'oidc', name: 'x', slug: 'Bad Slug', config: oidc() },
      { kind: 'saml', name: 'x', slug: 'saml', config: oidc() },
      { kind: 'oidc', name: 'x', slug: 'extra', config: { ...oidc(), surprise: true } },
      {
        kind: 'github',
        name: 'x',
        slug: 'gh-bad',
        config: { clientId: 'a', clientSecret: 'b', requiredOrganizations: ['no/slash'] },
      },
      {
        kind: 'entra',
        name: 'x',
        slug: 'entra-bad',
        config: oidc({ groupRoleMap: [{ group: 'g', role: 'owner' }] }),
      },
    ]) {
      const res = await save(body);
      assert.ok(res.status === 400 || res.status === 422, `${JSON.stringify(body)} → ${res.status}`);
      assert.equal(typeof res.body.error.code, 'string');
      assert.equal(typeof res.body.error.requestId, 'string');
    }
    const notJson = await root.request('PUT', '/api/admin/sign-in/settings', undefined, {
      headers: { 'content-type': 'application/json' },
    });
    assert.ok(notJson.status >= 400 && notJson.status < 500);
    const badSettings = await root.request('PUT', '/api/admin/sign-in/settings', {
      passwordEnabled: 'no',
      requireSso: false,
      defaultRole: 'developer',
    });
    assert.equal(badSettings.status, 422);
  });

  test('another organization’s provider id is a 404; a role without signin:manage gets 403', async () => {
    const [other] = await t.services.db
      .insert(organizations)
      .values({ id: newId('organization'), name: 'Elsewhere' })
      .returning();
    const [foreign] = await t.services.db
      .insert(identityProviders)
      .values({
        id: newId('identityProvider'),
        organizationId: other!.id,
        kind: 'oidc',
        name: 'Foreign',
        slug: 'foreign-oidc',
        // Disabled, so that the public list's passwordSignIn is this organization's alone below.
        enabled: false,
        config: { issuer: 'https://idp.example.com', clientId: 'x' },
      })
      .returning();
    const update = await save({
      id: foreign!.id,
      kind: 'oidc',
      name: 'Mine now',
      slug: 'foreign-oidc',
      config: oidc(),
    });
    assert.equal(update.status, 404);
    assert.equal((await root.request('DELETE', `/api/admin/sign-in/providers/${foreign!.id}`)).status, 404);

    const dev = await member('dev@example.com', 'developer');
    for (const [method, path, body] of [
      ['GET', '/api/admin/sign-in/settings', undefined],
      [
        'PUT',
        '/api/admin/sign-in/settings',
        { passwordEnabled: true, requireSso: false, defaultRole: 'viewer' },
      ],
      ['PUT', '/api/admin/sign-in/providers', { kind: 'oidc', name: 'x', slug: 'x-oidc', config: oidc() }],
    ] as const) {
      const res = await dev.request(method, path, body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.error.code, 'forbidden');
    }
  });

  async function member(email: string, role: 'viewer' | 'developer' | 'admin' | 'super_admin') {
    const id = newId('user');
    await t.services.db
      .insert(users)
      .values({ id, email, name: email, passwordHash: await hashPassword(PASSWORD) });
    await t.services.db.insert(memberships).values({ userId: id, organizationId: orgId, role });
    const c = client();
    const res = await c.request('POST', '/api/auth/login', { email, password: PASSWORD });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return c;
  }

  test('password sign-in off, or SSO required, refuses password sign-in except for the super_admins', async () => {
    const initial = await root.request('GET', '/api/admin/sign-in/settings');
    assert.deepEqual(initial.body, { passwordEnabled: true, requireSso: false, defaultRole: 'developer' });
    await member('ada@example.com', 'admin');

    // Without an enabled provider nobody but the super_admins could sign in: refused.
    await t.services.db
      .update(identityProviders)
      .set({ enabled: false })
      .where(eq(identityProviders.organizationId, orgId));
    const refused = await root.request('PUT', '/api/admin/sign-in/settings', {
      passwordEnabled: true,
      requireSso: true,
      defaultRole: 'developer',
    });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /needs an enabled sign-in provider/);
    await t.services.db
      .update(identityProviders)
      .set({ enabled: true })
      .where(and(eq(identityProviders.organizationId, orgId), eq(identityProviders.slug, 'google')));

    for (const settings of [
      { passwordEnabled: false, requireSso: false, defaultRole: 'viewer' },
      { passwordEnabled: true, requireSso: true, defaultRole: 'viewer' },
    ]) {
      const saved = await root.request('PUT', '/api/admin/sign-in/settings', settings);
      assert.equal(saved.status, 200, JSON.stringify(saved.body));
      assert.deepEqual(saved.body, settings);
      const ada = await client().request('POST', '/api/auth/login', {
        email: 'ada@example.com',
        password: PASSWORD,
      });
      assert.equal(ada.status, 403);
      assert.equal(ada.body.error.code, 'password_sign_in_disabled');
      const wrong = await client().request('POST', '/api/auth/login', {
        email: 'ada@example.com',
        password: 'nope nope nope',
      });
      assert.equal(wrong.status, 401, 'a wrong password still says only that');
      const way = await client().request('POST', '/api/auth/login', {
        email: 'root@example.com',
        password: PASSWORD,
      });
      assert.equal(way.status, 200, 'the super_admin keeps a way in');
      assert.equal((await client().request('GET', '/api/auth/providers')).body.passwordSignIn, false);
    }
    const back = await root.request('PUT', '/api/admin/sign-in/settings', {
      passwordEnabled: true,
      requireSso: false,
      defaultRole: 'developer',
    });
    assert.equal(back.status, 200);
    const ada = await client().request('POST', '/api/auth/login', {
      email: 'ada@example.com',
      password: PASSWORD,
    });
    assert.equal(ada.status, 200);
  });

  test('the client secrets appear in no response', () => {
    assert.ok(seen.length > 10);
    for (const text of seen) {
      assert.equal(text.includes(SECRET), false);
      assert.equal(text.includes(GH_SECRET), false);
    }
  });
});
