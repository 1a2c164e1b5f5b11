/**
 * Admin › Health in a real Chromium against the whole system started by `scripts/up` (with its
 * local runner): the founder opens it from the admin navigation, sees the live runner count the
 * API reports, the requests-per-minute chart drawn (a canvas) with its caption and its figures as
 * a table, the page asking again by itself, and no serious axe finding, CSP refusal or error.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { HealthReport } from '@keel/contract/health';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import {
  expectAccessible,
  launchChromium,
  type PageProblems,
  scenarioSteps,
  screenshot,
  watchForProblems,
} from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const FOUNDER = 'grace@example.com';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
let api: BrowserClient;

const step = scenarioSteps(
  'health',
  () => ({ page }),
  () => console.error(keel?.output().slice(-3000)),
);

describe('admin health console, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser] = await Promise.all([
      startKeel({ env: { KEEL_RUNNER_DRIVER: 'process', KEEL_EDGE_STATS_FLUSH_SECONDS: '1' } }),
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

  step('the founder opens Admin › Health and sees the live runner count', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Grace Hopper');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    assert.equal(
      (await api.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD })).status,
      200,
    );
    // The local runner of scripts/up is live.
    await waitFor(
      'the local runner online',
      async () => {
        const r = await api.request('GET', '/api/admin/health', undefined, { bearer: true });
        return r.status === 200 && (r.body as HealthReport).runners.online >= 1 ? true : undefined;
      },
      60_000,
      500,
    );

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Servers', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Health' }).click();
    await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/admin/health');
    const report = (await api.request('GET', '/api/admin/health', undefined, { bearer: true }))
      .body as HealthReport;
    await page
      .getByTestId('health-runners-online')
      .getByText(`${report.runners.online} of ${report.runners.total} online`)
      .waitFor();
    assert.ok(report.runners.online >= 1);
  });

  step('the chart is drawn, with its caption, and its figures as a table', async () => {
    const figure = page.getByRole('figure', { name: /Requests per minute and p99 latency/ });
    await figure.waitFor();
    await figure.locator('canvas').first().waitFor();
    const box = await figure.locator('canvas').first().boundingBox();
    assert.ok(box && box.width > 200 && box.height > 100, JSON.stringify(box));
    // The page's own requests are counted and flushed within a second: the next refresh shows them.
    await figure.getByText(/\d+ requests in the last 15 minutes/).waitFor({ timeout: 30_000 });
    await figure.getByText('Show the figures').click();
    const table = figure.getByRole('table');
    await table.waitFor();
    assert.equal(await table.getByRole('row').count(), 16, 'a header and 15 minutes');
    await screenshot(page, 'health-console');
    await expectAccessible(page, 'Health');
  });

  step('the page asks again by itself, about every 10 seconds', async () => {
    const again = await page.waitForRequest((r) => r.url().includes('/api/admin/health'), {
      timeout: 15_000,
    });
    assert.equal(again.method(), 'GET');
    await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
  });
});
