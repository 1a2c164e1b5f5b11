/**
 * Directory sign-in as people use it, in a real Chromium against the system started by
 * `scripts/up` and a real slapd: the founder (super_admin) opens Admin › Sign-in, adds the
 * directory (StartTLS with the test CA, a group → role row), tests it with a username and sees
 * the role it would get; then, in a fresh browser, a directory person picks "Sign in with …" on
 * the sign-in page and lands in Keel with the mapped role. Both pages pass axe.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import {
  GROUPS,
  groupDn,
  PASSWORD_SUFFIX,
  PEOPLE,
  SERVICE_DN,
  type SlapdServer,
  startSlapd,
} from '../harness/slapd.ts';
import { expectAccessible, launchChromium, scenarioSteps } from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const FOUNDER = 'grace@example.com';

let keel: KeelInstance;
let slapd: SlapdServer;
let browser: Browser;
let page: Page;

const step = scenarioSteps('ldap', () => ({ page }));

describe('directory sign-in, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser, slapd] = await Promise.all([
      startKeel({ env: { KEEL_RUNNER_DRIVER: 'process' } }),
      launchChromium(),
      startSlapd(),
    ]);
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
    await slapd?.stop();
  });

  step('the founder adds the directory in Admin › Sign-in and tests it', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Grace Hopper');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();

    await page.goto(`${keel.base}/admin/sign-in`);
    await page.getByRole('heading', { name: 'Sign-in', level: 1 }).waitFor();
    await page.getByText('No directory yet').waitFor();
    await expectAccessible(page, 'Sign-in, empty');

    await page.getByRole('button', { name: 'Add a directory' }).click();
    const form = page.getByRole('form', { name: 'Directory' });
    await form.getByLabel('Name', { exact: true }).fill('Corp LDAP');
    await form.getByLabel('Sign-in name').fill('corp');
    await form.getByLabel('Server URL').fill(slapd.ldapUrl);
    await form.getByLabel('StartTLS (ldap:// upgraded to TLS)').check();
    await form.getByLabel('CA certificate (PEM) (optional)').fill(slapd.ca);
    await form.getByLabel('Service account DN').fill(SERVICE_DN);
    await form.getByLabel('Service account password').fill(slapd.servicePassword);
    await form.getByLabel('People search base').fill(PEOPLE);
    await form.getByLabel('Group search base').fill(GROUPS);
    await form.getByRole('button', { name: 'Add a group' }).click();
    await form.getByLabel('Group DN').fill(groupDn('admins'));
    await form.getByLabel('Role', { exact: true }).selectOption('admin');
    await expectAccessible(page, 'Add a directory');
    await form.getByRole('button', { name: 'Save' }).click();

    const card = page.getByRole('listitem', { name: 'Corp LDAP' });
    await card.waitFor();
    assert.equal(await page.getByText(slapd.servicePassword).count(), 0, 'the bind password is never shown');
    await card.getByLabel('Test with a username').fill('alice');
    await card.getByRole('button', { name: 'Test' }).click();
    await card.getByText('A sign-in would get the role Admin.').waitFor();
    await expectAccessible(page, 'Sign-in, with a directory');

    const api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    await api.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD });
    const listed = await api.request('GET', '/api/admin/sign-in/providers', undefined, { bearer: true });
    assert.equal(listed.body.providers[0].config.hasBindPassword, true);
    assert.equal(JSON.stringify(listed.body).includes(slapd.servicePassword), false);
  });

  step('a directory person signs in through the sign-in page', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await fresh.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${keel.base}/sign-in`);
    await page.getByRole('button', { name: 'Sign in with Corp LDAP' }).click();
    const form = page.getByRole('form', { name: 'Sign in with Corp LDAP' });
    await expectAccessible(page, 'Sign-in page with a directory');
    await form.getByLabel('Corp LDAP username').fill('alice');
    await form.getByLabel('Password').fill('wrong password');
    await form.getByRole('button', { name: 'Sign in with Corp LDAP' }).click();
    await form.getByText('Username or password is incorrect.').waitFor();
    await form.getByLabel('Password').fill(`alice${PASSWORD_SUFFIX}`);
    await form.getByRole('button', { name: 'Sign in with Corp LDAP' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    // Mapped from the admins group: the Admin area is offered.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).waitFor();
    await fresh.close();
  });
});
