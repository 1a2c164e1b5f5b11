/**
 * The same OpenID Connect sign-in with the edge inside workerd (`wrangler dev`): discovery, the
 * code exchange and the JWKS fetch all go through workerd's fetch, and the state through Redis
 * from inside it. Real oidc-provider, PostgreSQL and Redis.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { type OidcProviderServer, signInAtProvider, startOidcProvider } from '../harness/oidc-provider.ts';
import { startWorkerdEdge, type WorkerdEdge } from '../harness/workerd-edge.ts';

const SECRET = 'workerd-client-secret-0123456789';

describe('OpenID Connect sign-in with the edge on workerd', () => {
  let edge: WorkerdEdge | undefined;
  let idp: OidcProviderServer | undefined;
  after(async () => {
    await idp?.stop();
    await edge?.stop();
  });

  test('a person signs in through a real OpenID Provider and gets a working session', async () => {
    const infra = await testInfra();
    edge = await startWorkerdEdge({
      redisUrl: infra.redisUrl,
      databaseUrl: await freshDatabaseUrl(),
      redisPrefix: `workerd-sso${process.pid}:`,
    });
    const base = edge.base;
    idp = await startOidcProvider([
      { clientId: 'keel-wk', clientSecret: SECRET, redirectUris: [`${base}/api/auth/sso/wk/callback`] },
    ]);
    idp.accounts.set('wanda', { email: 'wanda@example.com', email_verified: true, name: 'Wanda' });
    const client = () =>
      new BrowserClient((path, init) => fetch(new URL(path, base), { ...init, redirect: 'manual' }));
    try {
      const root = client();
      const founded = await root.request('POST', '/api/auth/signup', {
        email: 'root@example.com',
        password: 'correct horse battery staple',
        name: 'Root',
      });
      assert.equal(founded.status, 201, JSON.stringify(founded.body));
      const saved = await root.request('PUT', '/api/admin/sign-in/providers', {
        kind: 'oidc',
        name: 'Workerd IdP',
        slug: 'wk',
        config: { issuer: idp.issuer, clientId: 'keel-wk', clientSecret: SECRET, insecure: true },
      });
      assert.equal(saved.status, 201, JSON.stringify(saved.body));

      const c = client();
      const start = await c.request('GET', '/api/auth/sso/wk/start');
      assert.equal(start.status, 302, JSON.stringify(start.body));
      const callback = await signInAtProvider(start.headers.get('location')!, 'wanda', `${base}/`);
      const done = await c.request('GET', callback.pathname + callback.search);
      assert.equal(done.status, 302);
      assert.equal(done.headers.get('location'), '/');
      const me = await c.request('GET', '/api/auth/me');
      assert.equal(me.status, 200);
      assert.equal(me.body.user.email, 'wanda@example.com');
      assert.equal(me.body.role, 'developer');
      // Replayed: refused, as on Node.
      const again = await c.request('GET', callback.pathname + callback.search);
      assert.equal(again.headers.get('location'), '/sign-in?sso_error=state_mismatch');
    } catch (err) {
      console.error(edge.output());
      throw err;
    }
  });
});
