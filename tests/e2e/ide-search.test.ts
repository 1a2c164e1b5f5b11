/**
 * Quick open and search across files as a person uses them, in a real Chromium against the whole
 * system started by `scripts/up` (process driver, local Git allowed), on a workspace cloned from a
 * Git host stand-in serving zod's own sources (tests/harness/zod-repo.ts): Ctrl+P finds a file by
 * a few letters and opens it; Ctrl+Shift+F lists matches grouped by file and opens one at its
 * line; "Replace all" previews the change and applies it, and the file shows it.
 *
 * Build first: `npm run build -w @keel/web` (and `node runners/bundle.mjs`).
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Page } from 'playwright-core';
import type { GitHostStandin } from '../harness/git-host-standin.ts';
import { expectAccessible, type PageProblems, scenarioSteps, screenshot } from './support/browser.ts';
import { type IdeSystem, startIdeSystem } from './support/ide-system.ts';
import type { KeelInstance } from './support/keel-instance.ts';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'ghp_e2eSearchToken0123456789';
/** Third-party widgets whose markup is theirs to fix (see ide.test.ts). */
const THIRD_PARTY = ['.monaco-diff-editor', '.monaco-editor', '.xterm'];

let keel: KeelInstance;
let host: GitHostStandin;
let page: Page;
let problems: PageProblems;
let zodUrl: string;

const step = scenarioSteps(
  'ide-search',
  () => ({ page }),
  () => console.log(keel?.output()),
);

/** The editor's tab of a file, by its path. */
const openTab = (path: string) =>
  page.getByRole('navigation', { name: 'Open files' }).getByRole('button', { name: path, exact: true });
const searchView = () => page.getByRole('region', { name: 'Search across files' });
/** The text Monaco shows for the active editor (its visible lines). */
const editorText = async () =>
  ((await page.locator('.ide-editor .monaco-editor .view-lines').first().textContent()) ?? '').replace(
    /\u00a0/g,
    ' ',
  );

describe('quick open, find in files and replace in the IDE, end to end', { timeout: 300_000 }, () => {
  let system: IdeSystem | undefined;
  before(async () => {
    system = await startIdeSystem({ token: TOKEN, zod: true });
    ({ keel, host, page, problems } = system);
    zodUrl = system.zodUrl!;
  });

  after(async () => {
    await system?.stop();
  });

  step('a workspace cloned from the zod sources opens in the IDE', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Grace Search');
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    // The stand-in host wants a token for every clone, as a private host does.
    await page.goto(`${keel.base}/settings/integrations`);
    await page.getByRole('textbox', { name: 'Host' }).fill(host.host);
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByRole('row', { name: new RegExp(host.host.replace(/\./g, '\\.')) }).waitFor();

    await page.goto(keel.base);
    await page.getByRole('button', { name: 'New workspace' }).click();
    const dialog = page.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name').fill('zod');
    await dialog.getByText('A Git repository').click();
    await dialog.getByLabel('Repository URL').fill(zodUrl);
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    await page
      .getByRole('listitem', { name: 'zod' })
      .getByText('Running', { exact: true })
      .waitFor({ timeout: 90_000 });
    await page.getByRole('button', { name: 'Open zod' }).click();
    await page.getByRole('heading', { name: 'zod', level: 1 }).waitFor();
    await page.getByRole('treeitem', { name: 'src' }).waitFor();
  });

  step('Ctrl+P finds a file by a few letters and opens it', async () => {
    await page.keyboard.press('Control+P');
    const dialog = page.getByRole('dialog', { name: 'Go to file' });
    await dialog.waitFor();
    await dialog.getByRole('combobox').fill('memoiz');
    const first = dialog.getByRole('option').first();
    await first.filter({ hasText: 'memoizer.ts' }).waitFor();
    assert.equal(await first.getAttribute('data-path'), 'src/v4/core/memoizer.ts');
    assert.ok((await first.locator('mark').count()) > 0, 'the matched letters are highlighted');
    await expectAccessible(page, 'quick open', THIRD_PARTY);
    await screenshot(page, 'ide-search-quick-open');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    await openTab('src/v4/core/memoizer.ts').waitFor();
  });

  step('Ctrl+Shift+F lists matches grouped by file; a click opens the file at the line', async () => {
    await page.keyboard.press('Control+Shift+F');
    const view = searchView();
    await view.waitFor();
    await view.getByRole('searchbox', { name: 'Search' }).fill('ZodIBAN');
    await view.getByLabel('Match case').check();
    await view.getByLabel('Match whole word').check();
    const schemas = view.locator('.search-file[data-path="src/v4/classic/schemas.ts"]');
    await schemas.waitFor();
    await view
      .getByRole('status')
      .filter({ hasText: /results? in \d+ files?/ })
      .waitFor();
    const lines = schemas.locator('.search-line');
    assert.ok((await lines.count()) >= 2, 'several lines of the file match');
    assert.match((await lines.first().textContent()) ?? '', /ZodIBAN/);
    await expectAccessible(page, 'search view', THIRD_PARTY);
    await screenshot(page, 'ide-search-results');
    await lines.first().click();
    await openTab('src/v4/classic/schemas.ts').waitFor();
    await page.waitForFunction(() =>
      document.querySelector('.ide-editor .monaco-editor .view-lines')?.textContent?.includes('ZodIBAN'),
    );
  });

  step('Replace all previews the change, applies it, and the file shows it', async () => {
    const view = searchView();
    await view.getByRole('textbox', { name: 'Replace' }).fill('ZodIbanRenamed');
    await view.getByRole('button', { name: 'Replace all…' }).click();
    const preview = page.getByRole('dialog', { name: 'Replace in files' });
    await preview.waitFor();
    await preview.getByText(/lines? in \d+ files? change/).waitFor();
    await preview.locator('.monaco-diff-editor').waitFor();
    await screenshot(page, 'ide-search-replace-preview');
    await preview.getByRole('button', { name: /^Replace in \d+ files?$/ }).click();
    await preview.waitFor({ state: 'detached' });
    // The search runs again: nothing of the old name is left.
    await view
      .getByRole('status')
      .filter({ hasText: /^0 results in 0 files/ })
      .waitFor();

    await view.getByRole('searchbox', { name: 'Search' }).fill('ZodIbanRenamed');
    const schemas = view.locator('.search-file[data-path="src/v4/classic/schemas.ts"]');
    await schemas.waitFor();
    await schemas.locator('.search-line').first().click();
    await page.waitForFunction(() =>
      document
        .querySelector('.ide-editor .monaco-editor .view-lines')
        ?.textContent?.includes('ZodIbanRenamed'),
    );
    assert.match(await editorText(), /interface ZodIbanRenamed/);
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});
