/**
 * The fleet's pages as people use them, in a real Chromium against the whole system started by
 * `scripts/up` (one local runner, the process driver): the founder (super_admin and install
 * administrator) finds Placement and Snapshots in Admin; sets a policy that no runner meets, so
 * a developer's new workspace shows "Queued" with the reason, then goes back to the install's
 * default and sees it run; sets the snapshot store (an S3 store's secret is asked for, never
 * shown, only its fingerprint), and sees Drain with its confirmation on Runners and Servers.
 * The developer's create dialog has Region and GPUs (checked before sending); the workspace list
 * and the IDE take snapshots; the IDE's Snapshots panel restores one (asked first) and the open
 * editor shows the restored file; "Where it runs" explains the placement. Each page's loading,
 * empty and error states are its own, and every page passes axe.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
const DEVELOPER = 'edsger@example.com';
const THIRD_PARTY = ['.monaco-diff-editor', '.xterm'];
/** A documentation address (RFC 5737): registered, never dialled. */
const SERVER_HOST = '198.51.100.31';
const S3_SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
let devContext: BrowserContext | undefined;
let devPage: Page;
let devProblems: PageProblems | undefined;
let api: BrowserClient;
let dev: BrowserClient;
let snapshotDir: string;
let keyFile: string;
let workspaceId = '';
/** Which of the fleet's routes the edge serves (the rest must show their pages' error states). */

async function get(client: BrowserClient, path: string): Promise<any> {
  const res = await client.request('GET', path, undefined, { bearer: true });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The route is served: an unmounted one would answer 404 for a path that exists. */
async function mustServe(client: BrowserClient, method: string, path: string, body?: unknown) {
  const res = await client.request(method, path, body, { bearer: true });
  assert.notEqual(res.status, 404, `${method} ${path} is served`);
}

const step = scenarioSteps('fleet-console', () => ({ page, dev: devPage }));

const adminNav = () => page.getByRole('navigation', { name: 'Admin' });
const workspaceCard = () => devPage.getByRole('listitem', { name: 'notes' });

describe('the fleet’s pages, end to end', { timeout: 420_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    snapshotDir = mkdtempSync(join(tmpdir(), 'keel-fleet-console-snapshots-'));
    chmodSync(snapshotDir, 0o711);
    keyFile = join(snapshotDir, '..', `${snapshotDir.split('/').pop()}-key`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'keel-fleet-e2e', '-f', keyFile]);
    [keel, browser] = await Promise.all([
      startKeel({ env: { KEEL_RUNNER_DRIVER: 'process', KEEL_SNAPSHOT_DIR: snapshotDir } }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
    if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
    if (keyFile) for (const f of [keyFile, `${keyFile}.pub`]) rmSync(f, { force: true });
  });

  step('the founder signs up; Admin lists Placement, and Snapshots for install administrators', async () => {
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
    assert.equal((await get(api, '/api/auth/me')).installAdmin, true);
    await waitFor(
      'the local runner to come online',
      async () =>
        (await get(api, '/api/admin/runners')).runners.some(
          (r: { name: string; status: string }) => r.name === 'local' && r.status === 'online',
        ) || undefined,
      60_000,
      250,
    );
    await mustServe(api, 'GET', '/api/admin/placement-policy');
    await mustServe(api, 'GET', '/api/install/snapshot-store');
    const local = (await get(api, '/api/admin/runners')).runners.find(
      (r: { name: string }) => r.name === 'local',
    );
    await mustServe(api, 'POST', `/api/install/runners/${local.id}/drain`, { drain: false });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await adminNav().getByRole('link', { name: 'Placement' }).waitFor();
    await adminNav().getByRole('link', { name: 'Snapshots' }).waitFor();
  });

  step('Placement: a policy is checked before it is sent, saved, and shown as what applies', async () => {
    await adminNav().getByRole('link', { name: 'Placement' }).click();
    await page.getByRole('heading', { name: 'Placement', level: 1 }).waitFor();
    const applies = page.getByRole('region', { name: 'What applies now' });
    await applies.getByText('The install’s default').waitFor();
    const useDefault = page.getByRole('checkbox', { name: /Use the install’s default/ });
    assert.equal(await useDefault.isChecked(), true);
    await expectAccessible(page, 'Placement, the install’s default', THIRD_PARTY);

    await useDefault.uncheck();
    await page.getByRole('radio', { name: /^Round robin/ }).check();
    await page.getByRole('button', { name: 'Add label to required labels' }).click();
    await page.getByLabel('Key of required label 1').fill('Region');
    await page.getByLabel('Value of required label 1').fill('mars');
    const puts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'PUT') puts.push(r.url());
    };
    page.on('request', onRequest);
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page
      .getByRole('alert')
      .getByText(/Required labels: Label keys are lower-case/)
      .waitFor();
    page.off('request', onRequest);
    assert.deepEqual(puts, [], 'nothing sent');

    await page.getByLabel('Key of required label 1').fill('region');
    await page.getByRole('button', { name: 'Add label to preferred labels' }).click();
    await page.getByLabel('Key of preferred label 1').fill('disk');
    await page.getByLabel('Value of preferred label 1').fill('ssd');
    await expectAccessible(page, 'Placement, a policy being edited', THIRD_PARTY);
    const put = page.waitForRequest((r) => r.method() === 'PUT');
    await page.getByRole('button', { name: 'Save policy' }).click();
    assert.deepEqual((await put).postDataJSON(), {
      policy: {
        strategy: 'round-robin',
        requiredLabels: { region: 'mars' },
        preferredLabels: { disk: 'ssd' },
        cpuOvercommit: 8,
        memoryOvercommit: 1.5,
      },
    });
    await page.getByText(/^Saved\. New placements follow it/).waitFor();
    await applies.getByText('This organization’s policy').waitFor();
    await applies.getByText('region=mars').waitFor();
    const stored = await get(api, '/api/admin/placement-policy');
    assert.deepEqual(stored.effective, {
      strategy: 'round-robin',
      requiredLabels: { region: 'mars' },
      preferredLabels: { disk: 'ssd' },
      cpuOvercommit: 8,
      memoryOvercommit: 1.5,
    });
    await screenshot(page, 'fleet-placement');
  });

  step('Snapshots: an S3 store needs its secret, which is then shown only by fingerprint', async () => {
    await adminNav().getByRole('link', { name: 'Snapshots' }).click();
    await page.getByRole('heading', { name: 'Snapshots', level: 1 }).waitFor();
    await page.getByRole('radio', { name: /^An S3-compatible store/ }).check();
    await page.getByLabel(/^Endpoint/).fill('http://198.51.100.40:9000');
    await page.getByLabel(/^Bucket/).fill('keel-snapshots');
    await page.getByLabel(/^Access key ID/).fill('AKIAFLEETCONSOLE');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('A new S3 store needs its secret access key.').waitFor();
    assert.equal(await page.getByLabel(/^Secret access key/).getAttribute('aria-invalid'), 'true');
    await expectAccessible(page, 'Snapshots settings, a field to fix', THIRD_PARTY);

    await page.getByLabel(/^Secret access key/).fill(S3_SECRET);
    await page.getByLabel(/^Snapshot every/).fill('30');
    await page.getByLabel(/^Snapshots kept/).fill('3');
    const put = page.waitForRequest((r) => r.method() === 'PUT');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const sent = (await put).postDataJSON();
    assert.equal(sent.secretAccessKey, S3_SECRET);
    assert.equal(sent.intervalMinutes, 30);
    assert.equal(sent.retention, 3);
    await page.getByText(/^Saved\. Runners use the new store/).waitFor();
    const stored = await get(api, '/api/install/snapshot-store');
    assert.ok(stored.secretFingerprint, 'a fingerprint for the secret');
    await page.getByText(`One is set (fingerprint ${stored.secretFingerprint})`, { exact: false }).waitFor();
    assert.equal((await page.content()).includes(S3_SECRET), false, 'the secret is not in the page');
    await page.reload();
    await page.getByLabel(/^Bucket/).waitFor();
    assert.equal(await page.getByLabel(/^Secret access key/).inputValue(), '');
    assert.equal((await page.content()).includes(S3_SECRET), false);
    await screenshot(page, 'fleet-snapshot-store');
    await expectAccessible(page, 'Snapshots settings, S3', THIRD_PARTY);

    // Back to the folder every runner of this machine shares, for the snapshots below.
    await page.getByRole('radio', { name: /^A folder/ }).check();
    await page.getByLabel(/^Folder/).fill(snapshotDir);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText(/^Saved\. Runners use the new store/).waitFor();
    assert.deepEqual((await get(api, '/api/install/snapshot-store')).store, {
      kind: 'folder',
      path: snapshotDir,
    });
  });

  step('Install: the default placement of organizations without a policy of their own', async () => {
    await page.goto(`${keel.base}/install`);
    const section = page.getByRole('region', { name: 'Default placement' });
    await section.getByRole('radio', { name: /^Round robin/ }).check();
    await section.getByRole('button', { name: 'Add label to preferred labels' }).click();
    await section.getByLabel('Key of preferred label 1').fill('disk');
    await section.getByLabel('Value of preferred label 1').fill('nvme');
    await expectAccessible(page, 'Install, default placement', THIRD_PARTY);
    const put = page.waitForRequest((r) => r.method() === 'PUT');
    await section.getByRole('button', { name: 'Save default placement' }).click();
    const policy = {
      strategy: 'round-robin',
      requiredLabels: {},
      preferredLabels: { disk: 'nvme' },
      cpuOvercommit: 8,
      memoryOvercommit: 1.5,
    };
    assert.deepEqual((await put).postDataJSON(), { placementPolicy: policy });
    await section.getByText(/^Saved\. Organizations without a policy/).waitFor();
    assert.deepEqual((await get(api, '/api/install/settings')).settings.placementPolicy, policy);
    assert.deepEqual((await get(api, '/api/admin/placement-policy')).installDefault, policy);
    await page.goto(`${keel.base}/admin/placement`);
    await page.getByText(/^Round robin; required labels none; preferred disk=nvme\./).waitFor();
    await page.goto(`${keel.base}/admin/snapshots`);
    await page.getByRole('heading', { name: 'Snapshots', level: 1 }).waitFor();
  });

  step('Runners and Servers offer Drain with a confirmation that says what it does', async () => {
    await adminNav().getByRole('link', { name: 'Runners' }).click();
    const local = page.getByRole('listitem', { name: 'local' });
    await local.getByText('Online', { exact: true }).waitFor();
    await local.getByRole('button', { name: 'Drain local' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Drain local?' });
    await confirm.getByText(/no files are lost/).waitFor();
    await expectAccessible(page, 'Drain a runner, confirmation', THIRD_PARTY);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });

    const created = await api.request(
      'POST',
      '/api/admin/servers',
      {
        name: 'drain-me',
        kind: 'ssh',
        host: SERVER_HOST,
        user: 'keel',
        capacity: { workspaces: 4 },
        privateKey: readFileSync(keyFile, 'utf8'),
      },
      { bearer: true },
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await adminNav().getByRole('link', { name: 'Servers' }).click();
    const card = page.getByRole('listitem', { name: 'drain-me' });
    await card.getByRole('button', { name: 'Drain drain-me' }).click();
    const ask = page.getByRole('alertdialog', { name: 'Drain drain-me?' });
    await ask.getByRole('button', { name: 'Drain server' }).click();
    await ask.waitFor({ state: 'detached' });
    await card.getByText('Draining', { exact: true }).waitFor();
    await card.getByText('Drained: no workspaces left').waitFor();
    await expectAccessible(page, 'Servers, draining', THIRD_PARTY);
    await card.getByRole('button', { name: 'Stop draining drain-me' }).click();
    await page
      .getByRole('alertdialog', { name: 'Stop draining drain-me?' })
      .getByRole('button', { name: 'Stop draining' })
      .click();
    await card.getByRole('button', { name: 'Drain drain-me' }).waitFor();
  });

  step(
    'a developer’s create dialog checks GPUs before sending; a workspace waits "Queued" with the reason',
    async () => {
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
        name: 'Edsger',
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
      await devPage.getByText('No workspaces yet').waitFor();
      // A developer has no Admin area, so neither Placement nor Snapshots.
      await devPage.goto(`${keel.base}/admin/placement`);
      await devPage.getByRole('heading', { name: 'Not allowed', level: 1 }).waitFor();
      await devPage.goto(keel.base);

      await devPage.getByRole('button', { name: 'New workspace' }).click();
      const dialog = devPage.getByRole('dialog', { name: 'New workspace' });
      await dialog.getByLabel('Name', { exact: true }).fill('notes');
      await dialog.getByLabel(/^GPUs/).fill('0');
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      await dialog.getByText('A whole number of GPUs, 1 to 16; empty for none.').waitFor();
      assert.equal(await dialog.getByLabel(/^GPUs/).getAttribute('aria-invalid'), 'true');
      assert.deepEqual((await get(dev, '/api/workspaces')).workspaces, [], 'nothing sent');
      await expectAccessible(devPage, 'New workspace, region and GPUs', THIRD_PARTY);
      await dialog.getByLabel(/^GPUs/).fill('');
      await dialog.getByRole('button', { name: 'Create workspace' }).click();
      await dialog.waitFor({ state: 'detached' });
      workspaceId = (await get(dev, '/api/workspaces')).workspaces[0].id;

      // No runner has region=mars: it waits, and says why, instead of failing.
      await workspaceCard().getByText('Queued', { exact: true }).waitFor({ timeout: 30_000 });
      const { statusReason } = await get(dev, `/api/workspaces/${workspaceId}`);
      assert.ok(statusReason, 'a queued workspace says why');
      await workspaceCard().getByText(statusReason).waitFor();
      await screenshot(devPage, 'fleet-queued');
      await expectAccessible(devPage, 'Workspaces, queued', THIRD_PARTY);
      // Back to the install's default: the next sweep places it.
      await page.goto(`${keel.base}/admin/placement`);
      await page.getByRole('checkbox', { name: /Use the install’s default/ }).check();
      const put = page.waitForRequest((r) => r.method() === 'PUT');
      await page.getByRole('button', { name: 'Save policy' }).click();
      assert.deepEqual((await put).postDataJSON(), { policy: null });
      await page
        .getByRole('region', { name: 'What applies now' })
        .getByText('The install’s default')
        .waitFor();
      await workspaceCard().getByText('Running', { exact: true }).waitFor({ timeout: 90_000 });
    },
  );

  step('the list’s Snapshot button asks for one; the IDE shows it, and Where it runs', async () => {
    await mustServe(dev, 'GET', `/api/workspaces/${workspaceId}/snapshots`);
    await mustServe(dev, 'GET', `/api/workspaces/${workspaceId}/placement`);
    await workspaceCard().getByRole('button', { name: 'Snapshot notes' }).click();
    await devPage.getByText('A snapshot of notes is being saved.', { exact: false }).waitFor();
    await expectAccessible(devPage, 'Workspaces, after Snapshot', THIRD_PARTY);

    await workspaceCard().getByRole('button', { name: 'Open notes' }).click();
    await devPage.getByRole('heading', { name: 'notes', level: 1 }).waitFor();
    await devPage.getByRole('tab', { name: 'Snapshots' }).click();
    const panel = devPage.getByRole('tabpanel', { name: 'Snapshots' });
    const table = panel.getByRole('table', { name: 'Snapshots' });
    await table.getByRole('cell', { name: 'By hand' }).first().waitFor();
    await expectAccessible(devPage, 'IDE, Snapshots panel', THIRD_PARTY);

    await devPage.getByRole('button', { name: 'Where it runs' }).click();
    const where = devPage.getByRole('dialog', { name: 'Where it runs' });
    await where.getByText('local', { exact: true }).first().waitFor();
    await where.getByRole('table', { name: 'Candidates' }).getByText('Chosen').waitFor();
    await screenshot(devPage, 'fleet-where-it-runs');
    await expectAccessible(devPage, 'Where it runs', THIRD_PARTY);
    await devPage.keyboard.press('Escape');
    await where.waitFor({ state: 'detached' });
  });

  step('a restored snapshot replaces the files, and the open editor shows them', async () => {
    await devPage.getByRole('button', { name: 'New file' }).click();
    const dialog = devPage.getByRole('dialog', { name: 'New file' });
    await dialog.getByLabel('File name').fill('plan.txt');
    await dialog.getByRole('button', { name: 'Create file' }).click();
    await devPage.locator('.code-editor .monaco-editor').waitFor({ timeout: 60_000 });
    await devPage.locator('.code-editor .view-lines').click();
    await devPage.keyboard.type('first draft');
    await devPage.keyboard.press('Control+s');
    await devPage.locator('.status-bar-save', { hasText: 'Saved' }).waitFor();

    await devPage.getByRole('button', { name: 'Snapshot', exact: true }).click();
    const panel = devPage.getByRole('tabpanel', { name: 'Snapshots' });
    const restore = panel.getByRole('button', { name: /^Restore the snapshot of/ }).first();
    await waitFor(
      'the new snapshot to be saved',
      async () => {
        const { snapshots } = await get(dev, `/api/workspaces/${workspaceId}/snapshots`);
        return snapshots.length >= 2 && snapshots.every((s: { status: string }) => s.status === 'ready')
          ? true
          : undefined;
      },
      60_000,
      500,
    );
    await panel.getByRole('button', { name: 'Refresh' }).click();
    await panel.getByText(/wrote/).first().waitFor();

    await devPage.locator('.code-editor .view-lines').click();
    await devPage.keyboard.press('Control+End');
    await devPage.keyboard.type(', then second');
    await devPage.keyboard.press('Control+s');
    await devPage.locator('.status-bar-save', { hasText: 'Saved' }).waitFor();

    await restore.click();
    const confirm = devPage.getByRole('alertdialog', { name: 'Restore this snapshot?' });
    await confirm.getByText(/Every file of/).waitFor();
    await expectAccessible(devPage, 'Restore, confirmation', THIRD_PARTY);
    await confirm.getByRole('button', { name: 'Replace the files' }).click();
    await confirm.waitFor({ state: 'detached' });
    await waitFor(
      'the restore to go through a stop and back to running',
      async () =>
        (await get(dev, `/api/workspaces/${workspaceId}`)).status === 'running' ? true : undefined,
      90_000,
      250,
    );
    // The files themselves: the workspace holds the snapshot's text again.
    await waitFor(
      'the restored file to read as it was',
      async () => {
        const file = await get(dev, `/api/workspaces/${workspaceId}/files?path=plan.txt`);
        return file.content === 'first draft' ? true : undefined;
      },
      60_000,
      250,
    );
    // The open tab had no unsaved changes: it is read again, and shows the restored text, even
    // when the IDE never saw the workspace leave `running` (a restore of a few files is quick).
    await devPage
      .locator('.code-editor .view-lines', { hasText: 'first draft' })
      .waitFor({ timeout: 30_000 });
    await waitFor(
      'the open tab to drop the text written after the snapshot',
      async () =>
        ((await devPage.locator('.code-editor .view-lines').textContent()) ?? '').includes('second')
          ? undefined
          : true,
      30_000,
      250,
    );
    await screenshot(devPage, 'fleet-restored');
  });

  test('no CSP violations or uncaught errors anywhere along the way', () => {
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(devProblems?.cspViolations ?? [], []);
    assert.deepEqual(devProblems?.pageErrors ?? [], []);
  });

  after(async () => {
    await devContext?.close().catch(() => {});
  });
});
