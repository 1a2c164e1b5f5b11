/**
 * Single sign-on as people use it, in a real Chromium against the system started by
 * `scripts/up` and a real OpenID Provider (the `oidc-provider` package, shaped like Entra ID):
 * the founder adds the provider through the API, then a person's browser goes to the provider's
 * start URL, signs in on the provider's own login page, consents, and lands in Keel signed in
 * with the role their group maps to.
 *
 * Build first: `npm run build -w @keel/web`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { type OidcProviderServer, startOidcProvider } from '../harness/oidc-provider.ts';
import { freePort } from '../harness/ports.ts';
import { launchChromium, screenshot } from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_SECRET = 'e2e-entra-client-secret-0123456789';

let keel: KeelInstance;
let idp: OidcProviderServer;
let browser: Browser;
let page: Page;

describe('single sign-on, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    const port = await freePort();
    [keel, idp, browser] = await Promise.all([
      startKeel({ port, env: { KEEL_RUNNER_DRIVER: 'process' } }),
      startOidcProvider([
        {
          clientId: 'keel-entra',
          clientSecret: CLIENT_SECRET,
          redirectUris: [`http://127.0.0.1:${port}/api/auth/sso/contoso/callback`],
        },
      ]),
      launchChromium(),
    ]);
    idp.accounts.set('megan', {
      email: 'megan@contoso.test',
      name: 'Megan Bowen',
      tid: TENANT,
      groups: ['keel-admins'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
    await idp?.stop();
  });

  test('a person signs in on the provider’s page and lands in Keel with the mapped role', async () => {
    try {
      const api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
      const founded = await api.request('POST', '/api/auth/signup', {
        email: 'founder@contoso.test',
        password: PASSWORD,
        name: 'Founder',
      });
      assert.equal(founded.status, 201, JSON.stringify(founded.body));
      const saved = await api.request('PUT', '/api/admin/sign-in/providers', {
        kind: 'entra',
        name: 'Contoso',
        slug: 'contoso',
        config: {
          issuer: idp.issuer,
          clientId: 'keel-entra',
          clientSecret: CLIENT_SECRET,
          insecure: true,
          tenantId: TENANT,
          trustEmail: true,
          groupRoleMap: [{ group: 'keel-admins', role: 'admin' }],
        },
      });
      assert.equal(saved.status, 201, JSON.stringify(saved.body));
      assert.equal(saved.body.callbackUrl, `${keel.base}/api/auth/sso/contoso/callback`);

      await page.goto(`${keel.base}/api/auth/sso/contoso/start?returnTo=/`);
      // The provider's own login page, then its consent page.
      await page.locator('input[name="login"]').fill('megan');
      await page.locator('input[name="password"]').fill('any password at all');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.waitForURL(`${keel.base}/**`);
      await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
      // Mapped from the keel-admins group: the Admin area is offered.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).waitFor();
      const me = await page.evaluate(async () => (await fetch('/api/auth/me')).json());
      assert.equal(me.user.email, 'megan@contoso.test');
      assert.equal(me.user.name, 'Megan Bowen');
      assert.equal(me.role, 'admin');
      assert.equal((await page.content()).includes(CLIENT_SECRET), false);
    } catch (error) {
      await screenshot(page, 'failed-sso-sign-in').catch(() => {});
      throw error;
    }
  });
});
