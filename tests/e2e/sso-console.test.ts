/**
 * Single sign-on from the console as people use it, in a real Chromium against the system started
 * by `scripts/up` (no runner: nothing here needs one): the founder (super_admin) is refused when
 * requiring SSO with no provider, adds a Google-preset and a GitHub provider in Admin › Sign-in,
 * copies the callback URL each shows, never sees a client secret again, and switches password
 * sign-in off. A fresh browser's sign-in page then leads with "Sign in with …" links to
 * /api/auth/sso/<slug>/start (returnTo the page it was opened at), keeps the password form behind
 * "Sign in with a password" (the founder still gets in), and words an `sso_error`. Axe on each page.
 *
 * Build first: `npm run build -w @keel/web`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { expectAccessible, launchChromium, scenarioSteps } from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const FOUNDER = 'grace@example.com';
const GOOGLE_SECRET = 'GOCSPX-google-secret-never-shown';
const GITHUB_SECRET = 'github-secret-never-shown-0123456789';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const step = scenarioSteps('sso-console', () => ({ page }));

/** Every input's value and the page's text: a secret must appear in neither. */
async function pageHolds(on: Page, secret: string): Promise<boolean> {
  const values = await on
    .locator('input, textarea')
    .evaluateAll((els) => els.map((el) => (el as HTMLInputElement).value));
  return values.some((v) => v.includes(secret)) || (await on.content()).includes(secret);
}

describe('single sign-on in the console and on the sign-in page, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser] = await Promise.all([startKeel({ env: { KEEL_SKIP_RUNNER: '1' } }), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: keel.base });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
  });

  step('the founder opens Admin › Sign-in: settings, and no provider yet', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Grace Hopper');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Sign-in' }).click();
    await page.getByRole('heading', { name: 'Sign-in', level: 1 }).waitFor();
    await page.getByText('No single sign-on provider yet').waitFor();
    await page.getByText('No directory yet').waitFor();
    const settings = page.getByRole('form', { name: 'Sign-in settings' });
    assert.equal(await settings.getByLabel('Allow password sign-in').isChecked(), true);
    await expectAccessible(page, 'Sign-in, empty');

    // Refused once each: both lists say so and offer a retry that works.
    const broken = JSON.stringify({
      error: { code: 'internal_error', message: 'Broken on purpose', requestId: 'req_x' },
    });
    const refuse = (route: Route) =>
      route.fulfill({ status: 500, contentType: 'application/json', body: broken });
    await page.route('**/api/admin/sign-in/settings', refuse);
    await page.route('**/api/admin/sign-in/providers', refuse);
    await page.reload();
    await page.getByText('Could not load the sign-in settings.').waitFor();
    await page.getByText('Could not load the sign-in providers.').first().waitFor();
    await expectAccessible(page, 'Sign-in, failed to load');
    await page.unroute('**/api/admin/sign-in/settings');
    await page.unroute('**/api/admin/sign-in/providers');
    // The two provider sections share one list: one retry reloads both.
    const retries = page.getByRole('button', { name: 'Try again' });
    // A click may find its button already gone (the other retry reloaded that list too).
    for (let tries = 0; tries < 10 && (await retries.count()) > 0; tries++)
      await retries
        .first()
        .click({ timeout: 2_000 })
        .catch(() => {});
    await settings.getByLabel('Allow password sign-in').waitFor();
    await page.getByText('No single sign-on provider yet').waitFor();

    // Requiring SSO with nothing to sign in with would lock everyone but the super admins out.
    await settings.getByLabel('Require single sign-on').check();
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await settings.getByRole('alert').getByText('Requiring single sign-on needs an enabled').waitFor();
    await settings.getByLabel('Require single sign-on').uncheck();
  });

  step('the founder adds a Google provider and copies its callback URL', async () => {
    await page.getByRole('button', { name: 'Add a provider' }).click();
    const form = page.getByRole('form', { name: 'Single sign-on provider' });
    assert.equal(await form.getByRole('radio', { name: /^Google/ }).isChecked(), true);
    assert.equal(await form.getByLabel('Name', { exact: true }).inputValue(), 'Google');
    assert.equal(await form.getByLabel('Sign-in name').inputValue(), 'google');
    assert.match(
      await form.getByLabel('Callback URL', { exact: true }).inputValue(),
      /\/api\/auth\/sso\/google\/callback$/,
    );
    // Saving without a secret is caught before anything is sent.
    await form.getByLabel('Client ID').fill('1234.apps.googleusercontent.com');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('Paste the client secret the provider gave you.').waitFor();
    await form.getByLabel('Client secret').fill(GOOGLE_SECRET);
    await form.getByLabel('Allowed Workspace domains').fill('example.com');
    await expectAccessible(page, 'Add a Google provider');
    await form.getByRole('button', { name: 'Save' }).click();

    const card = page.getByRole('listitem', { name: 'Google' });
    await card.waitFor();
    await card.getByText('client secret set').waitFor();
    const callback = await card.getByLabel('Callback URL', { exact: true }).inputValue();
    assert.match(callback, /^https?:\/\/[^/]+\/api\/auth\/sso\/google\/callback$/);
    await card.getByRole('button', { name: 'Copy the callback URL' }).click();
    await card.getByText('Copied to the clipboard.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), callback);
    assert.equal(await pageHolds(page, GOOGLE_SECRET), false, 'the client secret is never shown');
  });

  step('the founder adds GitHub with a required organization and a team → role row', async () => {
    await page.getByRole('button', { name: 'Add a provider' }).click();
    const form = page.getByRole('form', { name: 'Single sign-on provider' });
    await form.getByRole('radio', { name: /^GitHub/ }).check();
    assert.equal(await form.getByLabel('Sign-in name').inputValue(), 'github');
    await form.getByLabel('Client ID').fill('Iv1.0123456789abcdef');
    await form.getByLabel('Client secret').fill(GITHUB_SECRET);
    await form.getByLabel('Required organizations').fill('acme');
    await form.getByRole('button', { name: 'Add a team' }).click();
    await form.getByLabel('Team 1', { exact: true }).fill('acme/platform');
    await form.getByLabel('Role of team 1').selectOption('admin');
    await expectAccessible(page, 'Add a GitHub provider');
    await form.getByRole('button', { name: 'Save' }).click();

    const card = page.getByRole('listitem', { name: 'GitHub' });
    await card.waitFor();
    assert.match(
      await card.getByLabel('Callback URL', { exact: true }).inputValue(),
      /\/api\/auth\/sso\/github\/callback$/,
    );

    // Editing shows that a secret is set, never the secret itself.
    await card.getByRole('button', { name: 'Edit GitHub' }).click();
    const edit = page.getByRole('form', { name: 'Single sign-on provider' });
    assert.equal(await edit.getByLabel('Client secret').inputValue(), '');
    await edit.getByText('A secret is set (never shown).').waitFor();
    assert.equal(await edit.getByLabel('Team 1', { exact: true }).inputValue(), 'acme/platform');
    assert.equal(await pageHolds(page, GITHUB_SECRET), false);
    await expectAccessible(page, 'Edit a GitHub provider');
    await edit.getByRole('button', { name: 'Cancel' }).click();

    const api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    await api.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD });
    const listed = await api.request('GET', '/api/admin/sign-in/providers', undefined, { bearer: true });
    const text = JSON.stringify(listed.body);
    assert.equal(text.includes(GOOGLE_SECRET) || text.includes(GITHUB_SECRET), false);
    const kinds = (listed.body.providers as Array<{ kind: string; config: { hasClientSecret: boolean } }>)
      .map((p) => `${p.kind}:${p.config.hasClientSecret}`)
      .sort();
    assert.deepEqual(kinds, ['github:true', 'google:true']);
  });

  step('the founder switches password sign-in off and new people to Viewer', async () => {
    const settings = page.getByRole('form', { name: 'Sign-in settings' });
    await settings.getByLabel('Allow password sign-in').uncheck();
    await settings.getByLabel('Role of people new to Keel').selectOption('viewer');
    await settings.getByRole('button', { name: 'Save settings' }).click();
    await settings.getByText('Saved.').waitFor();
    await page.reload();
    const reloaded = page.getByRole('form', { name: 'Sign-in settings' });
    await reloaded.waitFor();
    assert.equal(await reloaded.getByLabel('Allow password sign-in').isChecked(), false);
    assert.equal(await reloaded.getByLabel('Role of people new to Keel').inputValue(), 'viewer');
    await expectAccessible(page, 'Sign-in, with providers');
  });

  step('the sign-in page leads with the providers; the password form waits behind a button', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const visitor = await fresh.newPage();
    visitor.setDefaultTimeout(20_000);
    page = visitor;
    // A deep link: the sign-in form shows there, and SSO comes back to it.
    await visitor.goto(`${keel.base}/admin/members`);
    const google = visitor.getByRole('link', { name: 'Sign in with Google' });
    const github = visitor.getByRole('link', { name: 'Sign in with GitHub' });
    await google.waitFor();
    assert.equal(await google.getAttribute('href'), '/api/auth/sso/google/start?returnTo=%2Fadmin%2Fmembers');
    assert.equal(await github.getAttribute('href'), '/api/auth/sso/github/start?returnTo=%2Fadmin%2Fmembers');
    assert.equal(await visitor.getByLabel('Email').count(), 0, 'the password form is tucked away');
    await expectAccessible(visitor, 'Sign-in page, providers first');

    // The last super admin's way in.
    await visitor.getByRole('button', { name: 'Sign in with a password' }).click();
    await visitor.getByLabel('Email').fill(FOUNDER);
    await visitor.getByLabel('Password').fill(PASSWORD);
    await visitor.getByRole('button', { name: 'Sign in', exact: true }).click();
    await visitor.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
    await fresh.close();
  });

  step('a failed single sign-on says why on the sign-in page', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const visitor = await fresh.newPage();
    visitor.setDefaultTimeout(20_000);
    page = visitor;
    await visitor.goto(`${keel.base}/sign-in?sso_error=domain_not_allowed`);
    await visitor
      .getByRole('alert')
      .getByText('This organization accepts only accounts of its own domains; use your work account.')
      .waitFor();
    // Back on /sign-in, the buttons land on the home page afterwards.
    assert.equal(
      await visitor.getByRole('link', { name: 'Sign in with Google' }).getAttribute('href'),
      '/api/auth/sso/google/start',
    );
    await expectAccessible(visitor, 'Sign-in page with an SSO error');
    await fresh.close();
  });
});
