/**
 * Admin › Plans and limits in a real Chromium against the whole system started by `scripts/up`:
 * the founder (super_admin) reads the install's default plan and today's use, is told at its
 * field what the plan cannot be, sets a plan of the organization's own, and goes back to the
 * default; an admin reads the same page without a form. Each state passes axe.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { expectAccessible, launchChromium, scenarioSteps } from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const FOUNDER = 'grace@example.com';
const ADMIN = 'edsger@example.com';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const step = scenarioSteps('plans-console', () => ({ page }));

const limitsTable = () => page.getByRole('table', { name: 'The plan’s limits and what is in use now' });

describe('the plans and limits page, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser] = await Promise.all([
      startKeel({
        env: {
          KEEL_RUNNER_DRIVER: 'process',
          KEEL_PLAN_DEFAULT_NAME: 'Starter',
          KEEL_PLAN_DEFAULT_CONCURRENT_WORKSPACES: '5',
          KEEL_PLAN_MAX_CONCURRENT_WORKSPACES: '20',
        },
      }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
  });

  step(
    'the founder signs up and opens Admin › Plans and limits: the install’s default and today’s use',
    async () => {
      await page.goto(`${keel.base}/sign-up`);
      await page.getByLabel('Your name').fill('Grace Hopper');
      await page.getByLabel('Email').fill(FOUNDER);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
      await page.goto(`${keel.base}/admin/usage`);
      await page
        .getByRole('navigation', { name: 'Admin' })
        .getByRole('link', { name: 'Plans and limits' })
        .click();
      await page.getByRole('heading', { name: 'Plans and limits', level: 1 }).waitFor();
      await page.getByRole('heading', { name: /Starter/ }).waitFor();
      await page.getByText('the install’s default plan').waitFor();
      const workspacesRow = limitsTable().getByRole('row', { name: /Workspaces at once/ });
      assert.match((await workspacesRow.textContent()) ?? '', /Workspaces at once5020/);
      await page.getByText('Nothing was refused today.').waitFor();
      await expectAccessible(page, 'Plans and limits, the default');
    },
  );

  step('what the plan cannot be is said at its field, and nothing is saved', async () => {
    await page.getByLabel('Workspaces at once').fill('50');
    await page.getByLabel('API requests a minute').fill('0');
    await page.getByRole('button', { name: 'Save plan' }).click();
    await page.getByText('The install allows at most 20.').waitFor();
    await page.getByText('A whole number from 1, or empty for unlimited.').waitFor();
    await expectAccessible(page, 'Plans and limits, a refused form');
  });

  step('the founder sets a plan of the organization’s own, and goes back to the default', async () => {
    await page.getByLabel('Name').fill('Team');
    await page.getByLabel('Workspaces at once').fill('3');
    await page.getByLabel('API requests a minute').fill('1,000');
    await page.getByLabel('Commands at once').fill('');
    await page.getByRole('button', { name: 'Save plan' }).click();
    await page.getByRole('status').getByText('Saved. The new limits apply within seconds.').waitFor();
    await page.getByText('this organization’s plan').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: /Team/ }).waitFor();
    assert.match(
      (await limitsTable()
        .getByRole('row', { name: /API requests a minute/ })
        .textContent()) ?? '',
      /1,000/,
    );
    assert.equal(await page.getByLabel('Workspaces at once').inputValue(), '3');
    await page.getByRole('button', { name: 'Use the install’s default' }).click();
    await page.getByRole('status').getByText('The install’s default plan applies again.').waitFor();
    await page.getByRole('heading', { name: /Starter/ }).waitFor();
  });

  step('an admin reads the plan, without a form to change it', async () => {
    const api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    const login = await api.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const orgId = (await api.request('GET', '/api/auth/me', undefined, { bearer: true })).body.organization
      .id;
    const invitation = await api.request(
      'POST',
      `/api/orgs/${orgId}/invitations`,
      { role: 'admin' },
      { bearer: true },
    );
    assert.equal(invitation.status, 201, JSON.stringify(invitation.body));
    const guestContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const guest = await guestContext.newPage();
    guest.setDefaultTimeout(20_000);
    try {
      await guest.goto(`${keel.base}/sign-up?invite=${encodeURIComponent(invitation.body.token)}`);
      await guest.getByLabel('Your name').fill('Edsger Dijkstra');
      await guest.getByLabel('Email').fill(ADMIN);
      await guest.getByLabel('Password').fill(PASSWORD);
      await guest.getByRole('button', { name: 'Create account' }).click();
      await guest.getByRole('heading', { name: 'Workspaces' }).waitFor();
      await guest.goto(`${keel.base}/admin/plan`);
      await guest.getByRole('heading', { name: /Starter/ }).waitFor();
      await guest.getByText('Only a super admin can change the plan.').waitFor();
      assert.equal(await guest.getByRole('button', { name: 'Save plan' }).count(), 0);
      await expectAccessible(guest, 'Plans and limits, read-only');
    } finally {
      await guestContext.close();
    }
  });

  step('dark theme: the page and a refused form pass axe', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${keel.base}/admin/plan`);
    await page.getByRole('heading', { name: /Starter/ }).waitFor();
    await expectAccessible(page, 'Plans and limits (dark)');
    await page.getByLabel('Workspaces at once').fill('0');
    await page.getByRole('button', { name: 'Save plan' }).click();
    await page.getByText('A whole number from 1, or empty for unlimited.').waitFor();
    await expectAccessible(page, 'Plans and limits, a refused form (dark)');
  });
});
