import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUTH_COOKIES, CSRF_HEADER } from '@keel/contract/auth';
import { users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { generateKeyPair, SignJWT } from 'jose';
import { BrowserClient } from '../harness/browser-client.ts';
import { withinOneRateWindow } from '../harness/rate-window.ts';
import { createTestApp, DATABASE_KINDS, manualClock, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

for (const database of DATABASE_KINDS) {
  describe(`accounts, security (${database})`, () => {
    let t: TestApp;
    let admin: BrowserClient;
    let orgId: string;
    before(async () => {
      t = await createTestApp({ database });
      admin = new BrowserClient(t.fetch);
      const res = await admin.request('POST', '/api/auth/signup', {
        email: 'root@example.com',
        password: PASSWORD,
        name: 'Root',
      });
      orgId = res.body.organization.id;
    });
    after(() => t.close());

    const me = (token: string) => t.fetch('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });

    test('forged tokens are refused: alg none, foreign key, tampered claims, HS256 confusion, garbage', async () => {
      const good = admin.accessToken!;
      const [header, payload] = good.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const kid = JSON.parse(Buffer.from(header, 'base64url').toString()).kid;

      const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      const tampered = `${header}.${b64url({ ...claims, role: 'super_admin', sub: 'usr_aaaaaaaaaaaaaaaaaaaa' })}.${good.split('.')[2]}`;
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid }).sign(privateKey);
      const jwks = (await (await t.fetch('/.well-known/jwks.json')).json()) as { keys: Array<{ x: string }> };
      const hs = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid })
        .sign(new TextEncoder().encode(jwks.keys[0]!.x));

      for (const [name, token] of Object.entries({ none, tampered, foreign, hs, garbage: 'a.b.c' })) {
        const res = await me(token);
        assert.equal(res.status, 401, name);
        assert.equal(((await res.json()) as any).error.code, 'invalid_token', name);
      }
      const malformed = await t.fetch('/api/auth/me', { headers: { authorization: 'Basic abc' } });
      assert.equal(malformed.status, 401);
      assert.equal((await me(good)).status, 200, 'the genuine token still works');
    });

    test('tokens signed with the app signing key but for another issuer or audience are refused', async () => {
      // The app's current signing key, as its own store holds it: only the claims differ.
      const store = t.services.keys as unknown as {
        currentKey(): Promise<{ kid: string }>;
        privateKeyFor(key: { kid: string }): Promise<CryptoKey>;
      };
      const key = await store.currentKey();
      const privateKey = await store.privateKeyFor(key);
      const good = admin.accessToken!;
      const claims = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString());
      const issuer = claims.iss as string;
      const audience = claims.aud as string;
      const signed = (iss: string, aud: string) =>
        new SignJWT({ org: claims.org, sid: claims.sid, role: claims.role })
          .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
          .setSubject(claims.sub)
          .setIssuer(iss)
          .setAudience(aud)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);

      for (const [name, token] of Object.entries({
        'another issuer': await signed('https://other.example', audience),
        'another audience': await signed(issuer, 'other-api'),
      })) {
        const res = await me(token);
        assert.equal(res.status, 401, name);
        assert.equal(((await res.json()) as any).error.code, 'invalid_token', name);
      }
      assert.equal(
        (await me(await signed(issuer, audience))).status,
        200,
        'the same token with the right claims',
      );
    });

    test('the Bearer scheme is matched in any case; the token is not', async () => {
      const token = admin.accessToken!;
      for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
        const res = await t.fetch('/api/auth/me', { headers: { authorization: `${scheme} ${token}` } });
        assert.equal(res.status, 200, scheme);
      }
      const swapped = token.replace(/[a-z]/, (ch) => ch.toUpperCase());
      assert.notEqual(swapped, token);
      assert.equal((await me(swapped)).status, 401, 'a token differing in case is another token');
    });

    test('re-using a rotated refresh token revokes the whole family', async () => {
      const victim = new BrowserClient(t.fetch);
      await victim.request('POST', '/api/auth/login', { email: 'root@example.com', password: PASSWORD });
      const stolen = victim.cookie(AUTH_COOKIES.refresh)!;
      assert.equal((await victim.request('POST', '/api/auth/refresh', {})).status, 200);
      const current = victim.accessToken!;

      const thief = new BrowserClient(t.fetch);
      const reuse = await thief.request('POST', '/api/auth/refresh', { refreshToken: stolen });
      assert.equal(reuse.status, 401);
      assert.equal(reuse.body.error.code, 'invalid_token');

      assert.equal(
        (await victim.request('POST', '/api/auth/refresh', {})).status,
        401,
        'the newest token died too',
      );
      assert.equal((await me(current)).status, 401, 'access tokens of the family stop at once');
    });

    test('logout ends the access token at once, not when it expires', async () => {
      const c = new BrowserClient(t.fetch);
      await c.request('POST', '/api/auth/login', { email: 'root@example.com', password: PASSWORD });
      const token = c.accessToken!;
      assert.equal((await me(token)).status, 200);
      assert.equal((await c.request('POST', '/api/auth/logout', undefined, { bearer: true })).status, 204);
      assert.equal((await me(token)).status, 401);
    });

    test('cookie-authenticated writes need the CSRF header and a same-origin Origin', async () => {
      const c = new BrowserClient(t.fetch);
      await c.request('POST', '/api/auth/login', { email: 'root@example.com', password: PASSWORD });
      const noHeader = await c.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { csrf: false },
      );
      assert.equal(noHeader.status, 403);
      assert.equal(noHeader.body.error.code, 'csrf_failed');
      const wrongHeader = await c.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { csrf: false, headers: { [CSRF_HEADER]: 'csrf_guess' } },
      );
      assert.equal(wrongHeader.status, 403);
      const crossSite = await c.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { headers: { origin: 'https://evil.example' } },
      );
      assert.equal(crossSite.status, 403);
      const ok = await c.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { headers: { origin: 'http://keel.test' } },
      );
      assert.equal(ok.status, 201);
      const refreshNoCsrf = await c.request('POST', '/api/auth/refresh', {}, { csrf: false });
      assert.equal(refreshNoCsrf.status, 403, 'refresh by cookie needs the CSRF header too');
    });

    test('roles: a developer cannot invite; an admin cannot invite a super_admin', async () => {
      const mk = async (role: string, email: string) => {
        const inv = await admin.request('POST', `/api/orgs/${orgId}/invitations`, { role }, { bearer: true });
        const c = new BrowserClient(t.fetch);
        const res = await c.request('POST', '/api/auth/signup', {
          email,
          password: PASSWORD,
          name: role,
          inviteToken: inv.body.token,
        });
        assert.equal(res.status, 201);
        return c;
      };
      const dev = await mk('developer', 'dev@example.com');
      const res = await dev.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { bearer: true },
      );
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'forbidden');
      const orgAdmin = await mk('admin', 'adm@example.com');
      const up = await orgAdmin.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'super_admin' },
        { bearer: true },
      );
      assert.equal(up.status, 403);
      const fine = await orgAdmin.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'admin' },
        { bearer: true },
      );
      assert.equal(fine.status, 201);
    });

    test("another organization's invitations are not found", async () => {
      const other = await createTestApp({ database });
      try {
        const c = new BrowserClient(other.fetch);
        const res = await c.request('POST', '/api/auth/signup', {
          email: 'o@example.com',
          password: PASSWORD,
          name: 'O',
        });
        const foreignOrg = res.body.organization.id;
        const list = await admin.request('GET', `/api/orgs/${foreignOrg}/invitations`, undefined, {
          bearer: true,
        });
        assert.equal(list.status, 404);
        const create = await admin.request(
          'POST',
          `/api/orgs/${foreignOrg}/invitations`,
          { role: 'viewer' },
          { bearer: true },
        );
        assert.equal(create.status, 404);
      } finally {
        await other.close();
      }
    });

    test('passwords are stored as argon2id with their parameters, never in clear', async () => {
      const [row] = await t.services.db.select().from(users).where(eq(users.email, 'root@example.com'));
      const hash = row!.passwordHash ?? '';
      assert.match(hash, /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=1\$/);
      const [, m, tPasses] = /m=(\d+),t=(\d+)/.exec(hash)!;
      assert.ok(Number(m) >= 19_456 && Number(tPasses) >= 2);
      assert.equal(hash.includes(PASSWORD), false);
    });

    test('an unknown e-mail costs the same argon2 work as a wrong password', async () => {
      const time = async (email: string) => {
        const start = performance.now();
        const res = await t.fetch('/api/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: 'not the password' }),
        });
        assert.equal(res.status, 401);
        return performance.now() - start;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 3; i++) {
        known.push(await time('root@example.com'));
        unknown.push(await time(`ghost${i}@example.com`));
      }
      const ratio = median(unknown) / median(known);
      // Without the decoy hash an unknown address answers ~100× faster.
      assert.ok(ratio > 0.5 && ratio < 2, `unknown/known timing ratio ${ratio.toFixed(2)}`);
    });

    test('sign-in attempts are rate limited per account', async () => {
      const limited = await createTestApp({ database, env: { KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '2' } });
      try {
        await withinOneRateWindow(20);
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) {
          const res = await limited.fetch('/api/auth/login', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'who@example.com', password: 'guess' }),
          });
          statuses.push(res.status);
          if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) > 0);
        }
        assert.deepEqual(statuses, [401, 401, 429]);
      } finally {
        await limited.close();
      }
    });

    test('an expired access token is refused', async () => {
      const clock = manualClock();
      const c2 = await createTestApp({ database: 'pglite', clock });
      try {
        const c = new BrowserClient(c2.fetch);
        await c.request('POST', '/api/auth/signup', {
          email: 'e@example.com',
          password: PASSWORD,
          name: 'E',
        });
        const auth = { authorization: `Bearer ${c.accessToken}` };
        // Used once while valid, so the edge has it among its verified tokens: that must not
        // outlive the token's expiry.
        assert.equal((await c2.fetch('/api/auth/me', { headers: auth })).status, 200);
        clock.advance(901);
        const res = await c2.fetch('/api/auth/me', { headers: auth });
        assert.equal(res.status, 401);
      } finally {
        await c2.close();
      }
    });
  });
}

describe('security headers', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('every response carries CSP, nosniff, frame-ancestors none, referrer policy and a request id', async () => {
    for (const path of ['/healthz', '/api/nothing', '/api/auth/me']) {
      const res = await t.fetch(path);
      const csp = res.headers.get('content-security-policy') ?? '';
      // The API's answers are data: under them a browser may run or load nothing at all.
      if (path.startsWith('/api/')) {
        assert.equal(csp, "default-src 'none'; frame-ancestors 'none'");
        assert.equal(res.headers.get('cache-control'), 'no-store');
      } else {
        assert.match(csp, /default-src 'self'/);
        assert.match(res.headers.get('permissions-policy') ?? '', /camera=\(\)/);
      }
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'same-origin');
      assert.match(res.headers.get('x-request-id') ?? '', /^req_/);
      assert.equal(res.headers.get('strict-transport-security'), null, 'no HSTS over plain http');
    }
  });

  test('HSTS is sent over https', async () => {
    const res = await t.app.request('https://keel.test/healthz');
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
  });

  test('a safe incoming request id is kept; an unsafe one is replaced', async () => {
    const kept = await t.fetch('/healthz', { headers: { 'x-request-id': 'lb-1234' } });
    assert.equal(kept.headers.get('x-request-id'), 'lb-1234');
    const replaced = await t.fetch('/healthz', { headers: { 'x-request-id': 'bad id <script>' } });
    assert.match(replaced.headers.get('x-request-id') ?? '', /^req_/);
  });
});
