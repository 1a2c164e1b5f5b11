/**
 * Install administration as a person uses it, in a real Chromium against the whole system started by
 * `scripts/up`: the founder finds the Install page, changes the install's settings (and a bad destination
 * is refused with nothing saved), makes a registration token for a shared runner; an organization's other
 * super_admin sees none of it (a second organization cannot be made through the product: signup joins the
 * first one, so an invited super_admin is the strongest non-install-admin there is); the create-workspace form follows the settings; a workspace whose runner
 * is killed says it is unavailable and comes back with the runner.
 *
 * Build the web app first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import {
  ARTIFACTS,
  launchChromium,
  type PageProblems,
  screenshot,
  watchForProblems,
} from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const FOUNDER = 'ada@example.com';
const COLLEAGUE = 'grace@example.com';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
/** The founder over the API, for what the test checks behind the page. */
let api: BrowserClient;

async function apiClient(email: string): Promise<BrowserClient> {
  const client = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
  const res = await client.request('POST', '/api/auth/login', { email, password: PASSWORD });
  assert.equal(res.status, 200, `login: ${JSON.stringify(res.body)}`);
  return client;
}

async function get(path: string): Promise<any> {
  const res = await api.request('GET', path, undefined, { bearer: true });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A test whose failure leaves a screenshot of the page as it was, named after the step. */
function step(name: string, body: () => Promise<void>): void {
  test(name, async () => {
    try {
      await body();
    } catch (error) {
      await screenshot(page, `failed-install-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(
        () => {},
      );
      throw error;
    }
  });
}

const settingsForm = () => page.getByRole('form', { name: 'Install settings' });
const egressField = () => page.getByLabel('Private destinations workspaces may reach');
const maxCpusField = () => page.getByLabel('Most CPUs a workspace may ask for');
const networkChoice = (title: string) => settingsForm().getByRole('radio', { name: new RegExp(`^${title}`) });

async function openInstallPage(): Promise<void> {
  await page.goto(`${keel.base}/install`);
  await page.getByRole('heading', { name: 'Install', level: 1 }).waitFor();
  await settingsForm().waitFor();
}

/** Changes settings on the Install page and saves them; `change` fills the form. */
async function saveSettings(change: () => Promise<void>): Promise<void> {
  await openInstallPage();
  await change();
  await settingsForm().getByRole('button', { name: 'Save settings' }).click();
  await settingsForm().getByRole('status').getByText('Saved.').waitFor();
}

/** The pid of the runner scripts/up started, and of the shell that restarts it when it dies. */
function localRunner(): { pid: number; supervisor: number } {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline[0] !== 'node' || cmdline[1] !== 'runners/bin/keel-runner.mjs') continue;
      // The fields after the command name: state, ppid, pgrp.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === keel.pgid) return { pid: Number(entry), supervisor: Number(ppid) };
    } catch {
      // Gone while we looked.
    }
  }
  throw new Error(`no runner in process group ${keel.pgid}\n${keel.output()}`);
}

describe('install administration, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser] = await Promise.all([
      // The bubblewrap sandbox, not a Docker engine other test runs share (see ide.test.ts).
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
  });

  step('the founder sees the Install link and page: network off, the local shared runner', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(FOUNDER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    api = await apiClient(FOUNDER);
    await waitFor(
      'the local runner to come online',
      async () =>
        (await get('/api/install/runners')).runners.some(
          (r: { name: string; status: string }) => r.name === 'local' && r.status === 'online',
        ) || undefined,
      60_000,
      250,
    );

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Install' }).click();
    await page.getByRole('heading', { name: 'Install', level: 1 }).waitFor();
    assert.equal(await networkChoice('Off').isChecked(), true, 'network is off by default');
    assert.equal(await networkChoice('On request').isChecked(), false);
    assert.equal(await egressField().inputValue(), '');
    assert.equal(await maxCpusField().inputValue(), '8');
    const runners = page.locator('.runner-list');
    await runners.getByText('local', { exact: true }).waitFor();
    await runners.getByText('online', { exact: true }).waitFor();
    await runners.getByText(/process · \d+ CPUs/).waitFor();
    await runners.getByRole('button', { name: 'Revoke local' }).waitFor();
  });

  step('the founder allows network on request, a destination and fewer CPUs; they stick', async () => {
    await networkChoice('On request').check();
    await egressField().fill('10.20.0.0/16');
    await maxCpusField().fill('4');
    await settingsForm().getByRole('button', { name: 'Save settings' }).click();
    await settingsForm().getByRole('status').getByText('Saved.').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'install-page.png'), fullPage: true });

    await page.reload();
    await settingsForm().waitFor();
    assert.equal(await networkChoice('On request').isChecked(), true);
    assert.equal(await networkChoice('Off').isChecked(), false);
    assert.equal(await egressField().inputValue(), '10.20.0.0/16');
    assert.equal(await maxCpusField().inputValue(), '4');
    const stored = await get('/api/install/settings');
    assert.equal(stored.settings.workspaceNetwork, 'on_request');
    assert.deepEqual(stored.settings.egressAllow, ['10.20.0.0/16']);
    assert.equal(stored.settings.maxCpus, 4);
    assert.equal(stored.settings.maxMemoryMb, 16_384, 'untouched fields keep their values');
  });

  step('a bad destination shows a field error and nothing is saved', async () => {
    const before = await get('/api/install/settings');
    for (const bad of ['127.0.0.1', 'nonsense']) {
      await openInstallPage();
      await networkChoice('Always').check();
      await egressField().fill(`10.30.0.0/16\n${bad}`);
      await maxCpusField().fill('2');
      await settingsForm().getByRole('button', { name: 'Save settings' }).click();
      await settingsForm().locator('.field-error').first().waitFor();
      assert.equal(await egressField().getAttribute('aria-invalid'), 'true', `${bad}: the field is marked`);
      assert.equal(await settingsForm().getByText('Saved.').count(), 0);
      assert.deepEqual(await get('/api/install/settings'), before, `${bad}: nothing saved`);
    }
    await page.reload();
    await settingsForm().waitFor();
    assert.equal(await egressField().inputValue(), '10.20.0.0/16');
    assert.equal(await networkChoice('On request').isChecked(), true);
  });

  step(
    'a registration token is shown once with its command; no runner appears until one registers',
    async () => {
      const runnersBefore = (await get('/api/install/runners')).runners;
      await openInstallPage();
      await page.getByRole('button', { name: 'New registration token' }).click();
      const shown = page.locator('.token-once');
      await shown.waitFor();
      const command = (await shown.locator('code').textContent()) ?? '';
      const token = /KEEL_RUNNER_TOKEN=(rgt_[A-Za-z0-9_-]+)/.exec(command)?.[1];
      assert.ok(token, `a token in the command: ${command}`);
      assert.match(
        command,
        new RegExp(`^KEEL_URL=${keel.base} KEEL_RUNNER_TOKEN=rgt_\\S+ REDIS_URL=\\S+ npx keel-runner$`),
      );
      assert.match((await shown.textContent()) ?? '', /Shown once/);
      await page.screenshot({ path: join(ARTIFACTS, 'install-token.png'), fullPage: true });

      assert.deepEqual(
        (await get('/api/install/runners')).runners.map((r: { id: string }) => r.id),
        runnersBefore.map((r: { id: string }) => r.id),
      );
      await page.reload();
      await settingsForm().waitFor();
      await page.getByRole('button', { name: 'New registration token' }).waitFor();
      assert.equal(await page.locator('.token-once').count(), 0);
      assert.equal((await page.content()).includes(token), false, 'the token is not shown again');
    },
  );

  step(
    "an organization's other super_admin, no install administrator, sees no Install link and no settings",
    async () => {
      const me = await get('/api/auth/me');
      const invite = await api.request(
        'POST',
        `/api/orgs/${me.organization.id}/invitations`,
        { email: COLLEAGUE, role: 'super_admin' },
        { bearer: true },
      );
      assert.equal(invite.status, 201, JSON.stringify(invite.body));
      const other = new BrowserClient((path, init) => fetch(new URL(path, keel.base), init));
      const signup = await other.request('POST', '/api/auth/signup', {
        email: COLLEAGUE,
        password: PASSWORD,
        name: 'Grace Hopper',
        inviteToken: invite.body.token,
      });
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      assert.equal(signup.body.role, 'super_admin');
      assert.equal(signup.body.installAdmin, false);

      const theirs = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      try {
        const their = await theirs.newPage();
        const theirProblems = watchForProblems(their);
        their.setDefaultTimeout(20_000);
        await their.goto(keel.base);
        await their.getByLabel('Email').fill(COLLEAGUE);
        await their.getByLabel('Password').fill(PASSWORD);
        await their.getByRole('button', { name: 'Sign in' }).click();
        const nav = their.getByRole('navigation', { name: 'Main' });
        await nav.getByRole('link', { name: 'Settings' }).waitFor();
        assert.equal(await nav.getByRole('link', { name: 'Install' }).count(), 0);

        await their.goto(`${keel.base}/install`);
        await their.getByRole('heading', { name: 'Page not found' }).waitFor();
        assert.equal(await their.getByRole('form', { name: 'Install settings' }).count(), 0);
        assert.equal(await their.getByText('Shared runners').count(), 0);
        // The server refuses them too, whatever the page shows.
        for (const path of ['/api/install/settings', '/api/install/runners']) {
          const res = await other.request('GET', path, undefined, { bearer: true });
          assert.equal(res.status, 403, `${path}: ${JSON.stringify(res.body)}`);
        }
        assert.deepEqual(theirProblems, { cspViolations: [], pageErrors: [] });
      } finally {
        await theirs.close();
      }
    },
  );

  step('with network on request the create form offers network, and the workspace gets it', async () => {
    await page.goto(keel.base);
    await page.getByRole('button', { name: 'New workspace' }).click();
    const dialog = page.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name').fill('with-net');
    const network = dialog.getByRole('checkbox', { name: /Network access/ });
    assert.equal(await network.isChecked(), false, 'off unless asked for');
    await network.check();
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByRole('listitem', { name: 'with-net' }).waitFor();
    const made = (await get('/api/workspaces')).workspaces.find(
      (w: { name: string }) => w.name === 'with-net',
    );
    assert.equal(made?.network, true);
  });

  step('with network off the form offers none; under low maxima its workspace gets the maxima', async () => {
    await saveSettings(() => networkChoice('Off').check());
    await page.goto(keel.base);
    await page.getByRole('button', { name: 'New workspace' }).click();
    let dialog = page.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name').fill('plain');
    assert.equal(await dialog.getByRole('checkbox').count(), 0, 'no network choice');
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByRole('listitem', { name: 'plain' }).getByText('Running', { exact: true }).waitFor({
      timeout: 60_000,
    });
    const plain = (await get('/api/workspaces')).workspaces.find((w: { name: string }) => w.name === 'plain');
    assert.equal(plain?.network, false);

    // The form asks for no sizes: the defaults (1 CPU, 1024 MB), lowered to maxima set below them.
    await saveSettings(async () => {
      await page.getByLabel('Most CPUs a workspace may ask for').fill('0.5');
      await page.getByLabel('Most memory (MB)').fill('512');
    });
    await page.goto(keel.base);
    await page.getByRole('button', { name: 'New workspace' }).click();
    dialog = page.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name').fill('small');
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByRole('listitem', { name: 'small' }).waitFor();
    await screenshot(page, 'install-create-small');
    const small = (await get('/api/workspaces')).workspaces.find((w: { name: string }) => w.name === 'small');
    assert.deepEqual(small?.resources, { cpus: 0.5, memoryMb: 512 });
    await saveSettings(() => page.getByLabel('Most CPUs a workspace may ask for').fill('8'));
    await saveSettings(() => page.getByLabel('Most memory (MB)').fill('16384'));
  });

  step('a workspace whose runner is killed is unavailable, and comes back with the runner', async () => {
    await page.goto(keel.base);
    const card = page.getByRole('listitem', { name: 'plain' });
    await card.getByText('Running', { exact: true }).waitFor();
    const runner = localRunner();
    // Hold the supervisor so the runner stays down long enough to be seen gone.
    process.kill(runner.supervisor, 'SIGSTOP');
    try {
      process.kill(runner.pid, 'SIGKILL');
      const killedAt = Date.now();
      // The list polls only workspaces that may change; a person looking again reloads.
      await waitFor(
        'the workspace to show as unavailable',
        async () => {
          await page.reload();
          await card
            .getByText('Running', { exact: true })
            .or(card.getByText('Unavailable', { exact: true }))
            .waitFor();
          return (await card.getByText('Unavailable', { exact: true }).count()) > 0 || undefined;
        },
        30_000,
        1_000,
      );
      console.log(`unavailable ${Date.now() - killedAt} ms after the kill`);
      await card.getByText('its runner is offline').waitFor();
      await screenshot(page, 'install-unavailable');
    } finally {
      process.kill(runner.supervisor, 'SIGCONT');
    }
    // Unavailable is polled: the page notices the runner back without a reload.
    await card.getByText('Running', { exact: true }).waitFor({ timeout: 60_000 });
    assert.equal(await card.getByText('its runner is offline').count(), 0);
    const back = localRunner();
    assert.notEqual(back.pid, runner.pid, 'a new runner process');
  });

  test('no CSP violations or uncaught errors anywhere along the way', () => {
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
  });
});
