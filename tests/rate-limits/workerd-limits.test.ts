/*
 * The request limits inside workerd (wrangler dev): the same middleware, Redis reached per
 * request through the worker's sockets, refusals with the same body and headers as on Node, and
 * answers with the same app-wide headers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertError, PASSWORD } from '../account/account-rig.ts';
import { assertApiAnswerHeaders } from '../harness/api-answer-headers.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { withinOneRateWindow } from '../harness/rate-window.ts';
import { startWorkerdEdge } from '../harness/workerd-edge.ts';

describe('request limits on workerd', () => {
  test('per person, then per address, with Retry-After and the RateLimit headers', async () => {
    const infra = await testInfra();
    const edge = await startWorkerdEdge({
      redisUrl: infra.redisUrl,
      databaseUrl: await freshDatabaseUrl(),
      redisPrefix: `workerd-limits${process.pid}:`,
      env: { KEEL_RATE_LIMIT_IP_PER_MINUTE: '40', KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '3' },
    });
    try {
      await withinOneRateWindow(15);
      const client = new BrowserClient((path, init) => fetch(new URL(path, edge.base), init));
      const signup = await client.request('POST', '/api/auth/signup', {
        email: 'workerd@example.com',
        password: PASSWORD,
        name: 'Workerd',
      });
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      // The workspace list's answer carries every app-wide header here as on Node; it counts as
      // the person's first request, the tightest policy.
      const listed = await client.request('GET', '/api/workspaces', undefined, {
        bearer: true,
        headers: { 'x-request-id': 'workerd-list' },
      });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assertApiAnswerHeaders(listed.headers, { requestId: 'workerd-list', policy: /person/, quota: 3 });
      assert.match(listed.headers.get('ratelimit') ?? '', /^"person";r=2;t=\d+$/);
      for (let i = 0; i < 2; i++) {
        const me = await client.request('GET', '/api/auth/me', undefined, { bearer: true });
        assert.equal(me.status, 200, JSON.stringify(me.body));
      }
      const person = await client.request('GET', '/api/auth/me', undefined, { bearer: true });
      assertError(person, 429, 'rate_limited');
      assert.equal(person.headers.get('ratelimit-policy'), '"person";q=3;w=60');
      assert.ok(Number(person.headers.get('retry-after')) > 0);
      // The start-up's readiness probes came from this address too: the answer says how many are left.
      const open = await client.request('GET', '/openapi.json');
      assert.equal(open.status, 200);
      const left = Number(/^"ip";r=(\d+);t=\d+$/.exec(open.headers.get('ratelimit') ?? '')?.[1]);
      assert.ok(left >= 0 && left < 40, open.headers.get('ratelimit') ?? 'no RateLimit header');
      for (let i = 0; i < left; i++) assert.equal((await client.request('GET', '/healthz')).status, 200);
      const refused = await client.request('GET', '/openapi.json');
      assertError(refused, 429, 'rate_limited');
      assert.equal(refused.headers.get('ratelimit-policy'), '"ip";q=40;w=60');
    } catch (err) {
      console.error(edge.output());
      throw err;
    } finally {
      await edge.stop();
    }
  });
});
