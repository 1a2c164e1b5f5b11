/**
 * Settings › Integrations as a person uses it, in a real Chromium against the whole system
 * started by `scripts/up`: the founder adds a Git host token (a bad host is refused beside its
 * field), sees it listed without the token, replaces it, and deletes it; the list's loading and
 * error states (the list request held, then failed) and its empty state show; every state passes
 * axe.
 *
 * Build first: `npm run build -w @keel/web`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
const FIRST_TOKEN = 'ghp_e2eFirstToken0123456789';
const SECOND_TOKEN = 'ghp_e2eSecondToken987654321';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;

const step = scenarioSteps('integrations', () => ({ page }));

describe('settings › integrations, end to end', { timeout: 300_000 }, () => {
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
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
  });

  step(
    'the founder opens Integrations: loading, then an error with a way to try again, then empty',
    async () => {
      await page.goto(`${keel.base}/sign-up`);
      await page.getByLabel('Your name').fill('Grace Hopper');
      await page.getByLabel('Email').fill('grace@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'Workspaces' }).waitFor();

      // The first list request is held, then answered with a failure: loading, then the error.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await page.route('**/api/account/git-credentials', async (route) => {
        await held;
        await route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'not_ready', message: 'Not ready yet', requestId: 'req_e2e' },
          }),
        });
      });
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
      await page
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Integrations' })
        .click();
      await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
      await page.getByText('Loading Git host tokens…').waitFor();
      await expectAccessible(page, 'Integrations, loading');
      release();
      await page.getByRole('alert').getByText('Could not load your Git host tokens.').waitFor();
      await expectAccessible(page, 'Integrations, error');
      await page.unroute('**/api/account/git-credentials');
      await page.getByRole('button', { name: 'Try again' }).click();
      await page.getByText('No Git host tokens yet').waitFor();
      await expectAccessible(page, 'Integrations, empty');
    },
  );

  step(
    'a bad host is refused beside its field; a good one is kept and listed without the token',
    async () => {
      await page.getByRole('textbox', { name: 'Host' }).fill('https://github.com/acme');
      await page.getByLabel('Token', { exact: true }).fill(FIRST_TOKEN);
      await page.getByRole('button', { name: 'Save token' }).click();
      await page.getByText(/must be a host name/i).waitFor();
      await expectAccessible(page, 'Integrations, a refused host');

      await page.getByRole('textbox', { name: 'Host' }).fill('GitHub.com');
      await page.getByLabel('Token', { exact: true }).fill(FIRST_TOKEN);
      await page.getByRole('textbox', { name: /^Label/ }).fill('work account');
      await page.getByRole('button', { name: 'Save token' }).click();
      const row = page.getByRole('row', { name: /github\.com/ });
      await row.waitFor();
      assert.match((await row.textContent()) ?? '', /x-access-token/);
      assert.match((await row.textContent()) ?? '', /work account/);
      assert.match((await row.textContent()) ?? '', /Never/);
      assert.equal((await page.content()).includes(FIRST_TOKEN), false, 'the token is not shown');
      assert.equal(await page.getByLabel('Token', { exact: true }).inputValue(), '', 'the form was cleared');
      await expectAccessible(page, 'Integrations, one token');
    },
  );

  step('replaces it from its row, then deletes it', async () => {
    await page.getByRole('button', { name: 'Replace the token for github.com' }).click();
    assert.equal(await page.getByRole('textbox', { name: 'Host' }).inputValue(), 'github.com');
    await page.getByLabel('Token', { exact: true }).fill(SECOND_TOKEN);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByText('Replaced the token for').first().waitFor();
    assert.equal(await page.getByRole('row', { name: /github\.com/ }).count(), 1, 'one token per host');
    await page.reload();
    await page.getByRole('row', { name: /github\.com/ }).waitFor();
    const html = await page.content();
    assert.equal(html.includes(FIRST_TOKEN) || html.includes(SECOND_TOKEN), false);

    await page.getByRole('button', { name: 'Delete the token for github.com' }).click();
    await expectAccessible(page, 'Integrations, delete dialog');
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No Git host tokens yet').waitFor();
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});
