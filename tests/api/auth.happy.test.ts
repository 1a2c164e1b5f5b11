import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUTH_COOKIES } from '@keel/contract/auth';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, DATABASE_KINDS, manualClock, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';

for (const database of DATABASE_KINDS) {
  describe(`accounts, happy paths (${database})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ database });
    });
    after(() => t.close());

    test('the first account founds the organization as super_admin and is signed in', async () => {
      const ann = new BrowserClient(t.fetch);
      const res = await ann.request('POST', '/api/auth/signup', {
        email: 'Ann@Example.com',
        password: PASSWORD,
        name: 'Ann',
        organization: 'Acme',
      });
      assert.equal(res.status, 201);
      assert.equal(res.body.user.email, 'ann@example.com');
      assert.match(res.body.user.id, /^usr_/);
      assert.equal(res.body.organization.name, 'Acme');
      assert.equal(res.body.role, 'super_admin');
      assert.equal(typeof res.body.accessToken, 'string');
      assert.equal(res.body.expiresIn, 900);
      assert.equal(res.body.refreshToken, undefined, 'the refresh token never appears in a body');
      assert.ok(ann.cookie(AUTH_COOKIES.refresh));
      const me = await ann.request('GET', '/api/auth/me', undefined, { bearer: true });
      assert.equal(me.status, 200);
      assert.deepEqual(
        { email: me.body.user.email, org: me.body.organization.name, role: me.body.role },
        { email: 'ann@example.com', org: 'Acme', role: 'super_admin' },
      );
    });

    test('login, me by bearer and by cookie, refresh rotation, logout', async () => {
      const c = new BrowserClient(t.fetch);
      const login = await c.request('POST', '/api/auth/login', {
        email: 'ann@example.com',
        password: PASSWORD,
      });
      assert.equal(login.status, 200);
      assert.equal(login.body.user.email, 'ann@example.com');
      const setCookies = login.headers.getSetCookie().join('\n');
      assert.match(setCookies, /keel_refresh=rt_[^;]+;.*HttpOnly/);
      assert.match(setCookies, /SameSite=Strict/);

      assert.equal((await c.request('GET', '/api/auth/me', undefined, { bearer: true })).status, 200);
      assert.equal((await c.request('GET', '/api/auth/me')).status, 200, 'cookie session works for reads');

      const firstRefresh = c.cookie(AUTH_COOKIES.refresh);
      const refreshed = await c.request('POST', '/api/auth/refresh', {});
      assert.equal(refreshed.status, 200);
      assert.notEqual(c.cookie(AUTH_COOKIES.refresh), firstRefresh, 'refresh rotates the token');
      assert.equal((await c.request('GET', '/api/auth/me', undefined, { bearer: true })).status, 200);

      const out = await c.request('POST', '/api/auth/logout');
      assert.equal(out.status, 204);
      assert.equal(c.cookie(AUTH_COOKIES.refresh), undefined, 'logout clears cookies');
      assert.equal((await c.request('GET', '/api/auth/me', undefined, { bearer: true })).status, 401);
    });

    test('non-browser clients refresh with the token in the body', async () => {
      const c = new BrowserClient(t.fetch);
      await c.request('POST', '/api/auth/login', { email: 'ann@example.com', password: PASSWORD });
      const token = c.cookie(AUTH_COOKIES.refresh)!;
      const api = new BrowserClient(t.fetch);
      const res = await api.request('POST', '/api/auth/refresh', { refreshToken: token });
      assert.equal(res.status, 200);
      assert.ok(api.accessToken);
      assert.equal((await api.request('GET', '/api/auth/me', undefined, { bearer: true })).status, 200);
    });

    test('an admin invites; the invitee signs up into that organization with the invited role', async () => {
      const admin = new BrowserClient(t.fetch);
      const login = await admin.request('POST', '/api/auth/login', {
        email: 'ann@example.com',
        password: PASSWORD,
      });
      const me = await admin.request('GET', '/api/auth/me', undefined, { bearer: true });
      const orgId = me.body.organization.id;
      const inv = await admin.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { email: 'bob@example.com', role: 'developer' },
        { bearer: true },
      );
      assert.equal(inv.status, 201, JSON.stringify(inv.body));
      assert.match(inv.body.token, /^inv_/);
      assert.equal(inv.body.invitation.role, 'developer');
      assert.ok(login.body.accessToken);

      const bob = new BrowserClient(t.fetch);
      const signup = await bob.request('POST', '/api/auth/signup', {
        email: 'bob@example.com',
        password: PASSWORD,
        name: 'Bob',
        inviteToken: inv.body.token,
      });
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      assert.equal(signup.body.organization.id, orgId);
      assert.equal(signup.body.role, 'developer');

      const list = await admin.request('GET', `/api/orgs/${orgId}/invitations`, undefined, { bearer: true });
      assert.equal(list.status, 200);
      const listed = list.body.invitations.find((i: { id: string }) => i.id === inv.body.invitation.id);
      assert.ok(listed.acceptedAt, 'the invitation is marked accepted');
      assert.equal(JSON.stringify(list.body).includes(inv.body.token), false, 'tokens are shown once only');
    });

    test('an open invitation can be revoked', async () => {
      const admin = new BrowserClient(t.fetch);
      await admin.request('POST', '/api/auth/login', { email: 'ann@example.com', password: PASSWORD });
      const orgId = (await admin.request('GET', '/api/auth/me', undefined, { bearer: true })).body
        .organization.id;
      const inv = await admin.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { bearer: true },
      );
      const del = await admin.request(
        'DELETE',
        `/api/orgs/${orgId}/invitations/${inv.body.invitation.id}`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.equal(del.status, 204);
      const signup = await new BrowserClient(t.fetch).request('POST', '/api/auth/signup', {
        email: 'carol@example.com',
        password: PASSWORD,
        name: 'Carol',
        inviteToken: inv.body.token,
      });
      assert.equal(signup.status, 403);
      assert.equal(signup.body.error.code, 'invitation_invalid');
    });

    test('the JWKS publishes the signing key', async () => {
      const res = await t.fetch('/.well-known/jwks.json');
      assert.equal(res.status, 200);
      const jwks = (await res.json()) as {
        keys: Array<{ kid: string; kty: string; crv: string; d?: string }>;
      };
      assert.ok(jwks.keys.length >= 1);
      for (const k of jwks.keys) {
        assert.equal(k.kty, 'OKP');
        assert.equal(k.crv, 'Ed25519');
        assert.equal(k.d, undefined, 'no private part');
        assert.match(k.kid, /^key_/);
      }
    });
  });
}

describe('open signup (configuration)', () => {
  test('joins the existing organization as developer when switched on, for allowed domains only', async () => {
    const t = await createTestApp({
      env: { KEEL_OPEN_SIGNUP: 'true', KEEL_OPEN_SIGNUP_DOMAINS: 'example.com' },
    });
    try {
      const first = await new BrowserClient(t.fetch).request('POST', '/api/auth/signup', {
        email: 'root@example.com',
        password: PASSWORD,
        name: 'Root',
      });
      assert.equal(first.status, 201);
      const second = await new BrowserClient(t.fetch).request('POST', '/api/auth/signup', {
        email: 'dev@example.com',
        password: PASSWORD,
        name: 'Dev',
      });
      assert.equal(second.status, 201);
      assert.equal(second.body.role, 'developer');
      assert.equal(second.body.organization.id, first.body.organization.id);
      const outsider = await new BrowserClient(t.fetch).request('POST', '/api/auth/signup', {
        email: 'eve@elsewhere.org',
        password: PASSWORD,
        name: 'Eve',
      });
      assert.equal(outsider.status, 403);
      assert.equal(outsider.body.error.code, 'invitation_required');
    } finally {
      await t.close();
    }
  });
});

describe('signing-key rotation', () => {
  test('a token signed before a rotation still verifies; new tokens use the new key', async () => {
    const clock = manualClock();
    const t = await createTestApp({ clock, env: { KEEL_SIGNING_KEY_ROTATE_SECONDS: '3600' } });
    try {
      const c = new BrowserClient(t.fetch);
      await c.request('POST', '/api/auth/signup', { email: 'k@example.com', password: PASSWORD, name: 'K' });
      const oldToken = c.accessToken!;
      const kidOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[0]!, 'base64url').toString()).kid;
      clock.advance(3600 + 1);
      const refreshed = await c.request('POST', '/api/auth/refresh', {});
      assert.equal(refreshed.status, 200);
      assert.notEqual(kidOf(c.accessToken!), kidOf(oldToken), 'a new key signs after the rotation period');
      // The old token is 1 h old now, past its 15 min life; check it verified right before expiry instead.
      const t2 = await createTestApp({
        clock: manualClock(),
        env: { KEEL_SIGNING_KEY_ROTATE_SECONDS: '60' },
      });
      try {
        const c2 = new BrowserClient(t2.fetch);
        await c2.request('POST', '/api/auth/signup', {
          email: 'r@example.com',
          password: PASSWORD,
          name: 'R',
        });
        const before = c2.accessToken!;
        const kid = await t2.services.keys.rotate();
        assert.notEqual(kid, kidOf(before));
        const me = await c2.request('GET', '/api/auth/me', undefined, { bearer: true });
        assert.equal(me.status, 200, 'tokens signed by the previous key keep working');
        const jwks = await t2.services.keys.jwks();
        assert.ok(jwks.keys.some((k) => k.kid === kidOf(before)));
        assert.ok(jwks.keys.some((k) => k.kid === kid));
      } finally {
        await t2.close();
      }
    } finally {
      await t.close();
    }
  });
});
