/**
 * The cached workspace list answered from the edge's memory without waiting
 * (workspaces/list-answer.ts): the same answer, headers and count as the route's general path,
 * through @hono/node-server on a real socket as the Node edge serves it; and what memory cannot
 * decide (a revoked session, a permission narrowed by a token's scopes) still decided there.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { markSessions } from '../../edge/src/middleware/authenticate.ts';
import { PASSWORD } from '../account/account-rig.ts';
import { assertApiAnswerHeaders } from '../harness/api-answer-headers.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

describe('the workspace list answered from memory', () => {
  let t: TestApp;
  let server: ReturnType<typeof serve>;
  let client: BrowserClient;
  /** Token signatures checked, by the general path (the memory path takes a token verified before). */
  let verified = 0;
  const list = (headers: Record<string, string> = {}) =>
    client.request('GET', '/api/workspaces', undefined, { bearer: true, headers });

  before(async () => {
    t = await createTestApp();
    const verify = t.services.keys.verify.bind(t.services.keys);
    t.services.keys.verify = (token) => {
      verified++;
      return verify(token);
    };
    server = await new Promise((resolve) => {
      const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new BrowserClient((path, init) => fetch(new URL(path, base), init));
    const signup = await client.request('POST', '/api/auth/signup', {
      email: 'memory-list@example.com',
      password: PASSWORD,
      name: 'M',
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    const created = await client.request('POST', '/api/workspaces', { name: 'one' }, { bearer: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await t.close();
  });

  test('carries every header and the same body as the general path, and is counted', async () => {
    // The general path: it fills the cache, opens the session entry and leases counts.
    const first = await list({ 'x-request-id': 'list-general' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assertApiAnswerHeaders(first.headers, { requestId: 'list-general' });
    const names = [...first.headers.keys()].filter((n) => n !== 'date').sort();
    const remaining = () => Number(/;r=(\d+);/.exec(first.headers.get('ratelimit')!)![1]);
    let left = remaining();

    verified = 0;
    for (let i = 0; i < 3; i++) {
      const res = await list(i === 2 ? {} : { 'x-request-id': `list-memory-${i}` });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, first.body);
      assertApiAnswerHeaders(res.headers, i === 2 ? {} : { requestId: `list-memory-${i}` });
      assert.deepEqual([...res.headers.keys()].filter((n) => n !== 'date').sort(), names);
      assert.equal(res.headers.get('content-type'), 'application/json');
      // Each answer counted once: one fewer left under the same policy.
      const now = Number(/;r=(\d+);/.exec(res.headers.get('ratelimit')!)![1]);
      assert.equal(now, left - 1);
      left = now;
    }
    assert.equal(verified, 0, 'answered from memory (no token checked again)');
  });

  test('a personal access token narrowed to no workspace reads is refused by the general path', async () => {
    const made = await client.request(
      'POST',
      '/api/account/tokens',
      { name: 'no-list', permissions: ['ai:use'], expiresInDays: 1 },
      { bearer: true },
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const res = await client.request('GET', '/api/workspaces', undefined, {
      headers: { authorization: `Bearer ${made.body.token}`, 'x-request-id': 'list-pat' },
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message', 'requestId']);
    assert.equal(res.body.error.code, 'forbidden');
    assert.equal(res.body.error.requestId, 'list-pat');
    assertApiAnswerHeaders(res.headers, { requestId: 'list-pat' });
  });

  test('a session revoked while its list is in memory is refused on its next request', async () => {
    assert.equal((await list()).status, 200);
    await markSessions(t.services, [claimsOf(client.accessToken!).sid], 'revoked');
    const refused = await list({ 'x-request-id': 'list-revoked' });
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, {
      error: {
        code: 'invalid_token',
        message: 'Session has ended; sign in again',
        requestId: 'list-revoked',
      },
    });
  });
});
