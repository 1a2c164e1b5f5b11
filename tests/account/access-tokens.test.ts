import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { memberships, personalAccessTokens, users } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { accessTokenCacheKey, forgetAccessTokens } from '../../edge/src/accounts/access-tokens.ts';
import { sha256Hex } from '../../edge/src/auth/bytes.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { withinOneRateWindow } from '../harness/rate-window.ts';
import { type AccountRig, assertError, startAccountRig } from './account-rig.ts';

describe('personal access tokens', () => {
  let rig: AccountRig;
  let admin: BrowserClient;
  let dev: BrowserClient;
  let outsider: BrowserClient;
  let adminId: string;
  let devId: string;
  before(async () => {
    rig = await startAccountRig();
    adminId = await rig.addPerson('admin@example.com', rig.orgA, 'admin');
    devId = await rig.addPerson('dev@example.com', rig.orgA, 'developer');
    await rig.addPerson('outsider@example.org', rig.orgB, 'super_admin');
    admin = await rig.signIn('admin@example.com');
    dev = await rig.signIn('dev@example.com');
    outsider = await rig.signIn('outsider@example.org');
  });
  after(() => rig.close());

  const withToken = (token: string, method: string, path: string, body?: unknown) =>
    rig.t
      .fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      .then(async (res) => ({ status: res.status, body: (await res.json().catch(() => undefined)) as any }));
  const make = async (client: BrowserClient, permissions: string[], name = 'script') => {
    const res = await client.request('POST', '/api/account/tokens', { name, permissions });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { token: string; record: { id: string } };
  };

  test('bad input is refused with the error body, and nothing is made', async () => {
    const bad: unknown[] = [
      {},
      { name: '', permissions: ['workspaces:read'] },
      { name: 'x', permissions: [] },
      { name: 'x', permissions: ['root:everything'] },
      { name: 'x', permissions: ['workspaces:read', 'workspaces:read'] },
      { name: 'x', permissions: ['workspaces:read'], expiresInDays: 0 },
      { name: 'x', permissions: ['workspaces:read'], expiresInDays: 366 },
      { name: 'x', permissions: ['workspaces:read'], expiresInDays: 1.5 },
      { name: 'x', permissions: ['workspaces:read'], expiresInDays: null },
      { name: 'x'.repeat(101), permissions: ['workspaces:read'] },
      { name: 'x', permissions: ['workspaces:read'], owner: 'someone' },
    ];
    for (const body of bad) {
      const res = await dev.request('POST', '/api/account/tokens', body);
      assertError(res, 422, 'validation_failed');
    }
    const list = await dev.request('GET', '/api/account/tokens');
    assert.deepEqual(list.body.tokens, []);
  });

  test('a token cannot hold a permission its owner’s role lacks', async () => {
    const res = await dev.request('POST', '/api/account/tokens', {
      name: 'too much',
      permissions: ['workspaces:read', 'members:manage'],
    });
    assertError(res, 403, 'forbidden');
  });

  test('made once, stored as its hash, listed without it, and usable as a Bearer token', async () => {
    const made = await make(dev, ['workspaces:read', 'workspaces:use']);
    assert.match(made.token, /^keel_pat_[A-Za-z0-9_-]{43}$/, 'a recognisable prefix and 256 random bits');
    const [row] = await rig.t.services.db
      .select()
      .from(personalAccessTokens)
      .where(eq(personalAccessTokens.id, made.record.id));
    assert.equal(row!.tokenHash, sha256Hex(made.token));
    assert.equal(JSON.stringify(row).includes(made.token), false, 'the token itself is not stored');
    const days = (row!.expiresAt!.getTime() - row!.createdAt.getTime()) / 86_400_000;
    assert.equal(Math.round(days), 30, 'expires in 30 days by default');

    const me = await withToken(made.token, 'GET', '/api/auth/me');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.user.id, devId);
    const workspaces = await withToken(made.token, 'GET', '/api/workspaces');
    assert.equal(workspaces.status, 200, JSON.stringify(workspaces.body));

    const list = await dev.request('GET', '/api/account/tokens');
    const listed = list.body.tokens.find((x: any) => x.id === made.record.id);
    assert.equal(listed.prefix, made.token.slice(0, 16));
    assert.deepEqual(listed.permissions, ['workspaces:read', 'workspaces:use']);
    assert.ok(listed.lastUsedAt, 'its last use is listed');
    assert.match(listed.lastUsedAddress, /^10\./);
    assert.equal(JSON.stringify(list.body).includes(made.token), false);
  });

  test('its last use is written at most once a minute, not per request', async () => {
    const made = await make(dev, ['workspaces:read']);
    const lastUsed = async () =>
      (
        await rig.t.services.db
          .select({ at: personalAccessTokens.lastUsedAt })
          .from(personalAccessTokens)
          .where(eq(personalAccessTokens.id, made.record.id))
      )[0]!.at;
    assert.equal(await lastUsed(), null);
    assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200);
    const first = await lastUsed();
    assert.ok(first);
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 3; i++)
      assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200);
    assert.equal((await lastUsed())?.getTime(), first.getTime(), 'served from the cache, no write');
    // The cached confirmation lapses after a minute; the next use writes again.
    await rig.t.services.redis().del(accessTokenCacheKey(rig.t.services, sha256Hex(made.token)));
    assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200);
    assert.ok((await lastUsed())!.getTime() > first.getTime());
  });

  test('a token cannot make, list or revoke tokens, nor manage the account', async () => {
    const made = await make(admin, ['workspaces:read', 'members:manage', 'settings:manage']);
    for (const [method, path, body] of [
      ['POST', '/api/account/tokens', { name: 'child', permissions: ['workspaces:read'] }],
      ['GET', '/api/account/tokens'],
      ['DELETE', `/api/account/tokens/${made.record.id}`],
      ['GET', '/api/account/sessions'],
      ['DELETE', '/api/account/sessions'],
      ['PATCH', '/api/account', { name: 'Renamed' }],
      ['POST', '/api/account/password', { currentPassword: 'x', newPassword: 'y'.repeat(12) }],
    ] as const) {
      assertError(await withToken(made.token, method, path, body), 403, 'forbidden');
    }
    assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200, 'still valid');
  });

  test('revoked at once, even when its confirmation is cached; others’ tokens are not found', async () => {
    const made = await make(dev, ['workspaces:read']);
    assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200, 'now cached');
    assertError(await outsider.request('DELETE', `/api/account/tokens/${made.record.id}`), 404, 'not_found');
    assertError(await admin.request('DELETE', `/api/account/tokens/${made.record.id}`), 404, 'not_found');
    assertError(await dev.request('DELETE', '/api/account/tokens/pat_nonsense'), 404, 'not_found');
    assertError(await dev.request('DELETE', `/api/account/tokens/${'x'.repeat(70)}`), 404, 'not_found');
    const outsiderList = await outsider.request('GET', '/api/account/tokens');
    assert.equal(outsiderList.body.tokens.length, 0);
    assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200, 'untouched');

    assert.equal((await dev.request('DELETE', `/api/account/tokens/${made.record.id}`)).status, 204);
    assertError(await withToken(made.token, 'GET', '/api/auth/me'), 401, 'invalid_token');
    assertError(await dev.request('DELETE', `/api/account/tokens/${made.record.id}`), 404, 'not_found');
    const list = await dev.request('GET', '/api/account/tokens');
    assert.equal(
      list.body.tokens.some((x: any) => x.id === made.record.id),
      false,
    );
  });

  test('expired, unknown and malformed tokens are 401', async () => {
    const made = await make(dev, ['workspaces:read']);
    assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200);
    await rig.t.services.db
      .update(personalAccessTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(personalAccessTokens.id, made.record.id));
    // The cached confirmation never outlives the token; dropping it stands for that minute passing.
    await rig.t.services.redis().del(accessTokenCacheKey(rig.t.services, sha256Hex(made.token)));
    assertError(await withToken(made.token, 'GET', '/api/auth/me'), 401, 'invalid_token');
    const listed = (await dev.request('GET', '/api/account/tokens')).body.tokens.find(
      (x: any) => x.id === made.record.id,
    );
    assert.equal(listed.expired, true);
    assertError(await withToken(`keel_pat_${'A'.repeat(43)}`, 'GET', '/api/auth/me'), 401, 'invalid_token');
    assertError(await withToken('keel_pat_', 'GET', '/api/auth/me'), 401, 'invalid_token');
  });

  test('a scope narrower than the route is 403; the owner’s role bounds the token', async () => {
    const target = await rig.addPerson('target@example.com', rig.orgA, 'developer');
    const path = `/api/admin/members/${target}/reset-password`;
    const narrow = await make(admin, ['workspaces:read']);
    assertError(await withToken(narrow.token, 'POST', path), 403, 'forbidden');
    const wide = await make(admin, ['workspaces:read', 'members:manage']);
    assert.equal((await withToken(wide.token, 'POST', path)).status, 200);

    // The admin is demoted: what the members routes do on a role change (forget the token's
    // cached confirmation) and the token loses what the role no longer holds.
    await rig.t.services.db
      .update(memberships)
      .set({ role: 'developer' })
      .where(and(eq(memberships.userId, adminId), eq(memberships.organizationId, rig.orgA)));
    await forgetAccessTokens(rig.t.services, adminId);
    assertError(await withToken(wide.token, 'POST', path), 403, 'forbidden');
    assert.equal(
      (await withToken(wide.token, 'GET', '/api/auth/me')).status,
      200,
      'still the person’s token',
    );
    await rig.t.services.db
      .update(memberships)
      .set({ role: 'admin' })
      .where(and(eq(memberships.userId, adminId), eq(memberships.organizationId, rig.orgA)));
    await forgetAccessTokens(rig.t.services, adminId);
  });

  test('a disabled account or membership stops its tokens', async () => {
    const userId = await rig.addPerson('leaver@example.com', rig.orgA, 'developer');
    const leaver = await rig.signIn('leaver@example.com');
    const made = await make(leaver, ['workspaces:read']);
    assert.equal((await withToken(made.token, 'GET', '/api/auth/me')).status, 200);
    await rig.t.services.db
      .update(memberships)
      .set({ disabledAt: new Date() })
      .where(eq(memberships.userId, userId));
    await forgetAccessTokens(rig.t.services, userId);
    assertError(await withToken(made.token, 'GET', '/api/auth/me'), 401, 'invalid_token');
    await rig.t.services.db
      .update(memberships)
      .set({ disabledAt: null })
      .where(eq(memberships.userId, userId));
    await rig.t.services.db.update(users).set({ disabledAt: new Date() }).where(eq(users.id, userId));
    await forgetAccessTokens(rig.t.services, userId);
    assertError(await withToken(made.token, 'GET', '/api/auth/me'), 401, 'invalid_token');
  });

  test('audit entries record making and revoking', async () => {
    const made = await make(dev, ['workspaces:read'], 'audited');
    await dev.request('DELETE', `/api/account/tokens/${made.record.id}`);
    const res = await rig
      .signIn('root@example.com')
      .then((root) => root.request('GET', '/api/admin/audit?limit=50'));
    const actions = res.body.events.map((e: any) => `${e.action}:${e.targetId}`);
    assert.ok(actions.includes(`account.token_create:${made.record.id}`));
    assert.ok(actions.includes(`account.token_revoke:${made.record.id}`));
  });
});

describe('personal access tokens, failed lookups', () => {
  let rig: AccountRig;
  before(async () => {
    rig = await startAccountRig({ KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '2' });
  });
  after(() => rig.close());

  test('count against the address like failed sign-ins', async () => {
    await withinOneRateWindow(10);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await rig.t.fetch('/api/auth/me', {
        headers: { authorization: `Bearer keel_pat_guess${i}` },
      });
      statuses.push(res.status);
      if (res.status === 429) {
        assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
        assert.equal(((await res.json()) as any).error.code, 'rate_limited');
      }
    }
    assert.ok(statuses.includes(401));
    assert.equal(statuses.at(-1), 429, statuses.join(','));
  });
});
