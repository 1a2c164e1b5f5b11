/**
 * A Vite dev server started in the IDE's terminal opens in a preview tab and hot-reloads after a
 * save: in a real Chromium against the whole system (`scripts/up`, process driver), with the
 * wildcard preview host `<port>--<workspace>.localhost:<port>` (Chromium resolves *.localhost to
 * loopback itself). Vite is the repository's own (root node_modules, hard-linked into the
 * workspace's folder on this host: the process driver keeps workspaces on the runner's disk).
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`, then run with KEEL_SKIP_WEB_BUILD=1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUTH_COOKIES } from '@keel/contract/auth';
import type { Browser, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { launchChromium, screenshot } from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const VITE_PORT = 5199;

describe('a Vite dev server in a preview tab, hot-reloading', { timeout: 300_000 }, () => {
  let keel: KeelInstance;
  let browser: Browser;
  let page: Page;
  let owner: BrowserClient;
  let ws: string;
  let base: string;
  const consoleLines: string[] = [];

  const api = (method: string, path: string, body?: unknown) =>
    owner.request(method, path, body, { bearer: true });
  const write = async (path: string, content: string) => {
    const res = await api('PUT', `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`, { content });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  before(async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-e2e-preview-'));
    // The sandbox user walks down to its folder; kept here (not /var/lib/keel) to find it below.
    chmodSync(dataDir, 0o711);
    const workspaces = join(dataDir, 'workspaces');
    base = `http://localhost:${port}`;
    [keel, browser] = await Promise.all([
      startKeel({
        port,
        env: {
          KEEL_DATA_DIR: dataDir,
          KEEL_RUNNER_WORKSPACES_DIR: workspaces,
          KEEL_RUNNER_DRIVER: 'process',
          KEEL_PREVIEW_HOST: `localhost:${port}`,
        },
      }),
      launchChromium(),
    ]);
    owner = new BrowserClient((path, init) => fetch(`${keel.base}${path}`, init));
    const signup = await owner.request('POST', '/api/auth/signup', {
      email: 'vite@example.com',
      password: PASSWORD,
      name: 'Vite',
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    assert.equal((await api('PUT', '/api/install/settings', { workspaceNetwork: 'on_request' })).status, 200);
    // With network: on the process driver, a server in the terminal is reachable from other commands.
    const created = await api('POST', '/api/workspaces', { name: 'vite', network: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ws = created.body.id;
    await waitFor(
      'the workspace running',
      async () =>
        (await api('GET', `/api/workspaces/${ws}/status`)).body.status === 'running' ? true : undefined,
      60_000,
    );
    await write(
      'index.html',
      '<!doctype html><title>app</title><div id="app"></div><script type="module" src="/main.js"></script>\n',
    );
    await write('main.js', "document.querySelector('#app').textContent = 'version one';\n");
    await write('vite.config.mjs', "export default { cacheDir: '.vite-cache', clearScreen: false };\n");
    const folder = join(workspaces, ws, 'workspace');
    execFileSync('cp', ['-al', join(root, 'node_modules'), join(folder, 'node_modules')]);

    const context = await browser.newContext();
    await context.addCookies(
      [...owner.cookies.entries()].map(([name, c]) => ({
        name,
        value: c.value,
        domain: 'localhost',
        path: c.path,
        httpOnly: name !== AUTH_COOKIES.csrf,
        sameSite: 'Strict' as const,
      })),
    );
    page = await context.newPage();
    page.on('console', (m) => consoleLines.push(m.text()));
    page.on('requestfailed', (r) => consoleLines.push(`failed ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.url().includes('--')) consoleLines.push(`${r.status()} ${r.url()}`);
    });
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await keel?.stop();
  });

  test('started in the terminal, opened from Ports in a preview tab, reloaded by a save', async () => {
    await page.goto(`${base}/workspaces/${ws}`);
    await page.getByRole('heading', { name: 'vite', level: 1 }).waitFor();
    await page.getByRole('tab', { name: 'Terminal' }).click();
    await page.locator('.terminal-host').click();
    await page.keyboard.type(
      `node node_modules/vite/bin/vite.js --port ${VITE_PORT} --strictPort --host 127.0.0.1\n`,
    );
    await page
      .locator('.xterm-rows')
      .getByText(/ready in/)
      .waitFor({ timeout: 60_000 });

    await page.getByRole('tab', { name: 'Ports' }).click();
    const row = page.getByRole('row').filter({ hasText: String(VITE_PORT) });
    await waitFor(
      `port ${VITE_PORT} listed`,
      async () => {
        if (await row.count()) return true;
        await page.getByRole('button', { name: 'Refresh ports' }).click();
        return undefined;
      },
      30_000,
      1_000,
    );
    await row.getByRole('button', { name: 'Open in preview tab' }).click();
    const frame = page.frameLocator(`iframe[title="Preview of port ${VITE_PORT}"]`);
    await frame
      .locator('#app')
      .getByText('version one')
      .waitFor({ timeout: 30_000 })
      .catch(async (err) => {
        await screenshot(page, 'ide-preview-failed');
        const inner = page.frames().map((f) => f.url());
        const html = await Promise.all(
          page
            .frames()
            .slice(1)
            .map((f) => f.content().catch((e) => String(e))),
        );
        throw new Error(
          `${String(err)}\nconsole: ${consoleLines.join('\n')}\nframes: ${inner.join(' | ')}\n${html.join('\n---\n').slice(0, 2000)}`,
        );
      });
    await screenshot(page, 'ide-preview-1');

    await write('main.js', "document.querySelector('#app').textContent = 'version two';\n");
    await frame.locator('#app').getByText('version two').waitFor({ timeout: 30_000 });
    await screenshot(page, 'ide-preview-2');
    const src = await page.locator(`iframe[title="Preview of port ${VITE_PORT}"]`).getAttribute('src');
    assert.match(src ?? '', new RegExp(`/api/workspaces/${ws}/ports/${VITE_PORT}/open`));
  });
});
