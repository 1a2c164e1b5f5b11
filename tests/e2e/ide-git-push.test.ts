/**
 * Pushing from the IDE as a person does it, in a real Chromium against the whole system started by
 * `scripts/up` (process driver, local Git allowed) and a Git host stand-in (real `git http-backend`
 * behind Basic auth) serving a private repository: the founder keeps a token for the host in
 * Settings › Integrations, clones the private repository into a workspace, commits from the Run
 * box, and pushes with the header's Push button; the stand-in's bare repository then holds the
 * commit. A remote that is not there is refused in the edge's words; without a kept token the
 * push is answered "not pushed" with a link to keep one. The dialog passes axe in each state.
 *
 * Build first: `npm run build -w @keel/web`.
 */
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Page } from 'playwright-core';
import type { GitHostStandin } from '../harness/git-host-standin.ts';
import { expectAccessible, type PageProblems, scenarioSteps, screenshot } from './support/browser.ts';
import { type IdeSystem, startIdeSystem } from './support/ide-system.ts';
import type { KeelInstance } from './support/keel-instance.ts';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'ghp_e2ePushToken0123456789';
/** Third-party widgets whose markup is theirs to fix (see ide.test.ts). */
const THIRD_PARTY = ['.monaco-diff-editor', '.xterm'];

let keel: KeelInstance;
let host: GitHostStandin;
let page: Page;
let problems: PageProblems;
let ideUrl: string;

const step = scenarioSteps(
  'ide-git-push',
  () => ({ page }),
  () => console.log(keel?.output()),
);

/** Runs a command in the Run box and answers its output once it exited with status 0. */
async function run(command: string): Promise<string> {
  const input = page.getByLabel('Command to run in the workspace');
  await input.fill(command);
  await input.press('Enter');
  await page
    .locator('.run-status-text')
    .filter({ hasText: 'Exited with status 0' })
    .waitFor({ timeout: 30_000 });
  return (await page.locator('.run-output').textContent()) ?? '';
}

async function commit(line: string): Promise<string> {
  const output = await run(
    `echo ${line} >> README.md && git -c user.name=E2E -c user.email=e2e@example.com commit -qam ${line} && git rev-parse HEAD`,
  );
  const head = /\b[0-9a-f]{40}\b/.exec(output)?.[0];
  assert.ok(head, `the commit printed its id:\n${output}`);
  return head;
}

const pushDialog = () => page.getByRole('dialog', { name: 'Push to a Git remote' });

describe('pushing from the IDE with a kept Git host token, end to end', { timeout: 300_000 }, () => {
  let system: IdeSystem | undefined;
  before(async () => {
    system = await startIdeSystem({ token: TOKEN });
    ({ keel, host, page, problems } = system);
  });

  after(async () => {
    await system?.stop();
  });

  step('the founder keeps a token for the Git host in Settings › Integrations', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Linus Push');
    await page.getByLabel('Email').fill('linus@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();

    await page.goto(`${keel.base}/settings/integrations`);
    await page.getByText('No Git host tokens yet').waitFor();
    await page.getByRole('textbox', { name: 'Host' }).fill(host.host);
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByRole('row', { name: new RegExp(host.host.replace(/\./g, '\\.')) }).waitFor();
  });

  step('a workspace cloned from the private repository opens in the IDE', async () => {
    await page.goto(keel.base);
    await page.getByRole('button', { name: 'New workspace' }).click();
    const dialog = page.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name').fill('private');
    await dialog.getByText('A Git repository').click();
    await dialog.getByLabel('Repository URL').fill(host.url('private.git'));
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    const card = page.getByRole('listitem', { name: 'private' });
    await card.getByText('Running', { exact: true }).waitFor({ timeout: 90_000 });

    await page.getByRole('button', { name: 'Open private' }).click();
    await page.getByRole('heading', { name: 'private', level: 1 }).waitFor();
    await page.getByRole('treeitem', { name: 'README.md' }).waitFor();
    ideUrl = page.url();
  });

  step('a commit pushed with the header’s Push button reaches the host', async () => {
    const head = await commit('pushed-from-the-ide');
    await page.getByRole('banner').getByRole('button', { name: 'Push', exact: true }).click();
    const dialog = pushDialog();
    await dialog.waitFor();
    assert.equal(await dialog.getByRole('textbox', { name: 'Remote' }).inputValue(), 'origin');
    assert.equal(await dialog.getByRole('textbox', { name: /^Branch/ }).inputValue(), '');
    await expectAccessible(page, 'push dialog', THIRD_PARTY);

    await dialog.getByRole('button', { name: 'Push', exact: true }).click();
    await dialog.getByText('Pushed main to origin').waitFor({ timeout: 60_000 });
    const output = (await dialog.getByRole('log', { name: 'What git said' }).textContent()) ?? '';
    assert.match(output, /main -> main/, output);
    assert.match(
      (await dialog.textContent()) ?? '',
      new RegExp(host.url('private.git').replace(/[.?]/g, '\\$&')),
    );
    assert.match((await dialog.textContent()) ?? '', /Your kept token was sent/);
    assert.equal(await dialog.getByRole('link', { name: /Keep a token/ }).count(), 0);
    assert.equal(host.git('private.git', 'rev-parse', 'main').trim(), head, 'the host has the commit');
    assert.equal((await page.content()).includes(TOKEN), false, 'the token is never on the page');
    await screenshot(page, 'ide-git-push-pushed');
    await expectAccessible(page, 'push dialog, pushed', THIRD_PARTY);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  step('without a kept token the push is not made, and the dialog links to Integrations', async () => {
    await page.goto(`${keel.base}/settings/integrations`);
    await page.getByRole('button', { name: `Delete the token for ${host.host}` }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No Git host tokens yet').waitFor();

    await page.goto(ideUrl);
    await page.getByRole('heading', { name: 'private', level: 1 }).waitFor();
    const before = host.git('private.git', 'rev-parse', 'main').trim();
    await page.keyboard.press('Alt+R');
    await commit('not-pushed');
    // The palette's command opens the same dialog.
    await page.keyboard.press('Control+Shift+P');
    await page
      .getByRole('dialog', { name: 'Commands and keyboard shortcuts' })
      .getByRole('combobox')
      .fill('Git: Push');
    await page.keyboard.press('Enter');
    const dialog = pushDialog();
    // A refusal is the edge's own words, in an alert.
    await dialog.getByRole('textbox', { name: 'Remote' }).fill('upstream');
    await dialog.getByRole('button', { name: 'Push', exact: true }).click();
    await dialog
      .getByRole('alert')
      .getByText(/no remote named upstream/)
      .waitFor({ timeout: 60_000 });
    await expectAccessible(page, 'push dialog, refused', THIRD_PARTY);
    await dialog.getByRole('textbox', { name: 'Remote' }).fill('origin');
    await dialog.getByRole('button', { name: 'Push', exact: true }).click();
    await dialog.getByText('Not pushed: origin did not take main').waitFor({ timeout: 60_000 });
    assert.match((await dialog.textContent()) ?? '', /No token was sent/);
    const link = dialog.getByRole('link', {
      name: `Keep a token for ${host.host} in Settings › Integrations`,
    });
    await link.waitFor();
    assert.equal(host.git('private.git', 'rev-parse', 'main').trim(), before, 'nothing reached the host');
    await expectAccessible(page, 'push dialog, not pushed', THIRD_PARTY);

    await link.click();
    await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});
