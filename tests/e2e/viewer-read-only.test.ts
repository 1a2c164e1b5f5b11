/**
 * A viewer reads: in a real Chromium against the whole system started by `scripts/up` (on a
 * PostgreSQL database of the test's, so the test can demote a member as a role change does), a
 * developer's workspace with a file, its owner demoted to viewer, who signs in and opens it: the
 * file shows, the editor takes no typing, there is no Save, Run, Terminal, New file or Start, the
 * note says why, and no terminal socket is ever opened. The API refuses a write all the same.
 *
 * Build the web app first: `npm run build -w @keel/web`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migratePostgresDatabase } from '@keel/drizzle/migrate';
import { memberships, users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Browser, Page } from 'playwright-core';
import { connectPostgres, type DatabaseHandle } from '../../edge/src/services/database.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { waitFor } from '../harness/ports.ts';
import {
  describeViolations,
  launchChromium,
  screenshot,
  seriousAccessibilityViolations,
} from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const VIEWER = 'reader@example.com';
const CONTENT = 'read me, do not change me\n';

describe('a viewer opens the IDE read-only', { timeout: 240_000 }, () => {
  let keel: KeelInstance;
  let browser: Browser;
  let page: Page;
  let database: DatabaseHandle;
  let workspaceId: string;
  const sockets: string[] = [];

  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    const url = await (await testInfra()).createPostgresDatabase();
    database = connectPostgres(url, { max: 2 });
    await migratePostgresDatabase(database.db as unknown as PostgresJsDatabase<Record<string, unknown>>);
    [keel, browser] = await Promise.all([
      startKeel({ env: { DATABASE_URL: url, KEEL_RUNNER_DRIVER: 'process' } }),
      launchChromium(),
    ]);

    const api = (client: BrowserClient) => ({
      call: (method: string, path: string, body?: unknown) =>
        client.request(method, path, body, { bearer: true }),
    });
    const fetchKeel = (path: string, init?: RequestInit) => fetch(`${keel.base}${path}`, init);
    const founder = new BrowserClient(fetchKeel);
    const founded = await founder.request('POST', '/api/auth/signup', {
      email: 'founder@example.com',
      password: PASSWORD,
      name: 'Founder',
      organization: 'Readers',
    });
    assert.equal(founded.status, 201, JSON.stringify(founded.body));
    const invite = await api(founder).call('POST', `/api/orgs/${founded.body.organization.id}/invitations`, {
      email: VIEWER,
      role: 'developer',
    });
    assert.equal(invite.status, 201, JSON.stringify(invite.body));
    const dev = new BrowserClient(fetchKeel);
    const joined = await dev.request('POST', '/api/auth/signup', {
      email: VIEWER,
      password: PASSWORD,
      name: 'Reader',
      inviteToken: invite.body.token,
    });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));

    const created = await api(dev).call('POST', '/api/workspaces', { name: 'readable' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    workspaceId = created.body.id;
    await waitFor(
      'the workspace to run',
      async () => {
        const status = await api(dev).call('GET', `/api/workspaces/${workspaceId}/status`);
        return status.body?.status === 'running' ? true : undefined;
      },
      90_000,
    );
    const wrote = await api(dev).call(
      'PUT',
      `/api/workspaces/${workspaceId}/files?path=${encodeURIComponent('README.md')}`,
      { content: CONTENT },
    );
    assert.equal(wrote.status, 200, JSON.stringify(wrote.body));

    // The owner becomes a viewer (as a role change does); their next sign-in carries the new role.
    const [user] = await database.db.select().from(users).where(eq(users.email, VIEWER));
    await database.db.update(memberships).set({ role: 'viewer' }).where(eq(memberships.userId, user!.id));

    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('websocket', (socket) => sockets.push(socket.url()));
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
    await database?.close();
  });

  test('the API says what a viewer may do, and refuses a write with the error body', async () => {
    const viewer = new BrowserClient((path, init) => fetch(`${keel.base}${path}`, init));
    const login = await viewer.request('POST', '/api/auth/login', { email: VIEWER, password: PASSWORD });
    assert.equal(login.status, 200);
    const me = await viewer.request('GET', '/api/auth/me', undefined, { bearer: true });
    assert.equal(me.body.role, 'viewer');
    assert.deepEqual(me.body.permissions, ['workspaces:read']);
    const write = await viewer.request(
      'PUT',
      `/api/workspaces/${workspaceId}/files?path=README.md`,
      { content: 'changed' },
      { bearer: true },
    );
    assert.equal(write.status, 403);
    assert.equal(write.body.error.code, 'forbidden');
  });

  test('the list offers Open only; the IDE shows the file read-only, with no terminal', async () => {
    try {
      await page.goto(keel.base);
      await page.getByLabel('Email').fill(VIEWER);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();

      const card = page.getByRole('listitem', { name: 'readable' });
      await card.getByRole('button', { name: 'Open readable' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'New workspace' }).count(), 0, 'no New workspace');
      for (const hidden of ['Stop readable', 'Restart readable', 'Delete readable', 'Snapshot readable'])
        assert.equal(await card.getByRole('button', { name: hidden }).count(), 0, `no ${hidden}`);

      await card.getByRole('button', { name: 'Open readable' }).click();
      await page.getByRole('heading', { name: 'readable', level: 1 }).waitFor();
      await page
        .getByText(/^Read-only: your role lets you read this workspace/)
        .first()
        .waitFor();
      for (const hidden of ['New file', 'New folder', 'Snapshot'])
        assert.equal(
          await page.getByRole('button', { name: hidden, exact: true }).count(),
          0,
          `no ${hidden}`,
        );

      await page.getByRole('treeitem', { name: /README\.md/ }).click();
      const lines = page.locator('.code-editor .view-lines');
      await waitFor(
        'the file in the editor',
        // Monaco shows spaces as non-breaking ones.
        async () =>
          ((await lines.textContent()) ?? '').replace(/\u00a0/g, ' ').includes('read me') ? true : undefined,
        20_000,
      );
      await page.locator('.code-editor .view-lines').click();
      await page.keyboard.type('typed ');
      await page.keyboard.press('Control+S');
      const text = ((await lines.textContent()) ?? '').replace(/\u00a0/g, ' ');
      assert.ok(!text.includes('typed'), `the editor took no typing: ${text}`);
      assert.ok(!(await page.title()).startsWith('●'), 'nothing unsaved');

      // The bottom panel: Run and Terminal say why they are not there; no terminal starts.
      if ((await page.getByRole('tab', { name: 'Terminal' }).count()) === 0)
        await page.keyboard.press('Control+J');
      await page.getByRole('tab', { name: 'Terminal' }).click();
      await page
        .locator('#panel-terminal')
        .getByText(/workspaces:use permission/)
        .waitFor();
      await page.getByRole('tab', { name: 'Run' }).click();
      await page
        .locator('#panel-run')
        .getByText(/workspaces:use permission/)
        .waitFor();
      assert.equal(await page.getByLabel('Command to run in the workspace').count(), 0, 'no command input');
      assert.equal(await page.locator('.xterm').count(), 0, 'no terminal');
      assert.deepEqual(
        sockets.filter((url) => url.includes('/terminal')),
        [],
        'no terminal socket was opened',
      );
      await screenshot(page, 'viewer-read-only');
      const violations = await seriousAccessibilityViolations(page, ['.xterm']);
      assert.equal(violations.length, 0, describeViolations(violations));

      // The file on the server is as it was.
      const res = await fetch(`${keel.base}/api/workspaces/${workspaceId}/files?path=README.md`, {
        headers: { cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') },
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { content: string }).content, CONTENT);
    } catch (error) {
      await screenshot(page, 'failed-viewer-read-only').catch(() => {});
      throw error;
    }
  });
});
