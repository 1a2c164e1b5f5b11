import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { BrowserClient } from '../harness/browser-client.ts';
import { type AccountRig, assertError, PASSWORD, startAccountRig } from './account-rig.ts';

describe('an admin’s password reset', () => {
  let rig: AccountRig;
  let admin: BrowserClient;
  let devId: string;
  let otherDevId: string;
  let adminId: string;
  let superId: string;
  let outsiderId: string;
  before(async () => {
    rig = await startAccountRig();
    adminId = await rig.addPerson('admin@example.com', rig.orgA, 'admin');
    devId = await rig.addPerson('dev@example.com', rig.orgA, 'developer');
    otherDevId = await rig.addPerson('dev2@example.com', rig.orgA, 'developer');
    superId = await rig.addPerson('boss@example.com', rig.orgA, 'super_admin');
    outsiderId = await rig.addPerson('outsider@example.org', rig.orgB, 'developer');
    admin = await rig.signIn('admin@example.com');
  });
  after(() => rig.close());

  const reset = (client: BrowserClient, userId: string) =>
    client.request('POST', `/api/admin/members/${userId}/reset-password`);

  test('the person’s sessions and tokens stop; sign-in says a change is required; the link lets them back', async () => {
    const dev = await rig.signIn('dev@example.com');
    const token = (
      await dev.request('POST', '/api/account/tokens', { name: 'ci', permissions: ['workspaces:read'] })
    ).body.token as string;
    const bearer = { headers: { authorization: `Bearer ${token}` } };
    assert.equal((await rig.t.fetch('/api/auth/me', bearer)).status, 200);

    const res = await reset(admin, devId);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.body.resetPath, /^\/reset-password#token=/);
    const [row] = await rig.t.services.db.select().from(users).where(eq(users.id, devId));
    assert.equal(row!.mustChangePassword, true);

    assertError(await dev.request('GET', '/api/auth/me'), 401, 'invalid_token');
    assert.equal((await rig.t.fetch('/api/auth/me', bearer)).status, 401, 'the token stops too');
    const login = await new BrowserClient(rig.t.fetch).request('POST', '/api/auth/login', {
      email: 'dev@example.com',
      password: PASSWORD,
    });
    assertError(login, 403, 'password_change_required');
    const wrong = await new BrowserClient(rig.t.fetch).request('POST', '/api/auth/login', {
      email: 'dev@example.com',
      password: 'not the password',
    });
    assertError(wrong, 401, 'invalid_credentials');

    const anyone = new BrowserClient(rig.t.fetch);
    const next = 'chosen after the reset';
    assertError(
      await anyone.request('POST', '/api/account/password/reset', {
        token: 'keel_reset_guess',
        newPassword: next,
      }),
      401,
      'invalid_token',
    );
    assertError(
      await anyone.request('POST', '/api/account/password/reset', {
        token: res.body.resetToken,
        newPassword: 'short',
      }),
      422,
      'validation_failed',
    );
    const redeemed = await anyone.request('POST', '/api/account/password/reset', {
      token: res.body.resetToken,
      newPassword: next,
    });
    assert.equal(redeemed.status, 204, JSON.stringify(redeemed.body));
    assertError(
      await anyone.request('POST', '/api/account/password/reset', {
        token: res.body.resetToken,
        newPassword: next,
      }),
      401,
      'invalid_token',
    );
    const back = await anyone.request('POST', '/api/auth/login', {
      email: 'dev@example.com',
      password: next,
    });
    assert.equal(back.status, 200);
    assert.equal((await rig.t.fetch('/api/auth/me', bearer)).status, 200, 'the token works again');
  });

  test('a newer reset makes the older link useless', async () => {
    const first = await reset(admin, otherDevId);
    const second = await reset(admin, otherDevId);
    const anyone = new BrowserClient(rig.t.fetch);
    assertError(
      await anyone.request('POST', '/api/account/password/reset', {
        token: first.body.resetToken,
        newPassword: 'first link passphrase',
      }),
      401,
      'invalid_token',
    );
    const ok = await anyone.request('POST', '/api/account/password/reset', {
      token: second.body.resetToken,
      newPassword: 'second link passphrase',
    });
    assert.equal(ok.status, 204);
  });

  test('refused: a developer (403), another organization’s person or a bad id (404), myself, a super_admin', async () => {
    await rig.addPerson('dev3@example.com', rig.orgA, 'developer');
    const dev = await rig.signIn('dev3@example.com');
    assertError(await reset(dev, devId), 403, 'forbidden');
    assertError(await reset(admin, outsiderId), 404, 'not_found');
    assertError(await reset(admin, 'usr_nonsense'), 404, 'not_found');
    assertError(await reset(admin, adminId), 409, 'conflict');
    assertError(await reset(admin, superId), 403, 'forbidden');
    const [outsider] = await rig.t.services.db.select().from(users).where(eq(users.id, outsiderId));
    assert.equal(outsider!.mustChangePassword, false, 'nothing happened to them');
  });
});
