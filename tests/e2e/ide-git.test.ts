/**
 * The IDE's Source Control view as a person uses it, in a real Chromium against the whole system
 * started by `scripts/up` (process driver, local Git allowed), on a workspace cloned from zod's own
 * sources served by a Git host stand-in (real `git http-backend` behind Basic auth): an edit saved
 * in the editor shows in the view with its letter, its diff opens in Monaco's diff editor, it is
 * staged, committed with Ctrl+Enter (author from the profile) and pushed; the stand-in's
 * repository then holds the commit.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Page } from 'playwright-core';
import type { GitHostStandin } from '../harness/git-host-standin.ts';
import { expectAccessible, type PageProblems, scenarioSteps, screenshot } from './support/browser.ts';
import { type IdeSystem, startIdeSystem } from './support/ide-system.ts';
import type { KeelInstance } from './support/keel-instance.ts';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'ghp_e2eGitPanelToken0123456789';
const THIRD_PARTY = ['.monaco-diff-editor', '.monaco-editor', '.xterm'];
const FILE = 'src/index.ts';

let keel: KeelInstance;
let host: GitHostStandin;
let page: Page;
let problems: PageProblems;

const step = scenarioSteps(
  'ide-git',
  () => ({ page }),
  () => console.log(keel?.output()),
);

const scm = () => page.getByRole('region', { name: 'Source control' });

/** A colleague's commit on the host's `main`, adding one file. */
function colleagueAdds(file: string, text: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'keel-ide-git-colleague-'));
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: dir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Colleague',
    GIT_AUTHOR_EMAIL: 'colleague@example.com',
    GIT_COMMITTER_NAME: 'Colleague',
    GIT_COMMITTER_EMAIL: 'colleague@example.com',
  };
  try {
    execFileSync('git', ['clone', '-q', join(host.root, 'zod.git'), 'c'], { cwd: dir, env });
    writeFileSync(join(dir, 'c', file), text);
    execFileSync('git', ['add', '-A'], { cwd: join(dir, 'c'), env });
    execFileSync('git', ['commit', '-qm', `Add ${file}`], { cwd: join(dir, 'c'), env });
    execFileSync('git', ['push', '-q', 'origin', 'main'], { cwd: join(dir, 'c'), env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the Source Control view: an edit is committed and pushed, end to end', { timeout: 300_000 }, () => {
  let system: IdeSystem | undefined;
  before(async () => {
    system = await startIdeSystem({ token: TOKEN, zod: true });
    ({ keel, host, page, problems } = system);
  });

  after(async () => {
    await system?.stop();
  });

  step('a person keeps a token for the Git host and clones zod into a workspace', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Grace Commit');
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
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
    await dialog.getByLabel('Repository URL').fill(host.url('zod.git'));
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    await page
      .getByRole('listitem', { name: 'zod' })
      .getByText('Running', { exact: true })
      .waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Open zod' }).click();
    await page.getByRole('heading', { name: 'zod', level: 1 }).waitFor();
    await page.getByRole('treeitem', { name: 'src' }).waitFor();
  });

  step('an edit saved in the editor shows in the Source Control view, and its diff opens', async () => {
    await page.getByRole('treeitem', { name: 'src' }).click();
    await page.getByRole('treeitem', { name: 'index.ts' }).click();
    await page.locator('.code-editor .monaco-editor').waitFor({ timeout: 60_000 });
    await page.locator('.code-editor .view-lines').click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.type('// edited in the IDE\n');
    await page.keyboard.press('Control+s');
    await page.locator('.status-bar-save', { hasText: 'Saved' }).waitFor();

    await page.getByRole('button', { name: /^Source control/ }).click();
    const changes = scm().getByRole('region', { name: 'Changes' });
    await changes.getByRole('button', { name: 'index.ts src', exact: true }).waitFor();
    assert.match((await changes.textContent()) ?? '', /modified/);
    await changes.getByRole('button', { name: 'index.ts src', exact: true }).click();
    await page.getByRole('heading', { name: `${FILE} (Working tree)` }).waitFor();
    await page.locator('.git-diff-editor .monaco-diff-editor').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() =>
      // Monaco draws spaces as no-break spaces.
      document
        .querySelector('.git-diff-editor .editor.modified .view-lines')
        ?.textContent?.replace(/\u00a0/g, ' ')
        .includes('edited in the IDE'),
    );
    await screenshot(page, 'ide-git-diff');
    await expectAccessible(page, 'source control with a diff', THIRD_PARTY);
  });

  step('staged, committed with Ctrl+Enter and pushed: the stand-in has the commit', async () => {
    await scm()
      .getByRole('button', { name: `Stage ${FILE}` })
      .click();
    const staged = scm().getByRole('region', { name: 'Staged changes' });
    await staged.getByRole('button', { name: 'index.ts src', exact: true }).waitFor();
    await scm().getByLabel('Commit message').fill('Say where the index was edited');
    await scm().getByLabel('Commit message').press('Control+Enter');
    await scm()
      .getByText(/Committed [0-9a-f]{7}: Say where the index was edited/)
      .waitFor({ timeout: 30_000 });
    await scm().getByText('No changes.').waitFor();
    await scm().getByText('1 to push (origin/main)').waitFor();

    await scm().getByRole('button', { name: 'Push', exact: true }).click();
    await scm().getByText('Pushed main to origin').waitFor({ timeout: 60_000 });
    await scm().getByText('Up to date with origin/main').waitFor();
    assert.equal(
      host.git('zod.git', 'log', '-1', '--format=%s|%an <%ae>', 'main').trim(),
      'Say where the index was edited|Grace Commit <grace@example.com>',
    );
    assert.match(host.git('zod.git', 'show', 'main:src/index.ts'), /^\/\/ edited in the IDE/);
    assert.equal((await page.content()).includes(TOKEN), false, 'the token is never on the page');
    await screenshot(page, 'ide-git-pushed');
    await expectAccessible(page, 'source control, pushed', THIRD_PARTY);
  });

  step(
    'a push the remote rejects says pull first; Pull merges and the file tree shows what came',
    async () => {
      colleagueAdds('src/from-colleague.ts', 'export const colleague = 1;\n');
      // The diff tab covers the editor until it is closed.
      await page.getByRole('button', { name: `Close the diff of ${FILE}` }).click();
      await page.locator('.code-editor .view-lines').click();
      await page.keyboard.press('Control+Home');
      await page.keyboard.type('// second edit\n');
      await page.keyboard.press('Control+s');
      await page.locator('.status-bar-save', { hasText: 'Saved' }).waitFor();
      await scm()
        .getByRole('button', { name: `Stage ${FILE}` })
        .click();
      await scm().getByRole('region', { name: 'Staged changes' }).waitFor();
      await scm().getByLabel('Commit message').fill('Second edit');
      await scm().getByRole('button', { name: 'Commit', exact: true }).click();
      await scm()
        .getByText(/Committed [0-9a-f]{7}: Second edit/)
        .waitFor({ timeout: 30_000 });

      await scm().getByRole('button', { name: 'Push', exact: true }).click();
      await scm()
        .getByRole('alert')
        .getByText(/pull first/)
        .waitFor({ timeout: 60_000 });
      await expectAccessible(page, 'source control, push rejected', THIRD_PARTY);
      await scm().getByRole('button', { name: 'Pull', exact: true }).click();
      await scm().getByText('Pulled and merged').waitFor({ timeout: 60_000 });
      await page.getByRole('button', { name: 'Files', exact: true }).click();
      await page.getByRole('treeitem', { name: 'from-colleague.ts' }).waitFor();
      await page.getByRole('button', { name: /^Source control/ }).click();
      await scm().getByRole('button', { name: 'Push', exact: true }).click();
      await scm().getByText('Pushed main to origin').waitFor({ timeout: 60_000 });
      assert.match(host.git('zod.git', 'log', '-1', '--format=%s', 'main'), /^Merge origin\/main into main/);
      assert.deepEqual(problems.pageErrors, []);
      assert.deepEqual(problems.cspViolations, []);
    },
  );
});
