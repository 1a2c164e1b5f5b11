/**
 * The admin console as people use it, in a real Chromium against the whole system started by
 * `scripts/up`: the founder (super_admin) finds Admin in the menu, sees no servers yet, is stopped
 * by the form before a half-filled server is sent, adds an SSH server with a key file made by
 * ssh-keygen and sees it listed with its credential's fingerprint and never the key, edits one
 * field (and only that field is sent), disables and deletes it; on Runners sees the local runner
 * live and makes a registration token, shown once with its command. A developer gets no Admin
 * link and a not-allowed page. Every page passes axe.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
const FOUNDER = 'ada@example.com';
const DEVELOPER = 'linus@example.com';
/** A documentation address (RFC 5737): the server is registered, never dialled by this test. */
const SERVER_HOST = '198.51.100.23';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
let api: BrowserClient;
let keyDir: string;
let keyFile: string;
let privateKey: string;

async function get(path: string): Promise<any> {
  const res = await api.request('GET', path, undefined, { bearer: true });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const step = scenarioSteps('admin', () => ({ page }));

const adminNav = () => page.getByRole('navigation', { name: 'Admin' });
const serverCard = (name: string) => page.getByRole('listitem', { name });
const addDialog = () => page.getByRole('dialog', { name: 'Add a server' });

describe('admin console, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    keyDir = mkdtempSync(join(tmpdir(), 'keel-admin-e2e-'));
    keyFile = join(keyDir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'keel-admin-e2e', '-f', keyFile]);
    privateKey = readFileSync(keyFile, 'utf8');
    [keel, browser] = await Promise.all([
      startKeel({ env: { KEEL_RUNNER_DRIVER: 'process' } }),
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
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  step('the founder opens Admin and sees the empty Servers page', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    const login = await api.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD });
    assert.equal(login.status, 200);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Servers', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/admin/servers');
    assert.equal(
      await adminNav().getByRole('link', { name: 'Servers' }).getAttribute('aria-current'),
      'page',
    );
    await page.getByText('No servers yet').waitFor();
    await expectAccessible(page, 'Servers, empty');
  });

  step('a half-filled form is stopped before it is sent, with the fields marked', async () => {
    const posts: string[] = [];
    const onRequest = (request: { method(): string; url(): string }) => {
      if (request.method() === 'POST' && request.url().endsWith('/api/admin/servers'))
        posts.push(request.url());
    };
    page.on('request', onRequest);
    await page.getByRole('button', { name: 'Add server' }).click();
    await addDialog().waitFor();
    await expectAccessible(page, 'Add a server');
    await addDialog().getByLabel('Name', { exact: true }).fill('build 1');
    await addDialog().getByRole('button', { name: 'Add server' }).click();
    await addDialog().getByText('Check the highlighted fields.').waitFor();
    assert.equal(await addDialog().getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await addDialog().getByLabel('Host', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(
      await addDialog().getByRole('textbox', { name: 'Or paste it' }).getAttribute('aria-invalid'),
      'true',
    );
    page.off('request', onRequest);
    assert.deepEqual(posts, [], 'nothing sent');
    assert.deepEqual((await get('/api/admin/servers')).servers, []);
  });

  step(
    'the founder adds an SSH server with a key file; the list shows its fingerprint, never the key',
    async () => {
      await waitFor(
        'the local runner to come online',
        async () =>
          (await get('/api/admin/runners')).runners.some(
            (r: { name: string; status: string }) => r.name === 'local' && r.status === 'online',
          ) || undefined,
        60_000,
        250,
      );
      const dialog = addDialog();
      await dialog.getByLabel('Name', { exact: true }).fill('build-1');
      await dialog.getByLabel(/^Region/).fill('eu-west');
      await dialog.getByLabel(/^Labels/).fill('zone=eu, disk=ssd');
      await dialog.getByLabel('Host', { exact: true }).fill(SERVER_HOST);
      await dialog.getByLabel('Port', { exact: true }).fill('2222');
      await dialog.getByLabel('User', { exact: true }).fill('keel');
      await dialog.getByLabel('From a file').setInputFiles(keyFile);
      await dialog.getByRole('radio', { name: /^A folder on the host/ }).check();
      await dialog.getByLabel('Host folder').fill('/srv/keel/workspaces');
      await dialog.getByRole('radio', { name: /^A runner/ }).check();
      await dialog.getByLabel('Runner', { exact: true }).selectOption({ label: 'local (online)' });
      await dialog.getByRole('button', { name: 'Add server' }).click();
      await dialog.waitFor({ state: 'detached' });

      const card = serverCard('build-1');
      await card.waitFor();
      const [stored] = (await get('/api/admin/servers')).servers;
      assert.equal(stored.name, 'build-1');
      assert.equal(stored.kind, 'ssh');
      assert.deepEqual(stored.endpoint.host, SERVER_HOST);
      assert.deepEqual(stored.labels, { zone: 'eu', disk: 'ssd' });
      assert.deepEqual(stored.storage, { kind: 'hostDir', path: '/srv/keel/workspaces' });
      assert.ok('runnerId' in stored.assignment);
      await card.getByText(stored.credential.fingerprint).waitFor();
      await card.getByText('New', { exact: true }).waitFor();
      await card.getByText('Never tested').waitFor();
      await card.getByText('Runner local').waitFor();
      await card.getByText(`keel@${SERVER_HOST}:2222`).waitFor();
      const html = await page.content();
      const keyBody = privateKey.split('\n')[2] ?? '';
      assert.ok(keyBody.length > 20);
      assert.equal(html.includes(keyBody), false, 'the private key is not in the page');
      assert.equal(html.includes('PRIVATE KEY'), false);
      await screenshot(page, 'admin-servers');
      await expectAccessible(page, 'Servers, one server');
    },
  );

  step('an edit sends only the field changed; disable and enable; delete asks first', async () => {
    const card = serverCard('build-1');
    await card.getByRole('button', { name: 'Edit build-1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit build-1' });
    await dialog.getByLabel(/^Labels/).fill('zone=eu');
    const patch = page.waitForRequest((r) => r.method() === 'PATCH');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    assert.deepEqual((await patch).postDataJSON(), { labels: { zone: 'eu' } });
    await dialog.waitFor({ state: 'detached' });
    await card.getByText('zone=eu', { exact: true }).waitFor();

    await card.getByRole('button', { name: 'Disable build-1' }).click();
    await card.getByText('Disabled', { exact: true }).waitFor();
    await card.getByRole('button', { name: 'Enable build-1' }).click();
    await card.getByText('New', { exact: true }).waitFor();

    // The test runs on the assigned runner and always answers with a result, passed or failed,
    // shown with its checks and, when failed, its code in words.
    await card.getByRole('button', { name: 'Test build-1' }).click();
    const result = card.getByRole('region', { name: 'Test of build-1' });
    await result.getByText(/^Test (passed|failed)$/).waitFor({ timeout: 30_000 });
    const tested = (await get('/api/admin/servers')).servers[0];
    assert.ok(tested.lastTest, 'the result is kept with the server');
    if (!tested.lastTest.ok) {
      assert.ok(tested.lastTest.code, 'a failure has a code');
      await card
        .getByText(tested.status === 'failing' ? 'Failing' : /Host key to confirm/)
        .first()
        .waitFor();
      assert.notEqual(await result.textContent(), '', 'said in words');
    }
    await screenshot(page, 'admin-server-tested');
    await expectAccessible(page, 'Servers, a test result');

    // Servers a workspace may go to are only those that passed a test: none yet, so no choice.
    await page.goto(keel.base);
    await page.getByRole('button', { name: 'New workspace' }).click();
    const create = page.getByRole('dialog', { name: 'New workspace' });
    await create.getByLabel('Name', { exact: true }).waitFor();
    assert.equal(await create.getByLabel('Where').count(), 0);
    await create.getByRole('button', { name: 'Cancel' }).click();

    await page.goto(`${keel.base}/admin/servers`);
    await serverCard('build-1').getByRole('button', { name: 'Delete build-1' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Delete build-1?' });
    await expectAccessible(page, 'Delete confirmation');
    await confirm.getByRole('button', { name: 'Delete server' }).click();
    await page.getByText('No servers yet').waitFor();
    assert.deepEqual((await get('/api/admin/servers')).servers, []);
  });

  step('Runners shows the local runner live; a token is shown once with its command', async () => {
    await adminNav().getByRole('link', { name: 'Runners' }).click();
    await page.getByRole('heading', { name: 'Runners', level: 1 }).waitFor();
    const local = page.getByRole('listitem', { name: 'local' });
    await local.getByText('Online', { exact: true }).waitFor();
    await local.getByText(/\d+ CPUs · load/).waitFor();
    await local
      .getByText(/free of/)
      .first()
      .waitFor();
    await expectAccessible(page, 'Runners');
    const before = (await get('/api/admin/runners')).runners.map((r: { id: string }) => r.id);

    await page.getByRole('button', { name: 'New registration token' }).click();
    const dialog = page.getByRole('dialog', { name: 'New registration token' });
    await dialog.getByLabel('Runner name').fill('gpu-2');
    await dialog.getByLabel(/^Labels/).fill('gpu=a100');
    await dialog.getByLabel('Valid for').selectOption({ label: '1 hour' });
    await expectAccessible(page, 'New registration token');
    await dialog.getByRole('button', { name: 'Make token' }).click();
    const shown = dialog.locator('.token-once');
    await shown.waitFor();
    const command = (await shown.locator('code').textContent()) ?? '';
    assert.match(
      command,
      new RegExp(`^KEEL_URL=${keel.base} KEEL_RUNNER_TOKEN=rgt_\\S+ REDIS_URL=\\S+ npx keel-runner$`),
    );
    const token = /KEEL_RUNNER_TOKEN=(\S+)/.exec(command)?.[1] ?? '';
    assert.match((await shown.textContent()) ?? '', /Shown once/);
    await screenshot(page, 'admin-runner-token');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await page.content()).includes(token), false, 'gone once closed');
    await page.reload();
    await page.getByRole('heading', { name: 'Runners', level: 1 }).waitFor();
    assert.equal((await page.content()).includes(token), false, 'never shown again');
    assert.deepEqual(
      (await get('/api/admin/runners')).runners.map((r: { id: string }) => r.id),
      before,
      'no runner until one registers',
    );
  });

  step('a developer has no Admin link and a not-allowed page at /admin', async () => {
    const me = await get('/api/auth/me');
    const invite = await api.request(
      'POST',
      `/api/orgs/${me.organization.id}/invitations`,
      { email: DEVELOPER, role: 'developer' },
      { bearer: true },
    );
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    const dev = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    const signup = await dev.request('POST', '/api/auth/signup', {
      email: DEVELOPER,
      password: PASSWORD,
      name: 'Linus',
      inviteToken: invite.body.token,
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    assert.equal(signup.body.role, 'developer');

    const theirs = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const their = await theirs.newPage();
      const theirProblems = watchForProblems(their);
      their.setDefaultTimeout(20_000);
      await their.goto(keel.base);
      await their.getByLabel('Email').fill(DEVELOPER);
      await their.getByLabel('Password').fill(PASSWORD);
      await their.getByRole('button', { name: 'Sign in' }).click();
      const nav = their.getByRole('navigation', { name: 'Main' });
      await nav.getByRole('link', { name: 'Settings' }).waitFor();
      assert.equal(await nav.getByRole('link', { name: 'Admin' }).count(), 0);

      for (const path of ['/admin', '/admin/servers', '/admin/runners']) {
        await their.goto(`${keel.base}${path}`);
        await their.getByRole('heading', { name: 'Not allowed', level: 1 }).waitFor();
        assert.equal(await their.getByRole('navigation', { name: 'Admin' }).count(), 0, path);
      }
      await expectAccessible(their, 'Not allowed');
      for (const path of ['/api/admin/servers', '/api/admin/runners']) {
        const res = await dev.request('GET', path, undefined, { bearer: true });
        assert.equal(res.status, 403, `${path}: ${JSON.stringify(res.body)}`);
      }
      assert.deepEqual(theirProblems, { cspViolations: [], pageErrors: [] });
    } finally {
      await theirs.close();
    }
  });

  test('no CSP violations or uncaught errors anywhere along the way', () => {
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
  });
});
