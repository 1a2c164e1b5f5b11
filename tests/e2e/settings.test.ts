/**
 * Settings as a person uses them, in a real Chromium against the whole system started by
 * `scripts/up`: the founder opens Settings from the header; makes a personal access token on the
 * Access tokens page (shown once, copied with the button), calls the API with it by fetch, revokes
 * it and sees 401; sees their sessions with the device and address, and ends another session
 * (signed in from a second client), whose token then stops. Each page passes axe.
 *
 * Build first: `npm run build -w @keel/web`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import {
  expectAccessible,
  launchChromium,
  type PageProblems,
  scenarioSteps,
  watchForProblems,
} from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const FOUNDER = 'ada@example.com';
const OTHER_DEVICE = 'keel-e2e-cli/1.0';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
let token = '';

const step = scenarioSteps('settings', () => ({ page }));

const withToken = (path: string) =>
  fetch(new URL(path, keel.base), { headers: { authorization: `Bearer ${token}` } });

describe('settings, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser] = await Promise.all([
      startKeel({ env: { KEEL_RUNNER_DRIVER: 'process' } }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: keel.base });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
  });

  step('the founder signs up and opens Settings from the header', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Profile', level: 1 }).waitFor();
    await expectAccessible(page, 'Profile');
    await page.getByLabel('Display name').fill('Ada King');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Your name is saved.').waitFor();
    await page.getByRole('heading', { name: 'Ada King' }).waitFor();
  });

  step('makes a token, copies it, and calls the API with it', async () => {
    await page
      .getByRole('navigation', { name: 'Settings' })
      .getByRole('link', { name: 'Access tokens' })
      .click();
    await page.getByRole('heading', { name: 'Access tokens', level: 1 }).waitFor();
    await page.getByText('No tokens yet').waitFor();
    await expectAccessible(page, 'Access tokens, empty');
    await page.getByLabel('Name', { exact: true }).fill('deploy script');
    await page.getByLabel('Ask the AI assistant').check();
    await page.getByRole('button', { name: 'Make token' }).click();
    const shown = page.getByLabel('Token', { exact: true });
    await shown.waitFor();
    token = await shown.inputValue();
    assert.match(token, /^keel_pat_[A-Za-z0-9_-]{43}$/);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
    await expectAccessible(page, 'Access tokens, the new token');

    const whoAmI = await withToken('/api/auth/me');
    assert.equal(whoAmI.status, 200, await whoAmI.clone().text());
    const me = (await whoAmI.json()) as { user: { id: string; email: string } };
    assert.equal(me.user.email, FOUNDER);
    const workspaces = await withToken('/api/workspaces');
    assert.equal(workspaces.status, 200, 'workspaces:read is in its scope');
    const reset = await fetch(new URL(`/api/admin/members/${me.user.id}/reset-password`, keel.base), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(reset.status, 403, 'members:manage is not in its scope, though the founder’s role holds it');

    await page.getByRole('button', { name: 'Done' }).click();
    await page.reload();
    const row = page.getByRole('row', { name: /deploy script/ });
    await row.waitFor();
    assert.equal((await page.content()).includes(token), false, 'the token is not shown again');
    assert.match((await row.textContent()) ?? '', /keel_pat_/);
    assert.match((await row.textContent()) ?? '', /ai:use/);
  });

  step('revokes it and the API answers 401', async () => {
    await page.getByRole('button', { name: 'Revoke deploy script' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('No tokens yet').waitFor();
    const refused = await withToken('/api/auth/me');
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as any).error.code, 'invalid_token');
  });

  step('lists the sessions and ends another one', async () => {
    const cli = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    const login = await cli.request(
      'POST',
      '/api/auth/login',
      { email: FOUNDER, password: PASSWORD },
      { headers: { 'user-agent': OTHER_DEVICE } },
    );
    assert.equal(login.status, 200);
    assert.equal((await cli.request('GET', '/api/auth/me', undefined, { bearer: true })).status, 200);

    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('heading', { name: 'Sessions', level: 1 }).waitFor();
    const table = page.getByRole('table', { name: 'Your sessions' });
    await table.getByText('(this session)').waitFor();
    await table.getByText(OTHER_DEVICE.split('/')[0]!).waitFor();
    await expectAccessible(page, 'Sessions');
    await page.getByRole('button', { name: /^End session: keel-e2e-cli/ }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'End' }).click();
    await page.getByRole('alertdialog').waitFor({ state: 'detached' });
    await table.getByText(OTHER_DEVICE.split('/')[0]!).waitFor({ state: 'detached' });
    const ended = await cli.request('GET', '/api/auth/me', undefined, { bearer: true });
    assert.equal(ended.status, 401, 'the other session’s access token stops at once');
    await table.getByText('(this session)').waitFor();
  });

  step('the Password page asks for the current password', async () => {
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Password' }).click();
    await page.getByRole('heading', { name: 'Password', level: 1 }).waitFor();
    await expectAccessible(page, 'Password');
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill('a fresh long passphrase');
    await page.getByLabel('New password, again').fill('a fresh long passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('This is not your current password.').waitFor();
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});
