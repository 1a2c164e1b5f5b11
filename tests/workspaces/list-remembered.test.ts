/**
 * The workspace list is kept in the edge's memory between requests and read with the session's
 * entry in one round trip (see workspaces/cache.ts, cachedAlongside): a write from any edge (a
 * bumped version in Redis) and a revoked session still act on the very next request. Real
 * Redis; the other edge is played by writing to Redis as it would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { markSessions } from '../../edge/src/middleware/authenticate.ts';
import { invalidate, listScope } from '../../edge/src/workspaces/cache.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

describe('the remembered workspace list', () => {
  let t: TestApp;
  let admin: BrowserClient;
  const list = async () => admin.request('GET', '/api/workspaces', undefined, { bearer: true });
  const names = async () => {
    const r = await list();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body.workspaces as Array<{ name: string }>).map((w) => w.name);
  };

  before(async () => {
    t = await createTestApp();
    admin = new BrowserClient(t.fetch);
    const signup = await admin.request('POST', '/api/auth/signup', {
      email: 'list@example.com',
      password: 'correct horse battery staple',
      name: 'L',
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
  });
  after(() => t.close());

  test('a write shows on the next list, from this edge or (a bumped version) from another', async () => {
    assert.deepEqual(await names(), []);
    const created = await admin.request('POST', '/api/workspaces', { name: 'one' }, { bearer: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(await names(), ['one']);
    assert.deepEqual(await names(), ['one'], 'remembered');

    // Another edge renames it: its database write, then its invalidate.
    await t.services.db.update(workspaces).set({ name: 'renamed' }).where(eq(workspaces.id, created.body.id));
    assert.deepEqual(await names(), ['one'], 'still the cached list until the version moves');
    await invalidate(t.services, listScope(claimsOf(admin.accessToken!).org));
    assert.deepEqual(await names(), ['renamed']);
  });

  test('a session revoked while its list is remembered is refused on its next request', async () => {
    assert.equal((await list()).status, 200);
    assert.equal((await list()).status, 200);
    // A changed role: the entry is replaced by one that is never trusted, so the database decides.
    await markSessions(t.services, [claimsOf(admin.accessToken!).sid], 'recheck');
    assert.equal((await list()).status, 200);
    await markSessions(t.services, [claimsOf(admin.accessToken!).sid], 'revoked');
    const refused = await list();
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'invalid_token');
  });
});
