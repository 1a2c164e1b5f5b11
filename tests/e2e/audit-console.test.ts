/**
 * Admin › Audit and Admin › Usage as an admin uses them, in a real Chromium against the whole
 * system started by `scripts/up`: the founder filters the trail by an action prefix and an
 * outcome (a malformed id is said at its field, a filter that matches nothing says so), verifies
 * the chain and reads the verdict, exports the filtered trail as CSV (a real download, whose rows
 * are the filtered ones, formula-safe), and opens Usage with its period selector and empty state.
 * Every page passes axe, in light and dark.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
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
const FOUNDER = 'barbara@example.com';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;

const step = scenarioSteps('audit-console', () => ({ page }));

const rows = () => page.getByRole('table', { name: 'Audit entries' }).locator('tbody tr');

describe('the audit and usage pages, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser] = await Promise.all([
      startKeel({ env: { KEEL_RUNNER_DRIVER: 'process' } }),
      launchChromium(),
    ]);
    context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      colorScheme: 'light',
      acceptDownloads: true,
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
  });

  step('the founder signs up', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Barbara Liskov');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  });

  step('Admin › Audit lists the trail; filters narrow it; Clear brings it back', async () => {
    await page.goto(`${keel.base}/admin/audit`);
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Audit' }).waitFor();
    await page.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    await rows().first().waitFor();
    const all = await rows().count();
    assert.ok(all >= 1, 'the sign-up is listed');
    assert.ok(
      (await page.getByRole('table', { name: 'Audit entries' }).textContent())?.includes('auth.signup'),
      'the sign-up entry is there',
    );
    await expectAccessible(page, 'Audit');

    // A bad id is said next to its field, and nothing is asked of the API.
    await page.getByLabel('Actor id').fill('barbara@example.com');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('A person’s id, such as usr_…').waitFor();
    await page.getByLabel('Actor id').fill('');

    await page.getByLabel('Action').fill('auth.');
    await page.getByLabel('Outcome').selectOption('success');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('table[aria-label="Audit entries"] tbody tr')].every((tr) =>
        tr.textContent?.includes('auth.'),
      ),
    );
    const actions = await rows().locator('td:nth-child(4)').allTextContents();
    assert.ok(actions.length >= 1);
    assert.ok(
      actions.every((a) => a.startsWith('auth.')),
      `only auth.* entries: ${actions.join(', ')}`,
    );
    const outcomes = await rows().locator('td:nth-child(5)').allTextContents();
    assert.ok(
      outcomes.every((o) => o === 'success'),
      `only successes: ${outcomes.join(', ')}`,
    );

    // Nothing matches: the empty state says so.
    await page.getByLabel('Action').fill('no.such.action');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No entries match these filters').waitFor();
    await expectAccessible(page, 'Audit, nothing matches');

    await page.getByRole('button', { name: 'Clear' }).click();
    await rows().first().waitFor();
    assert.equal(await page.getByLabel('Action').inputValue(), '');
  });

  step('Verify chain shows the verdict', async () => {
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const verdict = page.getByTestId('audit-verdict');
    await verdict.waitFor();
    assert.match((await verdict.textContent()) ?? '', /The chain is intact: \d+ entr(y|ies) checked/);
  });

  step('Export CSV downloads the filtered trail, formula-safe', async () => {
    await page.getByLabel('Action').fill('auth.*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('table[aria-label="Audit entries"] tbody tr')].every((tr) =>
        tr.textContent?.includes('auth.'),
      ),
    );
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^keel-audit-\d+T\d+Z\.csv$/);
    const path = await download.path();
    const text = readFileSync(path!, 'utf8');
    const lines = text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'seq,at,action,outcome,actorId,workspaceId,targetId,metadata,prevHash,hash');
    assert.ok(lines.length >= 2, 'at least the sign-up');
    for (const line of lines.slice(1)) assert.match(line.split(',')[2]!, /^auth\./);
    await page.getByText(/^Downloaded keel-audit-/).waitFor();
    // The export is itself recorded.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('table', { name: 'Audit entries' }).getByText('audit.export').first().waitFor();
  });

  step(
    'Admin › Usage: a period selector, and the empty state of an organization that used nothing yet',
    async () => {
      await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Usage' }).click();
      await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
      await page.getByText('No use in this period').waitFor();
      await page.getByLabel('Period').selectOption('7');
      await page.getByText('No use in this period').waitFor();
      await expectAccessible(page, 'Usage');
    },
  );

  step('dark theme: the same pages pass axe', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${keel.base}/admin/audit`);
    await rows().first().waitFor();
    await expectAccessible(page, 'Audit (dark)');
    await page.goto(`${keel.base}/admin/usage`);
    await page.getByText('No use in this period').waitFor();
    await expectAccessible(page, 'Usage (dark)');
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});
