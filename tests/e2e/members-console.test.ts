/**
 * Admin › Members and Invitations as people use them, in a real Chromium against the system
 * started by `scripts/up` (no runner: nothing here needs one), with e-mail off: the founder
 * invites someone and sees the link to pass on, invites a list (repeats set aside), revokes one;
 * the invitee signs up through the link; the founder makes them an admin, then disables them,
 * and the invitee's open page loses its session at its next request; finally the founder
 * removes them. Each page's loading, empty and error states, and axe on every page.
 *
 * Build first: `npm run build -w @keel/web`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import {
  expectAccessible,
  launchChromium,
  type PageProblems,
  scenarioSteps,
  watchForProblems,
} from './support/browser.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
const FOUNDER = 'grace@example.com';
const INVITEE = 'linus@example.com';

let keel: KeelInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;
let guestContext: BrowserContext;
let guest: Page;
let api: BrowserClient;
let inviteLink = '';

const step = scenarioSteps('members-console', () => ({ page, guest }));

const adminNav = () => page.getByRole('navigation', { name: 'Admin' });
const memberRow = (email: string) => page.getByRole('row').filter({ hasText: email });

describe('Members and Invitations, end to end', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    [keel, browser] = await Promise.all([startKeel({ env: { KEEL_SKIP_RUNNER: '1' } }), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
  });

  step('the founder signs up and finds Members and Invitations in Admin', async () => {
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

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await adminNav().getByRole('link', { name: 'Members' }).click();
    await page.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
    await memberRow(FOUNDER).getByText('Super admin').waitFor();
    await expectAccessible(page, 'Members');
  });

  step('Members: loading, empty and error states', async () => {
    // Held back, then refused: the page shows its loading state, then its error with a retry.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/api/admin/members*', async (route) => {
      await held;
      await route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'internal_error', message: 'Broken on purpose', requestId: 'req_x' },
        }),
      });
    });
    await page.reload();
    await page.getByText('Loading members…').waitFor();
    release();
    await page
      .getByRole('alert')
      .getByText(/Could not load the members/)
      .waitFor();
    await expectAccessible(page, 'Members, error');
    await page.unroute('**/api/admin/members*');
    await page.getByRole('button', { name: 'Try again' }).click();
    await memberRow(FOUNDER).waitFor();
    await page.getByLabel('Name or e-mail').fill('nobody-here');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No members match').waitFor();
    await expectAccessible(page, 'Members, empty');
    await page.getByLabel('Name or e-mail').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await memberRow(FOUNDER).waitFor();
  });

  step(
    'Invitations: one address gives a link to pass on (e-mail is off); a list sets repeats aside',
    async () => {
      await adminNav().getByRole('link', { name: 'Invitations' }).click();
      await page.getByRole('heading', { name: 'Invitations', level: 1 }).waitFor();
      await page.getByText('No invitations yet').waitFor();
      await expectAccessible(page, 'Invitations, empty');

      await page.getByLabel('E-mail addresses').fill(INVITEE);
      await page.getByLabel('Role', { exact: true }).selectOption('developer');
      await page.getByRole('button', { name: 'Invite', exact: true }).click();
      const made = page.getByRole('region', { name: 'New invitations' });
      await made.getByText(/E-mail is off/).waitFor();
      inviteLink = (await made.locator('code.invite-link').first().textContent()) ?? '';
      assert.match(inviteLink, new RegExp(`^${keel.base}/sign-up\\?invite=inv_`));
      await page.getByRole('row').filter({ hasText: INVITEE }).getByText('Pending').waitFor();

      await page.getByLabel('E-mail addresses').fill(`ada@example.com\nalan@example.com, ${INVITEE}`);
      await page.getByRole('button', { name: 'Invite', exact: true }).click();
      await made.getByText(`${INVITEE}: not invited. Already has an open invitation`).waitFor();
      assert.equal(await made.locator('code.invite-link').count(), 2);
      await expectAccessible(page, 'Invitations, made');

      await page.getByRole('button', { name: 'Revoke the invitation for alan@example.com' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke invitation' }).click();
      await page.getByRole('row').filter({ hasText: 'alan@example.com' }).getByText('Revoked').waitFor();
    },
  );

  step('the invitee signs up through the link', async () => {
    guestContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    guest = await guestContext.newPage();
    guest.setDefaultTimeout(20_000);
    await guest.goto(inviteLink);
    await guest.getByRole('heading', { name: 'Join your team on Keel' }).waitFor();
    await guest.getByLabel('Your name').fill('Linus Torvalds');
    await guest.getByLabel('Email').fill(INVITEE);
    await guest.getByLabel('Password').fill(PASSWORD);
    await guest.getByRole('button', { name: 'Create account' }).click();
    await guest.getByRole('heading', { name: 'Workspaces' }).waitFor();
  });

  step('the admin makes them an admin, then disables them: their open page is signed out', async () => {
    await adminNav().getByRole('link', { name: 'Members' }).click();
    const row = memberRow(INVITEE);
    await row.waitFor();
    await row.getByLabel('Role of Linus Torvalds').selectOption('admin');
    await page.getByRole('status').getByText('Linus Torvalds: now Admin.').waitFor();
    const listed = await api.request('GET', '/api/admin/members?q=linus', undefined, { bearer: true });
    assert.equal(listed.body.members[0].role, 'admin');

    // The invitee, now an admin, sees Admin at once on their next page.
    await guest.reload();
    await guest.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).waitFor();

    await row.getByRole('button', { name: 'Disable Linus Torvalds' }).click();
    await row.getByText('Disabled').waitFor();
    await expectAccessible(page, 'Members, a disabled member');

    // Their page, still open, makes its next request: the session is over.
    const status = await guest.evaluate(async () => {
      const csrf = document.cookie.match(/keel_csrf=([^;]+)/)?.[1] ?? '';
      return (await fetch('/api/workspaces', { headers: { 'x-keel-csrf': csrf } })).status;
    });
    assert.equal(status, 401);
    await guest.reload();
    await guest.getByRole('heading', { name: 'Sign in to Keel' }).waitFor();
    await guest.getByLabel('Email').fill(INVITEE);
    await guest.getByLabel('Password').fill(PASSWORD);
    await guest.getByRole('button', { name: 'Sign in' }).click();
    await guest.getByRole('alert').waitFor();
    assert.equal(await guest.getByRole('heading', { name: 'Workspaces' }).count(), 0);
  });

  step('the admin removes them, deleting their workspaces', async () => {
    const row = memberRow(INVITEE);
    await row.getByRole('button', { name: 'Remove Linus Torvalds' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByRole('radio', { name: 'Delete them' }).check();
    await expectAccessible(page, 'Members, remove');
    await dialog.getByRole('button', { name: 'Remove member' }).click();
    await row.waitFor({ state: 'detached' });
    const listed = await api.request('GET', '/api/admin/members', undefined, { bearer: true });
    assert.deepEqual(
      listed.body.members.map((m: { email: string }) => m.email),
      [FOUNDER],
    );
  });

  step('invited back, they sign in through the new link and are a member again', async () => {
    await adminNav().getByRole('link', { name: 'Invitations' }).click();
    await page.getByLabel('E-mail addresses').fill(INVITEE);
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    const made = page.getByRole('region', { name: 'New invitations' });
    const again = (await made.locator('code.invite-link').first().textContent()) ?? '';
    assert.match(again, /\/sign-up\?invite=inv_/);
    assert.notEqual(again, inviteLink);

    // Their account still exists: the sign-up page sends them to sign in, which accepts it.
    await guest.goto(again);
    await guest.getByRole('link', { name: 'Sign in to accept the invitation' }).click();
    await guest.getByText('Sign in to accept the invitation.').waitFor();
    await expectAccessible(guest, 'Sign in with an invitation');
    await guest.getByLabel('Email').fill(INVITEE);
    await guest.getByLabel('Password').fill(PASSWORD);
    await guest.getByRole('button', { name: 'Sign in' }).click();
    await guest.getByRole('heading', { name: 'Workspaces' }).waitFor();
    const listed = await api.request('GET', '/api/admin/members?q=linus', undefined, { bearer: true });
    assert.equal(listed.body.members[0].role, 'viewer');
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(problems.cspViolations, []);
  });
});
