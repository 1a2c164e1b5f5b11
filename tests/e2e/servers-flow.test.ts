/**
 * A server from registration to a developer's command, in a real Chromium against the whole
 * system started by `scripts/up`, with a real OpenSSH server in front of the real Docker engine:
 * the founder adds the SSH server on the Servers page with the key file the sshd harness made,
 * assigned to the local runner; tests it; pins the host key in the dialog that the test opens;
 * tests again (passes). A developer then creates a workspace choosing that server under "Where",
 * sees it run, writes a file in the IDE and runs a command that prints it. Every page passes axe.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { containerName } from '../../runners/src/workloads/docker.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { type SshdServer, startSshd } from '../harness/sshd.ts';
import { dockerCli, ensureDockerAndImage } from '../runner/docker-helper.ts';
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
const SERVER = 'ssh-lab';
/** Monaco and xterm are checked by their makers; the IDE's own parts are checked here. */
const THIRD_PARTY = ['.monaco-diff-editor', '.xterm'];

let keel: KeelInstance;
let sshd: SshdServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
let devContext: BrowserContext;
let devPage: Page;
let devProblems: PageProblems;
let api: BrowserClient;
let keyDir: string;
let keyFile: string;
let workspaceId = '';

async function get(path: string): Promise<any> {
  const res = await api.request('GET', path, undefined, { bearer: true });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const step = scenarioSteps('servers', () => ({ page, dev: devPage }));

const serverCard = () => page.getByRole('listitem', { name: SERVER });
const testRegion = () => serverCard().getByRole('region', { name: `Test of ${SERVER}` });

describe('a server from the Servers page to a developer’s command', { timeout: 420_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    await ensureDockerAndImage();
    sshd = await startSshd();
    // The key file an admin would pick: the one the sshd harness authorized.
    keyDir = mkdtempSync(join(tmpdir(), 'keel-servers-e2e-'));
    keyFile = join(keyDir, 'id_ed25519');
    writeFileSync(keyFile, sshd.userKey.privateKey, { mode: 0o600 });
    [keel, browser] = await Promise.all([
      // The runner's own driver is the sandbox: the workspace under test is the server's.
      startKeel({ env: { KEEL_RUNNER_DRIVER: 'process' } }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    if (workspaceId) await dockerCli('rm', '-f', containerName(workspaceId)).catch(() => {});
    if (workspaceId) await dockerCli('volume', 'rm', '-f', containerName(workspaceId)).catch(() => {});
    await browser?.close();
    await keel?.stop();
    await sshd?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  step('the founder adds an SSH server with the key file, assigned to the local runner', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    api = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
    const login = await api.request('POST', '/api/auth/login', { email: FOUNDER, password: PASSWORD });
    assert.equal(login.status, 200);
    await waitFor(
      'the local runner to come online',
      async () =>
        (await get('/api/admin/runners')).runners.some(
          (r: { name: string; status: string }) => r.name === 'local' && r.status === 'online',
        ) || undefined,
      60_000,
      250,
    );

    await page.goto(`${keel.base}/admin/servers`);
    await page.getByRole('heading', { name: 'Servers', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Add server' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a server' });
    await dialog.getByLabel('Name', { exact: true }).fill(SERVER);
    await dialog.getByLabel('Host', { exact: true }).fill(sshd.host);
    await dialog.getByLabel('Port', { exact: true }).fill(String(sshd.port));
    await dialog.getByLabel('User', { exact: true }).fill(sshd.user);
    await dialog.getByLabel('From a file').setInputFiles(keyFile);
    await dialog.getByRole('radio', { name: /^A runner/ }).check();
    await dialog.getByLabel('Runner', { exact: true }).selectOption({ label: 'local (online)' });
    await expectAccessible(page, 'Add a server, filled', THIRD_PARTY);
    await dialog.getByRole('button', { name: 'Add server' }).click();
    await dialog.waitFor({ state: 'detached' });
    await serverCard().getByText('Never tested').waitFor();
    const [stored] = (await get('/api/admin/servers')).servers;
    assert.equal(stored.endpoint.port, sshd.port);
    assert.equal(stored.endpoint.hostKeyFingerprint ?? null, null, 'no host key given');
  });

  step('the first test offers the host key; the admin compares and pins it; the second passes', async () => {
    await serverCard()
      .getByRole('button', { name: `Test ${SERVER}` })
      .click();
    const trust = page.getByRole('alertdialog', { name: `Trust the host key of ${SERVER}?` });
    await trust.waitFor({ timeout: 30_000 });
    // The fingerprint shown is the one the host's own ssh-keygen prints.
    await trust.getByText(sshd.hostKey.fingerprint, { exact: true }).waitFor();
    await expectAccessible(page, 'Trust the host key', THIRD_PARTY);
    await screenshot(page, 'servers-flow-host-key');
    await trust.getByRole('button', { name: 'Pin this host key' }).click();
    await trust.waitFor({ state: 'detached' });
    await serverCard().getByText(sshd.hostKey.fingerprint).first().waitFor();

    await serverCard()
      .getByRole('button', { name: `Test ${SERVER}` })
      .click();
    await testRegion().getByText('Test passed').waitFor({ timeout: 30_000 });
    await testRegion().getByText('keel-workspace:bookworm present', { exact: true }).waitFor();
    const [tested] = (await get('/api/admin/servers')).servers;
    assert.equal(tested.status, 'ok', JSON.stringify(tested.lastTest));
    assert.equal(tested.endpoint.hostKeyFingerprint, sshd.hostKey.fingerprint);
    await screenshot(page, 'servers-flow-tested');
    await expectAccessible(page, 'Servers, tested', THIRD_PARTY);
  });

  step('a developer creates a workspace on the server under "Where"; it runs there', async () => {
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

    devContext = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    devPage = await devContext.newPage();
    devPage.setDefaultTimeout(20_000);
    devProblems = watchForProblems(devPage);
    await devPage.goto(keel.base);
    await devPage.getByLabel('Email').fill(DEVELOPER);
    await devPage.getByLabel('Password').fill(PASSWORD);
    await devPage.getByRole('button', { name: 'Sign in' }).click();
    await devPage.getByRole('heading', { name: 'Workspaces' }).waitFor();

    await devPage.getByRole('button', { name: 'New workspace' }).click();
    const dialog = devPage.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name', { exact: true }).fill('on-lab');
    await dialog.getByLabel('Where').selectOption({ label: SERVER });
    await expectAccessible(devPage, 'New workspace, with Where', THIRD_PARTY);
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    const card = devPage.getByRole('listitem', { name: 'on-lab' });
    await card.getByText('Running', { exact: true }).waitFor({ timeout: 90_000 });

    const list = await dev.request('GET', '/api/workspaces', undefined, { bearer: true });
    const ws = list.body.workspaces.find((w: { name: string }) => w.name === 'on-lab');
    workspaceId = ws.id;
    const [server] = (await get('/api/admin/servers')).servers;
    assert.equal(ws.serverId, server.id, 'placed on the server');
    assert.equal(ws.driver, 'ssh');
    // Driven through sshd: the container is on the engine behind it, hardened.
    const [info] = JSON.parse(await dockerCli('inspect', containerName(workspaceId)));
    assert.equal(info.State.Running, true);
    assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    await screenshot(devPage, 'servers-flow-workspace');
    await expectAccessible(devPage, 'Workspaces, one on a server', THIRD_PARTY);
  });

  step('in the IDE the developer writes a file and runs a command that prints it', async () => {
    await devPage.getByRole('button', { name: 'Open on-lab' }).click();
    await devPage.getByRole('heading', { name: 'on-lab', level: 1 }).waitFor();
    await devPage.getByRole('button', { name: 'New file' }).click();
    const dialog = devPage.getByRole('dialog', { name: 'New file' });
    await dialog.getByLabel('File name').fill('hello.sh');
    await dialog.getByRole('button', { name: 'Create file' }).click();
    await devPage.getByRole('treeitem', { name: 'hello.sh' }).waitFor();
    await devPage.locator('.code-editor .monaco-editor').waitFor({ timeout: 60_000 });
    await devPage.locator('.code-editor .view-lines').click();
    await devPage.keyboard.type('echo hello-from-the-lab-$((6*7))\n');
    await devPage.keyboard.press('Control+s');
    await devPage.locator('.status-bar-save', { hasText: 'Saved' }).waitFor();

    const input = devPage.getByLabel('Command to run in the workspace');
    await input.fill('sh hello.sh; uname -n');
    await input.press('Enter');
    await devPage.locator('.run-status-text').filter({ hasText: 'Exited with status 0' }).waitFor({
      timeout: 30_000,
    });
    assert.match((await devPage.locator('.run-output').textContent()) ?? '', /hello-from-the-lab-42/);
    // The file is in the workspace on the server, as the engine there sees it.
    const onServer = await dockerCli('exec', containerName(workspaceId), 'cat', '/workspace/hello.sh');
    assert.match(onServer, /echo hello-from-the-lab-\$\(\(6\*7\)\)/);
    await screenshot(devPage, 'servers-flow-ide');
    await expectAccessible(devPage, 'IDE on a server', THIRD_PARTY);
  });

  test('no CSP violations or uncaught errors anywhere along the way', () => {
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(devProblems?.cspViolations ?? [], []);
    assert.deepEqual(devProblems?.pageErrors ?? [], []);
  });
});
