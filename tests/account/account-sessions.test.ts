import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUTH_COOKIES } from '@keel/contract/auth';
import { refreshTokenFamilies } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import type { BrowserClient } from '../harness/browser-client.ts';
import { type AccountRig, assertError, PASSWORD, startAccountRig } from './account-rig.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

describe('account: profile, password and sessions', () => {
  let rig: AccountRig;
  before(async () => {
    rig = await startAccountRig();
    await rig.addPerson('ann@example.com', rig.orgA, 'developer');
    await rig.addPerson('bob@example.com', rig.orgA, 'developer');
    await rig.addPerson('pat@example.com', rig.orgA, 'developer');
    await rig.addPerson('outsider@example.org', rig.orgB, 'admin');
  });
  after(() => rig.close());

  const me = (client: BrowserClient) => client.request('GET', '/api/auth/me');

  test('sign-in and refresh record the device and address; the list says which is this one', async () => {
    const laptop = await rig.signIn('ann@example.com', FIREFOX);
    const phone = await rig.signIn('ann@example.com', `${SAFARI}${'x'.repeat(400)}`);
    const list = await laptop.request('GET', '/api/account/sessions');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.sessions.length, 2);
    const current = list.body.sessions.find((s: any) => s.current);
    const other = list.body.sessions.find((s: any) => !s.current);
    assert.equal(current.device, 'Firefox on Linux');
    assert.equal(other.device, 'Safari on iOS');
    assert.equal(other.userAgent.length, 300, 'the User-Agent is cut to 300 characters');
    assert.match(current.address, /^10\./);
    assert.ok(Date.parse(current.lastSeenAt) >= Date.parse(current.createdAt));

    const refreshed = await phone.request('POST', '/api/auth/refresh', {});
    assert.equal(refreshed.status, 200);
    const [row] = await rig.t.services.db
      .select()
      .from(refreshTokenFamilies)
      .where(eq(refreshTokenFamilies.id, other.id));
    assert.ok(row!.lastUsedAt!.getTime() >= Date.parse(other.lastSeenAt));
    await laptop.request('DELETE', '/api/account/sessions?which=all');
  });

  test('ending another session stops its access token at the next request', async () => {
    const laptop = await rig.signIn('ann@example.com', FIREFOX);
    const phone = await rig.signIn('ann@example.com', SAFARI);
    assert.equal((await me(phone)).status, 200, 'its confirmation is now cached');
    const phoneSession = (await laptop.request('GET', '/api/account/sessions')).body.sessions.find(
      (s: any) => !s.current,
    );
    assert.equal((await laptop.request('DELETE', `/api/account/sessions/${phoneSession.id}`)).status, 204);
    assertError(
      await phone.request('GET', '/api/auth/me', undefined, { bearer: true }),
      401,
      'invalid_token',
    );
    assertError(await phone.request('POST', '/api/auth/refresh', {}), 401, 'invalid_token');
    assert.equal((await me(laptop)).status, 200, 'this one goes on');
    assertError(await laptop.request('DELETE', `/api/account/sessions/${phoneSession.id}`), 404, 'not_found');
    await laptop.request('DELETE', '/api/account/sessions?which=all');
  });

  test('another person’s or organization’s session ids are not found, and nothing ends', async () => {
    const ann = await rig.signIn('ann@example.com');
    const bob = await rig.signIn('bob@example.com');
    const outsider = await rig.signIn('outsider@example.org');
    const annSession = (await ann.request('GET', '/api/account/sessions')).body.sessions[0].id;
    for (const client of [bob, outsider]) {
      assertError(await client.request('DELETE', `/api/account/sessions/${annSession}`), 404, 'not_found');
      const listed = (await client.request('GET', '/api/account/sessions')).body.sessions;
      assert.equal(
        listed.some((s: any) => s.id === annSession),
        false,
      );
    }
    assertError(await bob.request('DELETE', '/api/account/sessions/rtf_nope'), 404, 'not_found');
    assertError(await bob.request('DELETE', `/api/account/sessions/${'z'.repeat(80)}`), 404, 'not_found');
    assert.equal((await me(ann)).status, 200);
    await ann.request('DELETE', '/api/account/sessions?which=all');
  });

  test('ending all others keeps this one; `all` ends this one too; a bad `which` is refused', async () => {
    const a = await rig.signIn('bob@example.com');
    const b = await rig.signIn('bob@example.com');
    const c = await rig.signIn('bob@example.com');
    assertError(await a.request('DELETE', '/api/account/sessions?which=some'), 422, 'validation_failed');
    assert.equal((await a.request('DELETE', '/api/account/sessions')).status, 204);
    assert.equal((await me(a)).status, 200);
    for (const gone of [b, c]) assertError(await me(gone), 401, 'invalid_token');
    const all = await a.request('DELETE', '/api/account/sessions?which=all');
    assert.equal(all.status, 204);
    assert.equal(a.cookie(AUTH_COOKIES.access), undefined, 'its cookies are cleared');
    assertError(await a.request('GET', '/api/auth/me', undefined, { bearer: true }), 401, 'invalid_token');
  });

  test('changing my name: bad input is refused, then the name changes', async () => {
    const ann = await rig.signIn('ann@example.com');
    for (const body of [
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: 'A', email: 'x@y' },
    ]) {
      assertError(await ann.request('PATCH', '/api/account', body), 422, 'validation_failed');
    }
    const res = await ann.request('PATCH', '/api/account', { name: '  Ann Example ' });
    assert.equal(res.status, 200);
    assert.equal(res.body.user.name, 'Ann Example');
    assert.equal((await me(ann)).body.user.name, 'Ann Example');
    assertError(
      await ann.request('PATCH', '/api/account', { name: 'Mallory' }, { csrf: false }),
      403,
      'csrf_failed',
    );
    const anonymous = await rig.t.fetch('/api/account', { method: 'PATCH' });
    assert.equal(anonymous.status, 401);
    await ann.request('DELETE', '/api/account/sessions?which=all');
  });

  test('changing my password needs the current one, ends my other sessions and clears a pending change', async () => {
    const here = await rig.signIn('pat@example.com');
    const elsewhere = await rig.signIn('pat@example.com');
    const next = 'a brand new passphrase';
    assertError(
      await here.request('POST', '/api/account/password', {
        currentPassword: 'wrong guess',
        newPassword: next,
      }),
      401,
      'invalid_credentials',
    );
    assertError(
      await here.request('POST', '/api/account/password', {
        currentPassword: PASSWORD,
        newPassword: 'short',
      }),
      422,
      'validation_failed',
    );
    assertError(
      await here.request('POST', '/api/account/password', { newPassword: next }),
      422,
      'validation_failed',
    );
    assert.equal((await me(elsewhere)).status, 200, 'refusals end nothing');

    const ok = await here.request('POST', '/api/account/password', {
      currentPassword: PASSWORD,
      newPassword: next,
    });
    assert.equal(ok.status, 204, JSON.stringify(ok.body));
    assert.equal((await me(here)).status, 200, 'this session goes on');
    assertError(await me(elsewhere), 401, 'invalid_token');
    const old = await here.request('POST', '/api/auth/login', {
      email: 'pat@example.com',
      password: PASSWORD,
    });
    assertError(old, 401, 'invalid_credentials');
    const fresh = await here.request('POST', '/api/auth/login', { email: 'pat@example.com', password: next });
    assert.equal(fresh.status, 200);
  });
});
