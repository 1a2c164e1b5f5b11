import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { API_CONTENT_SECURITY_POLICY } from '../../edge/src/middleware/security-headers.ts';
import { writePlan } from '../../edge/src/plans/plan-store.ts';
import { refusalsToday } from '../../edge/src/plans/refusals.ts';
import { assertError, PASSWORD, startAccountRig } from '../account/account-rig.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { withinOneRateWindow } from '../harness/rate-window.ts';
import { createTestApp } from '../harness/test-app.ts';

/** A 429 of the request limits: error body, Retry-After and the policy that refused. */
function assertRefused(res: { status: number; body: any; headers: Headers }, policy: string, quota: number) {
  assertError(res, 429, 'rate_limited');
  const retry = Number(res.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 60, `Retry-After ${res.headers.get('retry-after')}`);
  assert.equal(res.headers.get('ratelimit-policy'), `"${policy}";q=${quota};w=60`);
  assert.match(res.headers.get('ratelimit') ?? '', new RegExp(`^"${policy}";r=0;t=${retry}$`));
}

const json = (res: Response) => res.json() as Promise<any>;

describe('request limits per address, person and plan (real Redis and PostgreSQL)', () => {
  test('per address: every route, signed in or not, a bad token too; the answer says how many are left', async () => {
    const t = await createTestApp({ env: { KEEL_RATE_LIMIT_IP_PER_MINUTE: '6' } });
    try {
      await withinOneRateWindow(10);
      const client = new BrowserClient(t.fetch);
      const signup = await client.request('POST', '/api/auth/signup', {
        email: 'ip@example.com',
        password: PASSWORD,
        name: 'Ip',
      }); // 1
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      const open = await t.fetch('/openapi.json'); // 2
      assert.equal(open.status, 200);
      assert.equal(open.headers.get('ratelimit-policy'), '"ip";q=6;w=60');
      assert.match(open.headers.get('ratelimit') ?? '', /^"ip";r=4;t=\d+$/);
      const me = await client.request('GET', '/api/auth/me', undefined, { bearer: true }); // 3
      assert.equal(me.status, 200);
      assert.match(me.headers.get('ratelimit') ?? '', /^"ip";r=3;t=\d+$/);
      for (let i = 4; i <= 6; i++) assert.equal((await t.fetch('/healthz')).status, 200);
      const refusedOpen = await t.fetch('/openapi.json');
      assertRefused(
        { status: refusedOpen.status, body: await json(refusedOpen), headers: refusedOpen.headers },
        'ip',
        6,
      );
      assertRefused(await client.request('GET', '/api/auth/me', undefined, { bearer: true }), 'ip', 6);
      // A caller whose token is refused is still counted by address: 429, not 401.
      const forged = await t.fetch('/api/auth/me', { headers: { authorization: 'Bearer not.a.token' } });
      assertRefused({ status: forged.status, body: await json(forged), headers: forged.headers }, 'ip', 6);
      // Another address is not affected.
      const other = await createTestApp({
        env: { KEEL_RATE_LIMIT_IP_PER_MINUTE: '6', KEEL_REDIS_PREFIX: t.services.config.redisPrefix },
      });
      try {
        assert.equal((await other.fetch('/healthz')).status, 200);
      } finally {
        await other.close();
      }
    } finally {
      await t.close();
    }
  });

  test('the cached workspace list carries every app-wide header: request id, security policy, limits', async () => {
    const t = await createTestApp({ env: { KEEL_RATE_LIMIT_IP_PER_MINUTE: '50' } });
    try {
      await withinOneRateWindow(10);
      const client = new BrowserClient(t.fetch);
      const signup = await client.request('POST', '/api/auth/signup', {
        email: 'list-headers@example.com',
        password: PASSWORD,
        name: 'List',
      });
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      assert.equal(
        (await client.request('POST', '/api/workspaces', { name: 'one' }, { bearer: true })).status,
        201,
      );
      // The first read fills the cache; the next ones are the serialized answer made with the headers on it.
      for (let i = 0; i < 3; i++) {
        const res = await client.request('GET', '/api/workspaces', undefined, {
          bearer: true,
          headers: { 'x-request-id': `list-${i}` },
        });
        assert.equal(res.status, 200);
        assert.equal(res.body.workspaces.length, 1);
        assert.equal(res.headers.get('x-request-id'), `list-${i}`);
        assert.equal(res.headers.get('content-type'), 'application/json');
        assert.equal(res.headers.get('content-security-policy'), API_CONTENT_SECURITY_POLICY);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.match(res.headers.get('ratelimit-policy') ?? '', /^"(ip|person|plan)";q=\d+;w=60$/);
        assert.match(res.headers.get('ratelimit') ?? '', /^"(ip|person|plan)";r=\d+;t=\d+$/);
      }
    } finally {
      await t.close();
    }
  });

  test('the list counted from leases is counted on the address it comes from', async () => {
    let address = '10.250.0.1';
    const t = await createTestApp({
      clientIp: () => address,
      env: { KEEL_RATE_LIMIT_IP_PER_MINUTE: '640', KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '64000' },
    });
    try {
      await withinOneRateWindow(10);
      const client = new BrowserClient(t.fetch);
      const signup = await client.request('POST', '/api/auth/signup', {
        email: 'list-address@example.com',
        password: PASSWORD,
        name: 'Address',
      });
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      const left = async () => {
        const res = await client.request('GET', '/api/workspaces', undefined, { bearer: true });
        assert.equal(res.status, 200);
        const m = /^"ip";r=(\d+);t=\d+$/.exec(res.headers.get('ratelimit') ?? '');
        assert.ok(m, `ratelimit ${res.headers.get('ratelimit')}`);
        return Number(m[1]);
      };
      // Past the first reads, these are answered and counted from memory (leases).
      const first = [await left(), await left(), await left(), await left()];
      assert.deepEqual(first, [first[0]!, first[0]! - 1, first[0]! - 2, first[0]! - 3]);
      address = '10.250.0.2';
      assert.deepEqual([await left(), await left()], [639, 638], 'another address counts from its own start');
      address = '10.250.0.1';
      assert.equal(await left(), first[0]! - 4, 'the first address goes on from where it was');
    } finally {
      await t.close();
    }
  });

  test('the AI starts are counted beside their one-round-trip start: past the limit, the address is refused', async () => {
    const t = await createTestApp({ env: { KEEL_RATE_LIMIT_IP_PER_MINUTE: '3' } });
    try {
      await withinOneRateWindow(10);
      const ask = () =>
        t.fetch('/api/ai/explain', {
          method: 'POST',
          headers: { authorization: 'Bearer not.a.token', 'content-type': 'application/json' },
          body: '{}',
        });
      // Answered by the route (no such session), counted all the same, up to the limit and one past it.
      for (let i = 0; i < 4; i++) assert.equal((await ask()).status, 401);
      // The count that found the address past its limit lands beside the answer.
      await new Promise((r) => setTimeout(r, 100));
      const refused = await ask();
      assertRefused({ status: refused.status, body: await json(refused), headers: refused.headers }, 'ip', 3);
      assertRefused(
        await (async () => {
          const res = await t.fetch('/healthz');
          return { status: res.status, body: await json(res), headers: res.headers };
        })(),
        'ip',
        3,
      );
    } finally {
      await t.close();
    }
  });

  test('two edges share the counters of one address (one Redis)', async () => {
    const shared = {
      KEEL_RATE_LIMIT_IP_PER_MINUTE: '4',
      KEEL_REDIS_PREFIX: `t${randomBytes(6).toString('hex')}:`,
    };
    const clientIp = `10.9.${randomBytes(2).join('.')}`;
    const one = await createTestApp({ env: shared, clientIp });
    const two = await createTestApp({ env: shared, clientIp });
    try {
      await withinOneRateWindow(10);
      const statuses: number[] = [];
      for (const edge of [one, two, one, two, one, two]) statuses.push((await edge.fetch('/healthz')).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    } finally {
      await one.close();
      await two.close();
    }
  });

  describe('per person and per plan', () => {
    let rig: Awaited<ReturnType<typeof startAccountRig>>;
    before(async () => {
      rig = await startAccountRig({ KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '5' });
      await rig.addPerson('dev1@example.com', rig.orgA, 'developer');
      await rig.addPerson('dev2@example.com', rig.orgA, 'developer');
      await rig.addPerson('dev3@example.com', rig.orgA, 'developer');
      await rig.addPerson('dev4@example.com', rig.orgA, 'developer');
      await rig.addPerson('admin-b@example.com', rig.orgB, 'admin');
    });
    after(() => rig.close());

    test('per person: one person past the limit is refused, another at the same address is not', async () => {
      const one = await rig.signIn('dev1@example.com');
      const two = await rig.signIn('dev2@example.com');
      await withinOneRateWindow(10);
      for (let i = 0; i < 5; i++) {
        const res = await one.request('GET', '/api/workspaces', undefined, { bearer: true });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      assertRefused(await one.request('GET', '/api/workspaces', undefined, { bearer: true }), 'person', 5);
      assert.equal((await two.request('GET', '/api/workspaces', undefined, { bearer: true })).status, 200);
      // The session cookie is the same person as the bearer token.
      assertRefused(await one.request('GET', '/api/auth/me'), 'person', 5);
    });

    test('the plan’s requests a minute are shared by the organization’s people, not by another organization', async () => {
      await withinOneRateWindow(10);
      const root = await rig.signIn('root@example.com');
      // People who made no request this minute, so their own limit (5) stays out of the way.
      const one = await rig.signIn('dev3@example.com');
      const two = await rig.signIn('dev4@example.com');
      const other = await rig.signIn('admin-b@example.com');
      const put = await root.request(
        'PUT',
        '/api/admin/plan',
        {
          plan: {
            name: 'Team',
            limits: {
              aiTokensPerDay: null,
              concurrentWorkspaces: null,
              concurrentCommands: null,
              apiRequestsPerMinute: 4,
            },
          },
        },
        { bearer: true },
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.plan.limits.apiRequestsPerMinute, 4);
      // Until now the organization had no request limit, so nothing was counted against it.
      for (const client of [one, two, one, two]) {
        const res = await client.request('GET', '/api/auth/me', undefined, { bearer: true });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      assertRefused(await one.request('GET', '/api/auth/me', undefined, { bearer: true }), 'plan', 4);
      assertRefused(await two.request('GET', '/api/auth/me', undefined, { bearer: true }), 'plan', 4);
      assertRefused(await root.request('GET', '/api/admin/plan', undefined, { bearer: true }), 'plan', 4);
      const b = await other.request('GET', '/api/auth/me', undefined, { bearer: true });
      assert.equal(b.status, 200, 'another organization has its own plan');
      // Counted for the dashboards, by scope (the plan page shows them; its own test reads it there).
      const counts = await refusalsToday(rig.t.services, rig.orgA);
      assert.equal(counts.plan, 3);
      assert.ok(counts.person >= 2, JSON.stringify(counts));
      assert.equal((await refusalsToday(rig.t.services, rig.orgB)).plan, 0);
      await writePlan(rig.t.services, rig.orgA, null);
    });
  });
});
