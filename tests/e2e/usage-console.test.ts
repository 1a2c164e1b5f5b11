/**
 * Usage, Analytics and Settings › Usage in a real Chromium against the whole system started by
 * `scripts/up` (process driver, the runner's model at the fake OpenAI-compatible server, usage
 * samples every second): a scripted workload (workspaces, commands, an AI call) shows up as figures
 * on Admin › Usage and Admin › Analytics, narrowed by a filter and downloaded as CSV; a developer
 * reads their own usage in settings, downloads it, and cannot open the admin pages. The empty and
 * the failed states show too. Each page passes axe (the admin pages in the dark theme as well).
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { waitFor } from '../harness/ports.ts';
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
const FOUNDER = 'barbara@example.com';
const DEVELOPER = 'ken@example.com';
/** How often the runner samples its workspaces: short, so the figures arrive within seconds. */
const USAGE_INTERVAL_ENV = 'KEEL_RUNNER_USAGE_INTERVAL_SECONDS';

let fake: FakeOpenAi;
let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let devContext: BrowserContext;
let devPage: Page;
let problems: PageProblems;
let admin: BrowserClient;
let dev: BrowserClient;
let founderWorkspace: string;
let devWorkspace: string;

const client = () => new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));

async function ok(c: BrowserClient, method: string, path: string, body?: unknown): Promise<any> {
  const res = await c.request(method, path, body, { bearer: true });
  assert.ok(
    res.status >= 200 && res.status < 300,
    `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`,
  );
  return res.body;
}

/** A workspace made through the API, once it runs. */
async function runningWorkspace(c: BrowserClient, name: string): Promise<string> {
  const { id } = await ok(c, 'POST', '/api/workspaces', { name });
  await waitFor(
    `workspace ${name} to run`,
    async () =>
      (await ok(c, 'GET', `/api/workspaces/${id}/status`)).status === 'running' ? true : undefined,
    60_000,
    250,
  );
  return id;
}

/** Runs a command to its end, reading its event stream (the end is the `exit` event). */
async function runCommand(c: BrowserClient, workspaceId: string, command: string): Promise<void> {
  const { executionId } = await ok(c, 'POST', `/api/workspaces/${workspaceId}/execute`, { command });
  const res = await fetch(
    new URL(`/api/workspaces/${workspaceId}/executions/${executionId}/events`, keel.base),
    {
      headers: { authorization: `Bearer ${c.accessToken}` },
    },
  );
  assert.equal(res.status, 200);
  assert.match(await res.text(), /event: exit/);
}

const step = scenarioSteps(
  'usage-console',
  () => ({ page, devPage }),
  () => console.error(keel?.output()),
);

describe('usage and analytics pages, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    fake = await startFakeOpenAi({ fallback: { tokens: ['It ', 'adds ', 'two ', 'numbers.'] } });
    [keel, browser] = await Promise.all([
      startKeel({
        env: {
          KEEL_RUNNER_DRIVER: 'process',
          KEEL_AI_BASE_URL: fake.baseUrl,
          KEEL_AI_MODEL: FAKE_MODEL,
          [USAGE_INTERVAL_ENV]: '1',
        },
      }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
    await fake?.close();
  });

  step('a founder and a developer run a workload: workspaces, commands and an AI call', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Barbara Liskov');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    // Before anything ran: the empty state, not a page of zeros.
    await page.goto(`${keel.base}/settings/usage`);
    await page.getByText('No use in this period').waitFor();
    await expectAccessible(page, 'My usage, empty');

    admin = client();
    assert.equal(
      (await admin.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD })).status,
      200,
    );
    const orgId = (await ok(admin, 'GET', '/api/auth/me')).organization.id;
    const invitation = await ok(admin, 'POST', `/api/orgs/${orgId}/invitations`, { role: 'developer' });
    dev = client();
    const signup = await dev.request('POST', '/api/auth/signup', {
      email: DEVELOPER,
      password: PASSWORD,
      name: 'Ken Thompson',
      inviteToken: invitation.token,
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));

    [founderWorkspace, devWorkspace] = await Promise.all([
      runningWorkspace(admin, 'usage-load'),
      runningWorkspace(dev, 'ken-sandbox'),
    ]);
    // Some CPU to count: a shell loop of a second or so.
    await runCommand(admin, founderWorkspace, 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo done');
    await runCommand(dev, devWorkspace, 'echo hello');
    await ok(dev, 'PUT', `/api/workspaces/${devWorkspace}/files?path=add.js`, {
      content: 'export const add = (a, b) => a + b;\n',
    });
    const explain = await fetch(new URL('/api/ai/explain', keel.base), {
      method: 'POST',
      headers: { authorization: `Bearer ${dev.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceId: devWorkspace, path: 'add.js' }),
    });
    assert.match(await explain.text(), /event: done\ndata: \{"outcome":"success"/);

    // The runner's samples and the counters reach the report within seconds.
    await waitFor(
      'the usage report to hold the workload',
      async () => {
        const r = await ok(
          admin,
          'GET',
          `/api/admin/usage?granularity=hour&since=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`,
        );
        const t = r.resources.totals;
        return t.cpuSeconds > 0 && t.runningSeconds > 0 && t.commands >= 2 && t.aiCalls >= 1 ? r : undefined;
      },
      60_000,
      1000,
    );
  });

  step('Admin › Usage shows the figures, narrows them to a person, and downloads them as CSV', async () => {
    await page.goto(`${keel.base}/admin/usage`);
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    const tiles = page.getByRole('region', { name: 'Totals of the period' });
    await tiles.waitFor();
    assert.match((await tiles.textContent()) ?? '', /Commands\s*[2-9]/);
    const people = page.getByRole('table', { name: 'People' });
    await people.getByRole('rowheader', { name: FOUNDER }).waitFor();
    await people.getByRole('rowheader', { name: DEVELOPER }).waitFor();
    const workspaces = page.getByRole('table', { name: 'Top workspaces' });
    await workspaces.getByRole('rowheader', { name: 'usage-load' }).waitFor();
    await workspaces.getByRole('rowheader', { name: 'ken-sandbox' }).waitFor();
    await page
      .getByRole('table', { name: 'AI by model' })
      .getByRole('rowheader', { name: FAKE_MODEL })
      .waitFor();
    await expectAccessible(page, 'Usage');

    await page.getByLabel('Person', { exact: true }).selectOption({ label: DEVELOPER });
    await workspaces.getByRole('rowheader', { name: 'usage-load' }).waitFor({ state: 'detached' });
    await workspaces.getByRole('rowheader', { name: 'ken-sandbox' }).waitFor();
    assert.equal(await people.getByRole('rowheader', { name: FOUNDER }).count(), 0);

    const link = page.getByRole('link', { name: 'Download CSV' });
    const href = (await link.getAttribute('href')) ?? '';
    const query = new URL(href, keel.base).searchParams;
    assert.equal(query.get('format'), 'csv');
    assert.ok(query.get('userId'), 'the CSV takes the person filter');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const csv = readFileSync((await download.path()) ?? '', 'utf8');
    assert.match(download.suggestedFilename(), /\.csv$/);
    assert.ok(csv.includes(devWorkspace), 'the developer’s workspace is in the CSV');
    assert.ok(!csv.includes(founderWorkspace), 'the filter holds in the CSV');
    await page
      .getByRole('status')
      .getByText(/Downloaded .*\.csv/)
      .waitFor();
  });

  step('Admin › Analytics charts the same use, each chart with its figures as a table', async () => {
    // The first answer fails (as a dropped edge would): the page says so and tries again on request.
    let failed = false;
    await page.route('**/api/admin/usage?**', (route) => {
      if (failed) return route.fallback();
      failed = true;
      return route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'unavailable', message: 'Try later.', requestId: 'req_e2e' } }),
      });
    });
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Analytics' }).click();
    await page.getByRole('heading', { name: 'Analytics', level: 1 }).waitFor();
    await page.getByRole('alert').getByText('Could not load the analytics').waitFor();
    await expectAccessible(page, 'Analytics, failed');
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.unroute('**/api/admin/usage?**');
    const charts = [
      'Workspaces running',
      'CPU-hours over time',
      'AI tokens per day',
      'AI time to first token per day',
      'AI latency per day',
    ];
    for (const title of charts) await page.getByRole('figure', { name: new RegExp(`^${title} `) }).waitFor();
    // uPlot drew each of them.
    await waitFor('a canvas in every chart', async () =>
      (await page.locator('.usage-chart canvas').count()) >= charts.length ? true : undefined,
    );
    // The chart's own figures, one row per day named by its date (not "00:00" on every row).
    const running = page.getByRole('figure', { name: /^Workspaces running / });
    await running.getByText('Show the figures').click();
    const runningTable = running.getByRole('table', { name: 'Workspaces running' });
    await runningTable.getByRole('columnheader', { name: 'Day (UTC)' }).waitFor();
    const days = await runningTable.getByRole('rowheader').allTextContents();
    assert.ok(days.length >= 2, `a row per day of the period: ${days.join(', ')}`);
    for (const day of days) assert.match(day, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(new Set(days).size, days.length, 'each day named once');
    const counts = await runningTable.locator('tbody td').allTextContents();
    assert.ok(
      counts.some((c) => /^[1-9]\d* workspaces$/.test(c)),
      `a day with workspaces running: ${counts.join(', ')}`,
    );
    await page
      .getByRole('table', { name: 'AI tokens per model' })
      .getByRole('rowheader', { name: FAKE_MODEL })
      .waitFor();
    await page
      .getByRole('table', { name: 'CPU-hours per person' })
      .getByRole('rowheader', { name: FOUNDER })
      .waitFor();
    await page
      .getByRole('table', { name: 'AI latency per model' })
      .getByRole('rowheader', { name: FAKE_MODEL })
      .waitFor();
    await expectAccessible(page, 'Analytics');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expectAccessible(page, 'Analytics (dark)');
    await page.goto(`${keel.base}/admin/usage`);
    await page.getByRole('region', { name: 'Totals of the period' }).waitFor();
    await expectAccessible(page, 'Usage (dark)');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
  });

  step(
    'a developer reads their own usage in settings, downloads it, and cannot open the admin pages',
    async () => {
      devContext = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        acceptDownloads: true,
      });
      devPage = await devContext.newPage();
      devPage.setDefaultTimeout(20_000);
      await devPage.goto(`${keel.base}/sign-in`);
      await devPage.getByLabel('Email').fill(DEVELOPER);
      await devPage.getByLabel('Password').fill(PASSWORD);
      await devPage.getByRole('button', { name: 'Sign in' }).click();
      await devPage.getByRole('heading', { name: 'Workspaces' }).waitFor();
      await devPage.goto(`${keel.base}/settings/profile`);
      await devPage
        .getByRole('navigation', { name: 'Settings' })
        .getByRole('link', { name: 'Usage' })
        .click();
      await devPage.getByRole('heading', { name: 'My usage', level: 1 }).waitFor();
      const mine = devPage.getByRole('table', { name: 'My workspaces' });
      await mine.getByRole('rowheader', { name: 'ken-sandbox' }).waitFor();
      assert.equal(await mine.getByRole('rowheader', { name: 'usage-load' }).count(), 0);
      await devPage
        .getByRole('table', { name: 'My models' })
        .getByRole('rowheader', { name: FAKE_MODEL })
        .waitFor();
      await devPage.getByRole('figure', { name: /^My AI tokens over time / }).waitFor();
      const tokens = devPage.getByRole('figure', { name: /^My AI tokens over time / });
      await tokens.getByText('Show the figures').click();
      const tokenTable = tokens.getByRole('table', { name: 'My AI tokens over time' });
      await tokenTable.getByRole('rowheader').first().waitFor();
      assert.match(
        (await tokenTable.getByRole('rowheader').first().textContent()) ?? '',
        /^\d{4}-\d{2}-\d{2}$/,
      );
      assert.ok(
        (await tokenTable.locator('tbody td').allTextContents()).some((c) =>
          /^[1-9][\d.]*k? tokens$/.test(c),
        ),
        'a day with the AI call’s tokens',
      );
      assert.match(
        (await devPage.getByRole('region', { name: 'My totals' }).textContent()) ?? '',
        /AI calls\s*1/,
      );
      await expectAccessible(devPage, 'My usage');

      const [download] = await Promise.all([
        devPage.waitForEvent('download'),
        devPage.getByRole('link', { name: 'Download CSV' }).click(),
      ]);
      const csv = readFileSync((await download.path()) ?? '', 'utf8');
      assert.ok(csv.includes(devWorkspace));
      assert.ok(!csv.includes(founderWorkspace), 'only my own workspaces');

      for (const path of ['/admin/usage', '/admin/analytics']) {
        await devPage.goto(`${keel.base}${path}`);
        await devPage.getByRole('heading', { name: 'Not allowed' }).waitFor();
      }
      const refused = await dev.request('GET', '/api/admin/usage', undefined, { bearer: true });
      assert.equal(refused.status, 403);
      await devContext.close();
    },
  );
});
