/**
 * Sign-in providers declared by the environment (KEEL_SSO_PROVIDERS): refused with a reason
 * that names the entry and field when wrong; written (secret sealed, never shown) on first need
 * once the install has its organization; the environment wins over a console change at the next
 * start; a slug of another organization's provider or a changed kind is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { identityProviders, organizations } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { newId } from '../../edge/src/ids.ts';
import {
  applyEnvironmentProviders,
  environmentProvidersReady,
  parseEnvironmentProviders,
} from '../../edge/src/sso/environment-providers.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const SECRET = 'environment-client-secret-never-shown';
const google = (overrides: Record<string, unknown> = {}) => ({
  kind: 'google',
  name: 'Google',
  slug: 'corp-google',
  config: {
    issuer: 'https://accounts.google.com',
    clientId: 'keel.apps.googleusercontent.com',
    clientSecret: SECRET,
    allowedDomains: ['example.com'],
  },
  ...overrides,
});

describe('sign-in providers from KEEL_SSO_PROVIDERS (real PostgreSQL and Redis)', () => {
  let t: TestApp;
  let root: BrowserClient;

  before(async () => {
    t = await createTestApp({
      database: 'postgres',
      env: { KEEL_SSO_PROVIDERS: JSON.stringify([google()]), KEEL_PUBLIC_URL: 'https://keel.example.com' },
    });
    root = new BrowserClient(t.fetch);
  });
  after(() => t?.close());

  test('a wrong declaration is refused with the entry and field it is about', () => {
    const refused = (value: unknown, words: RegExp) =>
      assert.throws(
        () => parseEnvironmentProviders(typeof value === 'string' ? value : JSON.stringify(value)),
        words,
      );
    refused('[{', /not JSON/);
    refused({ kind: 'google' }, /expected array/i);
    refused([google({ kind: 'saml' })], /KEEL_SSO_PROVIDERS: .*kind/);
    refused([google({ config: { clientId: 'x', clientSecret: 'y' } })], /config\.issuer/);
    refused([google(), google()], /1\.slug: slug "corp-google" appears twice/);
    refused([google({ id: 'idp_aaaaaaaaaaaaaaaaaaaa' })], /named by slug/);
    refused([google({ organization: 'not an id' })], /organization/);
    refused([google({ config: { ...google().config, issuer: 'http://idp.example.com' } })], /https/);
  });

  test('at the Node edge’s start a wrong declaration stops it with its reason', async () => {
    const wrong = { ...t.services, config: { ...t.services.config, ssoProvidersJson: '[{"kind":"x"}]' } };
    await assert.rejects(
      environmentProvidersReady(wrong, { throwOnError: true }),
      /KEEL_SSO_PROVIDERS: .*kind/,
    );
    // On a request (workerd), the same mistake is logged and sign-in goes on without it.
    await environmentProvidersReady(wrong);
  });

  test('written once the install has its organization; listed without the secret', async () => {
    const before = await new BrowserClient(t.fetch).request('GET', '/api/auth/providers');
    assert.equal(before.status, 200);
    assert.deepEqual(before.body.providers, [], 'no organization yet: nothing to attach them to');

    const signup = await root.request('POST', '/api/auth/signup', {
      email: 'root@example.com',
      password: 'correct horse battery staple',
      name: 'Root',
    });
    assert.equal(signup.status, 201);
    const open = await new BrowserClient(t.fetch).request('GET', '/api/auth/providers');
    assert.deepEqual(
      open.body.providers.map((p: { slug: string; startUrl: string }) => [p.slug, p.startUrl]),
      [['corp-google', '/api/auth/sso/corp-google/start']],
    );
    const listed = await root.request('GET', '/api/admin/sign-in/providers');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.providers[0].config.hasClientSecret, true);
    assert.ok(!JSON.stringify(listed.body).includes(SECRET), 'the secret is never shown');
    const [row] = await t.services.db
      .select()
      .from(identityProviders)
      .where(eq(identityProviders.slug, 'corp-google'));
    assert.ok(row?.secretSealed && !row.secretSealed.includes(SECRET), 'sealed at rest');
    assert.equal(await t.services.box.open(row.secretSealed, 'identity-provider'), SECRET);
  });

  test('the environment wins at the next start; another organization’s slug and a changed kind are refused', async () => {
    const id = (await root.request('GET', '/api/admin/sign-in/providers')).body.providers[0].id;
    const renamed = await root.request('PUT', '/api/admin/sign-in/providers', {
      ...google({ name: 'Renamed in the console' }),
      id,
      config: { ...google().config, clientSecret: undefined },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(await applyEnvironmentProviders(t.services, JSON.stringify([google()])), true);
    const again = await root.request('GET', '/api/admin/sign-in/providers');
    assert.equal(again.body.providers[0].name, 'Google');

    await assert.rejects(
      applyEnvironmentProviders(
        t.services,
        JSON.stringify([google({ kind: 'oidc', config: { ...google().config, allowedDomains: [] } })]),
      ),
      /is a google provider; its kind cannot change/,
    );
    const otherOrg = newId('organization');
    await t.services.db.insert(organizations).values({ id: otherOrg, name: 'Other' });
    await assert.rejects(
      applyEnvironmentProviders(t.services, JSON.stringify([google({ organization: otherOrg })])),
      /belongs to another organization/,
    );
    await assert.rejects(
      applyEnvironmentProviders(t.services, JSON.stringify([google()])),
      /names no organization, and this install has several/,
    );
    await assert.rejects(
      applyEnvironmentProviders(
        t.services,
        JSON.stringify([google({ slug: 'fresh', organization: 'org_aaaaaaaaaaaaaaaaaaaa' })]),
      ),
      /does not exist/,
    );
  });
});
