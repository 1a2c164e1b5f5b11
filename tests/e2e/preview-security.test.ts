/**
 * A preview page is the workspace's code, so it is treated as hostile: in a real Chromium against the
 * whole system (`scripts/up`, process driver), with Keel at http://localhost:<port> and the wildcard
 * preview host `<port>--<workspace>.localhost:<port>` (Chromium resolves *.localhost to loopback by
 * itself), a signed-in person opens a preview page in both modes. The page cannot read Keel's
 * cookies or storage, and cannot call Keel's API with them; the workspace server never receives them.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`, then run with KEEL_SKIP_WEB_BUILD=1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUTH_COOKIES } from '@keel/contract/auth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { WORKSPACE_SERVER } from '../preview/workspace-server.ts';
import { launchChromium, screenshot } from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const PASSWORD = 'correct horse battery staple';
const APP_PORT = 4510;

describe('a preview page cannot reach Keel as the person', { timeout: 240_000 }, () => {
  let keel: KeelInstance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let ws: string;
  let owner: BrowserClient;

  before(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    [keel, browser] = await Promise.all([
      startKeel({ port, env: { KEEL_RUNNER_DRIVER: 'process', KEEL_PREVIEW_HOST: `localhost:${port}` } }),
      launchChromium(),
    ]);
    owner = new BrowserClient((path, init) => fetch(`${keel.base}${path}`, init));
    const signup = await owner.request('POST', '/api/auth/signup', {
      email: 'owner@example.com',
      password: PASSWORD,
      name: 'Owner',
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    const api = (method: string, path: string, body?: unknown) =>
      owner.request(method, path, body, { bearer: true });
    assert.equal((await api('PUT', '/api/install/settings', { workspaceNetwork: 'on_request' })).status, 200);
    const created = await api('POST', '/api/workspaces', { name: 'hostile', network: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ws = created.body.id;
    await waitFor(
      'the workspace running',
      async () => {
        const s = await api('GET', `/api/workspaces/${ws}/status`);
        return s.body.status === 'running' ? true : undefined;
      },
      60_000,
    );
    // Started and left running: its answer streams until the command ends.
    void fetch(`${keel.base}/api/workspaces/${ws}/execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        command: ['node', '-e', WORKSPACE_SERVER, String(APP_PORT)],
        timeoutMs: 600_000,
      }),
    }).catch(() => {});
    await waitFor(
      'the preview answering',
      async () => {
        const r = await fetch(`${keel.base}/w/${ws}/p/${APP_PORT}/hello`, {
          headers: { authorization: `Bearer ${owner.accessToken}` },
        });
        return r.status === 200 ? true : undefined;
      },
      30_000,
    );

    // The browser holds Keel's own session, as after signing in at http://localhost:<port>.
    context = await browser.newContext();
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
  });
  after(async () => {
    await page?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await keel?.stop();
  });

  /**
   * What the page's own script can do with Keel's session, run inside it (as text: the test's
   * compiled functions carry helpers that do not exist in the page).
   */
  const probe = async (p: Page, keelBase: string) =>
    (await p.evaluate(`(async () => {
      const attempt = async (f) => {
        try { return { ok: true, value: String(await f()) }; }
        catch (e) { return { ok: false, value: String(e && e.name) }; }
      };
      return {
        cookie: await attempt(() => document.cookie),
        storage: await attempt(() => window.localStorage.length),
        apiSameOrigin: await attempt(async () => (await fetch('/api/workspaces', { credentials: 'include' })).status),
        apiKeel: await attempt(async () => (await fetch(${JSON.stringify(`${keelBase}/api/workspaces`)}, { credentials: 'include' })).text()),
        origin: window.origin,
      };
    })()`)) as Record<'cookie' | 'storage' | 'apiSameOrigin' | 'apiKeel', { ok: boolean; value: string }> & {
      origin: string;
    };

  test('path mode: sandboxed, opaque origin, no cookies, no storage, no API', async () => {
    await page.goto(`${base}/w/${ws}/p/${APP_PORT}/page`);
    assert.equal(await page.textContent('p'), 'preview page');
    const got = await probe(page, base);
    await screenshot(page, 'preview-path-mode');
    assert.equal(got.origin, 'null', 'the page runs in an opaque origin');
    assert.equal(got.cookie.ok, false, `document.cookie: ${got.cookie.value}`);
    assert.equal(got.storage.ok, false, `localStorage: ${got.storage.value}`);
    // Same path on Keel's origin, but from an opaque origin: the answer cannot be read.
    assert.equal(got.apiSameOrigin.ok, false, `fetch /api: ${got.apiSameOrigin.value}`);
    assert.equal(got.apiKeel.ok, false, `fetch Keel's API: ${got.apiKeel.value}`);
  });

  test('wildcard host: its own origin, entered by the one-time exchange; Keel stays out of reach', async () => {
    await page.goto(`${base}/api/workspaces/${ws}/ports/${APP_PORT}/open?path=/page`);
    assert.equal(new URL(page.url()).host, `${APP_PORT}--${ws.slice(3)}.localhost:${new URL(base).port}`);
    assert.equal(new URL(page.url()).pathname, '/page');
    assert.equal(await page.textContent('p'), 'preview page');
    const got = await probe(page, base);
    await screenshot(page, 'preview-host-mode');
    assert.equal(got.cookie.ok, true);
    assert.doesNotMatch(
      got.cookie.value,
      /keel_/,
      'no Keel cookie is readable, nor the HttpOnly preview cookie',
    );
    // /api on the preview host is the workspace's server, not Keel.
    assert.deepEqual(got.apiSameOrigin, { ok: true, value: '404' });
    // Keel's API from another origin: no CORS, so the answer is never readable.
    assert.equal(got.apiKeel.ok, false, `fetch Keel's API: ${got.apiKeel.value}`);
    const seen = (await (
      await fetch(`${keel.base}/w/${ws}/p/${APP_PORT}/seen`, {
        headers: { authorization: `Bearer ${owner.accessToken}` },
      })
    ).json()) as Array<{ headers: Record<string, string> }>;
    for (const { headers } of seen) {
      assert.doesNotMatch(headers.cookie ?? '', /keel_/);
      assert.equal(headers.authorization, undefined);
    }
  });
});
