/**
 * The issue's end to end, in a real Chromium against the whole system: `scripts/up` with its
 * local runner, and a second real runner ("east-2", labelled region=eu) started the way an
 * operator adds one, with a registration token of the organization, its own data folder and
 * the snapshot folder both share (the process driver: two hosts' worth of workspaces on one
 * machine). The admin sets a policy that prefers region=eu; a developer's workspace lands on
 * east-2, and they save a file in the IDE. The admin drains east-2 on the Runners page and
 * follows its progress; the developer's open IDE shows "Moving", then "Running" on the local
 * runner, with the file they saved, read again from the new host. Every page passes axe.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { type Spawned, spawnService } from '../harness/processes.ts';
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
const FOUNDER = 'barbara@example.com';
const DEVELOPER = 'ken@example.com';
const SECOND = 'east-2';
const THIRD_PARTY = ['.monaco-diff-editor', '.xterm'];
const CONTENT = 'saved before the move';

let keel: KeelInstance;
let second: Spawned | undefined;
let secondDataDir: string;
let snapshotDir: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
let devContext: BrowserContext | undefined;
let devPage: Page;
let devProblems: PageProblems | undefined;
let api: BrowserClient;
let dev: BrowserClient;
let workspaceId = '';
const runnerIds = { local: '', second: '' };

async function get(client: BrowserClient, path: string): Promise<any> {
  const res = await client.request('GET', path, undefined, { bearer: true });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const step = scenarioSteps(
  'fleet-drain',
  () => ({ page, dev: devPage }),
  () => {
    if (second) console.error(`${SECOND} said:\n${second.output().slice(-4000)}`);
  },
);

/** The Redis that `scripts/up` started for this instance: the one redis-server of its process group. */
function redisUrlOf(instance: KeelInstance): string {
  const lines = execFileSync('pgrep', ['-a', '-g', String(instance.pgid), 'redis-server'], {
    encoding: 'utf8',
  });
  // Its process title is `redis-server 127.0.0.1:PORT`.
  const port = /redis-server \S*:(\d+)/.exec(lines)?.[1];
  assert.ok(port, `no redis-server in the instance's group: ${lines}`);
  return `redis://127.0.0.1:${port}`;
}

async function runnerNamed(name: string): Promise<any> {
  return (await get(api, '/api/admin/runners')).runners.find((r: { name: string }) => r.name === name);
}

describe('a drain moves an open workspace, end to end', { timeout: 480_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    snapshotDir = mkdtempSync(join(tmpdir(), 'keel-fleet-drain-snapshots-'));
    secondDataDir = mkdtempSync(join(tmpdir(), 'keel-fleet-drain-east-2-'));
    chmodSync(snapshotDir, 0o711);
    chmodSync(secondDataDir, 0o711);
    [keel, browser] = await Promise.all([
      startKeel({
        env: { KEEL_RUNNER_DRIVER: 'process', KEEL_SNAPSHOT_DIR: snapshotDir, KEEL_IDLE_STOP_SECONDS: '0' },
      }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await devContext?.close().catch(() => {});
    await browser?.close();
    await second?.stop();
    await keel?.stop();
    for (const dir of [snapshotDir, secondDataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  step('the founder signs up, and a second runner registers with a token of the organization', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Barbara Liskov');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    assert.equal(
      (await api.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD })).status,
      200,
    );
    await waitFor(
      'the local runner',
      async () => (await runnerNamed('local'))?.status === 'online' || undefined,
      60_000,
      250,
    );

    const token = await api.request(
      'POST',
      '/api/admin/runner-tokens',
      { name: SECOND, labels: { region: 'eu' }, maxUses: 1 },
      { bearer: true },
    );
    assert.equal(token.status, 201, JSON.stringify(token.body));
    second = spawnService(
      'node',
      ['runners/bin/keel-runner.mjs'],
      {
        ...process.env,
        KEEL_URL: keel.base,
        KEEL_RUNNER_TOKEN: token.body.token,
        KEEL_RUNNER_NAME: SECOND,
        KEEL_RUNNER_DATA_DIR: secondDataDir,
        KEEL_RUNNER_DRIVER: 'process',
        KEEL_IDLE_STOP_SECONDS: '0',
        KEEL_SNAPSHOT_DIR: snapshotDir,
        REDIS_URL: redisUrlOf(keel),
      },
      root,
    );
    await waitFor(
      `${SECOND} to come online`,
      async () => {
        if (second?.child.exitCode !== null) throw new Error(`${SECOND} exited:\n${second?.output()}`);
        return (await runnerNamed(SECOND))?.status === 'online' || undefined;
      },
      60_000,
      250,
    );
    runnerIds.local = (await runnerNamed('local')).id;
    runnerIds.second = (await runnerNamed(SECOND)).id;
  });

  step('the admin sets a policy that prefers region=eu', async () => {
    await page.goto(`${keel.base}/admin/placement`);
    await page.getByRole('heading', { name: 'Placement', level: 1 }).waitFor();
    await page.getByRole('checkbox', { name: /Use the install’s default/ }).uncheck();
    await page.getByRole('radio', { name: /^Least loaded/ }).check();
    await page.getByRole('button', { name: 'Add label to preferred labels' }).click();
    await page.getByLabel('Key of preferred label 1').fill('region');
    await page.getByLabel('Value of preferred label 1').fill('eu');
    await page.getByRole('button', { name: 'Save policy' }).click();
    const applies = page.getByRole('region', { name: 'What applies now' });
    await applies.getByText('This organization’s policy').waitFor();
    await applies.getByText('region=eu').waitFor();
    await expectAccessible(page, 'Placement, set', THIRD_PARTY);
  });

  step('a developer’s workspace lands on east-2; they save a file in the IDE', async () => {
    const me = await get(api, '/api/auth/me');
    const invite = await api.request(
      'POST',
      `/api/orgs/${me.organization.id}/invitations`,
      { email: DEVELOPER, role: 'developer' },
      { bearer: true },
    );
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    dev = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    const signup = await dev.request('POST', '/api/auth/signup', {
      email: DEVELOPER,
      password: PASSWORD,
      name: 'Ken',
      inviteToken: invite.body.token,
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));

    devContext = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    devPage = await devContext.newPage();
    devPage.setDefaultTimeout(20_000);
    devProblems = watchForProblems(devPage);
    await devPage.goto(keel.base);
    await devPage.getByLabel('Email').fill(DEVELOPER);
    await devPage.getByLabel('Password').fill(PASSWORD);
    await devPage.getByRole('button', { name: 'Sign in' }).click();
    await devPage.getByRole('button', { name: 'New workspace' }).click();
    const dialog = devPage.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name', { exact: true }).fill('mover');
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    const card = devPage.getByRole('listitem', { name: 'mover' });
    await card.getByText('Running', { exact: true }).waitFor({ timeout: 90_000 });
    const ws = (await get(dev, '/api/workspaces')).workspaces[0];
    workspaceId = ws.id;
    assert.equal(ws.runnerId, runnerIds.second, 'the policy prefers region=eu');

    await card.getByRole('button', { name: 'Open mover' }).click();
    await devPage.getByRole('heading', { name: 'mover', level: 1 }).waitFor();
    await devPage.getByRole('button', { name: 'New file' }).click();
    const newFile = devPage.getByRole('dialog', { name: 'New file' });
    await newFile.getByLabel('File name').fill('notes.txt');
    await newFile.getByRole('button', { name: 'Create file' }).click();
    await devPage.locator('.code-editor .monaco-editor').waitFor({ timeout: 60_000 });
    await devPage.locator('.code-editor .view-lines').click();
    await devPage.keyboard.type(CONTENT);
    await devPage.keyboard.press('Control+s');
    await devPage.locator('.status-bar-save', { hasText: 'Saved' }).waitFor();

    // Some weight to carry (64 MiB that do not compress or repeat), so the move takes long
    // enough for the open IDE to see it under way, as it would with a real project.
    const run = devPage.getByLabel('Command to run in the workspace');
    await run.fill('head -c 67108864 /dev/urandom > data.bin && ls -l data.bin');
    await run.press('Enter');
    await devPage
      .locator('.run-status-text')
      .filter({ hasText: 'Exited with status 0' })
      .waitFor({ timeout: 60_000 });

    await devPage.getByRole('button', { name: 'Where it runs' }).click();
    const where = devPage.getByRole('dialog', { name: 'Where it runs' });
    await where.getByText(SECOND, { exact: true }).first().waitFor();
    await expectAccessible(devPage, 'Where it runs, before the move', THIRD_PARTY);
    await devPage.keyboard.press('Escape');
    await where.waitFor({ state: 'detached' });
  });

  step(
    'the admin drains east-2 and follows its progress; the open IDE shows Moving, then Running',
    async () => {
      // Every status the open IDE shows, in order, as the person sees it.
      // A script as text: the test's own compiled functions carry helpers the page does not have.
      await devPage.evaluate(`(() => {
      const seen = [];
      window.seenStatuses = seen;
      const badge = () => document.querySelector('.ide-header .status')?.textContent?.trim() ?? '';
      new MutationObserver(() => {
        const now = badge();
        if (now && seen[seen.length - 1] !== now) seen.push(now);
      }).observe(document.querySelector('.ide-header'), { subtree: true, childList: true, characterData: true });
      seen.push(badge());
    })()`);

      await page.goto(`${keel.base}/admin/runners`);
      const card = page.getByRole('listitem', { name: SECOND });
      await card.getByText('Online', { exact: true }).waitFor();
      await card.getByRole('button', { name: `Drain ${SECOND}` }).click();
      const confirm = page.getByRole('alertdialog', { name: `Drain ${SECOND}?` });
      await expectAccessible(page, 'Drain, confirmation', THIRD_PARTY);
      await confirm.getByRole('button', { name: 'Drain runner' }).click();
      await confirm.waitFor({ state: 'detached' });
      await card.getByText('Draining', { exact: true }).waitFor();
      await card
        .getByRole('status')
        .getByText(/remaining|Drained/)
        .waitFor();
      await screenshot(page, 'fleet-drain-progress');
      await expectAccessible(page, 'Runners, draining', THIRD_PARTY);

      const ideBadge = devPage.locator('.ide-header .status');
      await ideBadge.getByText('Moving', { exact: true }).waitFor({ timeout: 60_000 });
      await devPage
        .getByRole('status')
        .getByText(/moving to another host/)
        .waitFor();
      await screenshot(devPage, 'fleet-drain-moving');
      await expectAccessible(devPage, 'IDE, moving', THIRD_PARTY);
      await ideBadge.getByText('Running', { exact: true }).waitFor({ timeout: 120_000 });

      await card.getByText('Drained: no workspaces left').waitFor({ timeout: 60_000 });
      const moved = await get(dev, `/api/workspaces/${workspaceId}`);
      assert.equal(moved.status, 'running');
      assert.equal(moved.runnerId, runnerIds.local, 'on the other runner now');
      assert.ok((moved.generation ?? 0) >= 2, 'a new placement generation');
      const seen = (await devPage.evaluate('window.seenStatuses')) as string[];
      const moving = seen.indexOf('Moving');
      assert.ok(
        moving >= 0 && seen.lastIndexOf('Running') > moving,
        `Moving, then Running: ${seen.join(' → ')}`,
      );
    },
  );

  step('the IDE keeps working on the new host, with the file saved before the move', async () => {
    // The tree and the open tab were read again from the new host: no errors, the same text.
    await devPage.getByRole('treeitem', { name: 'notes.txt' }).waitFor();
    await devPage.getByRole('treeitem', { name: 'data.bin' }).waitFor();
    await devPage.locator('.code-editor .view-lines', { hasText: CONTENT }).waitFor();
    assert.equal(await devPage.locator('.ide-notice.alert-error').count(), 0, 'no error shown');
    const read = await dev.request('GET', `/api/workspaces/${workspaceId}/files?path=notes.txt`, undefined, {
      bearer: true,
    });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.match(JSON.stringify(read.body), new RegExp(CONTENT));
    // And it keeps saving there.
    await devPage.locator('.code-editor .view-lines').click();
    await devPage.keyboard.press('Control+End');
    await devPage.keyboard.type(', and after it');
    await devPage.keyboard.press('Control+s');
    await devPage.locator('.status-bar-save', { hasText: 'Saved' }).waitFor();

    await devPage.getByRole('button', { name: 'Where it runs' }).click();
    const where = devPage.getByRole('dialog', { name: 'Where it runs' });
    await where.getByText('local', { exact: true }).first().waitFor();
    await where.getByText(/when its host was drained/).waitFor();
    await screenshot(devPage, 'fleet-drain-after');
    await expectAccessible(devPage, 'Where it runs, after the move', THIRD_PARTY);
  });

  test('no CSP violations or uncaught errors anywhere along the way', () => {
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(devProblems?.cspViolations ?? [], []);
    assert.deepEqual(devProblems?.pageErrors ?? [], []);
  });
});
