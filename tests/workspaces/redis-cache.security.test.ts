/**
 * What the edge caches in Redis and trusts later is sealed to the server key: entries written
 * straight into Redis (as anyone who can reach Redis could) grant nothing, against the real
 * Redis of the test run and a real runner (process driver).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { memberships, organizations, users, workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { sessionCacheKey, terminalSessionKey, workspaceRowKey } from '../../edge/src/redis-keys.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import { connectTerminal, refusedStatus } from '../terminal/terminal-client.ts';

const PASSWORD = 'correct horse battery staple';
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

async function workspace(rig: Rig, client: BrowserClient, name: string): Promise<string> {
  const created = await client.request('POST', '/api/workspaces', { name }, { bearer: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await rig.waitForStatus(client, created.body.id, 'running');
  return created.body.id;
}

describe('forged Redis cache entries grant nothing', () => {
  let rig: Rig;
  let ws: string;
  before(async () => {
    rig = await startRig('process');
    ws = await workspace(rig, rig.admin, 'victim');
    const put = await rig.admin.request(
      'PUT',
      `/api/workspaces/${ws}/files?path=secret.txt`,
      { content: 'the victim organization secret\n' },
      { bearer: true },
    );
    assert.ok(put.status < 300, JSON.stringify(put.body));
  });
  after(() => rig.close());

  test('a session entry naming a higher role, unsealed or sealed for another key, leaves the role as stored', async () => {
    const dev = await rig.member('developer', 'dev-forger@example.com');
    const services = rig.app.services;
    const claims = claimsOf(dev.accessToken!);
    const key = sessionCacheKey(services, claims.sid);
    const until = Math.floor(Date.now() / 1000) + 60;
    const value = `${claims.sub} ${claims.org} super_admin ${until}`;
    const forgeries = {
      unsealed: value,
      'the old format': `${claims.sub} ${claims.org} super_admin`,
      'sealed for another key': await services.cacheSeal.seal(sessionCacheKey(services, 'rtf_other'), value),
    };
    for (const [name, forged] of Object.entries(forgeries)) {
      await services.redis().set(key, forged, 'EX', 60);
      const me = await dev.request('GET', '/api/auth/me', undefined, { bearer: true });
      assert.equal(me.status, 200, name);
      assert.equal(me.body.role, 'developer', name);
      const verify = await dev.request('GET', '/api/admin/audit/verify', undefined, { bearer: true });
      assert.equal(verify.status, 403, name);
    }
  });

  test("a workspace row moved to the attacker's organization still answers 404", async () => {
    const db = rig.app.services.db;
    const services = rig.app.services;
    const now = new Date();
    const orgId = 'org_forgerforgerforgerzz';
    const userId = 'usr_forgerforgerforgerzz';
    await db.insert(organizations).values({ id: orgId, name: 'Forger', createdAt: now });
    await db.insert(users).values({
      id: userId,
      email: 'forger@example.org',
      name: 'Forger',
      passwordHash: await hashPassword(PASSWORD),
      createdAt: now,
    });
    await db
      .insert(memberships)
      .values({ userId, organizationId: orgId, role: 'super_admin', createdAt: now });
    const other = new BrowserClient(rig.http);
    const login = await other.request('POST', '/api/auth/login', {
      email: 'forger@example.org',
      password: PASSWORD,
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));

    const [row] = await db.select().from(workspaces).where(eq(workspaces.id, ws));
    const moved = JSON.stringify({ ...row, organizationId: orgId, ownerId: userId });
    const key = workspaceRowKey(services, ws);
    for (const [name, forged] of Object.entries({
      unsealed: moved,
      'sealed for another key': await services.cacheSeal.seal(workspaceRowKey(services, 'wsp_other'), moved),
    })) {
      await services.redis().set(key, forged, 'EX', 300);
      const read = await other.request('GET', `/api/workspaces/${ws}/files?path=secret.txt`, undefined, {
        bearer: true,
      });
      assert.equal(read.status, 404, `${name}: ${JSON.stringify(read.body)}`);
      assert.equal(
        (await other.request('GET', `/api/workspaces/${ws}`, undefined, { bearer: true })).status,
        404,
      );
    }
    // The owner still reads it: the forged entry was read as a miss, and the database decided.
    const own = await rig.admin.request('GET', `/api/workspaces/${ws}/files?path=secret.txt`, undefined, {
      bearer: true,
    });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    await services.redis().del(key);
  });

  test("execution meta naming the attacker's workspace does not open another person's output", async () => {
    const services = rig.app.services;
    const dev = await rig.member('developer', 'dev-meta@example.com');
    const own = await workspace(rig, dev, 'attacker');
    const run = await rig.admin.request(
      'POST',
      `/api/workspaces/${ws}/execute`,
      { command: 'echo victim-output' },
      { bearer: true },
    );
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const executionId = run.body.executionId as string;
    const metaKey = runnerKeys(services.config.redisPrefix, rig.runner.runnerId).execMeta(executionId);
    const ttl = await services.redis().ttl(metaKey);
    assert.ok(ttl > 0, 'the edge wrote the meta');
    const [row] = await services.db.select().from(workspaces).where(eq(workspaces.id, own));
    const value = JSON.stringify({ workspaceId: own, organizationId: row!.organizationId });
    for (const [name, forged] of Object.entries({
      unsealed: value,
      'sealed for another key': await services.cacheSeal.seal(`${metaKey}x`, value),
    })) {
      await services.redis().set(metaKey, forged, 'EX', ttl);
      const res = await dev.request(
        'GET',
        `/api/workspaces/${own}/executions/${executionId}/events`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.equal(res.status, 404, name);
    }
  });

  test("a terminal record pointing another workspace at a person's shell does not attach it", async () => {
    const services = rig.app.services;
    const term = await connectTerminal(rig.base, rig.admin, ws);
    try {
      const session = await term.waitFor('ready', () => term.session);
      const second = await workspace(rig, rig.admin, 'second');
      const key = terminalSessionKey(services, session!);
      const record = JSON.stringify({
        workspaceId: second,
        organizationId: claimsOf(rig.admin.accessToken!).org,
        userId: claimsOf(rig.admin.accessToken!).sub,
        runnerId: rig.runner.runnerId,
      });
      for (const [name, forged] of Object.entries({
        unsealed: record,
        'sealed for another key': await services.cacheSeal.seal(`${key}x`, record),
      })) {
        await services.redis().set(key, forged, 'EX', 300);
        assert.equal(
          await refusedStatus(rig.base, rig.admin, second, { query: { session: session! } }),
          404,
          name,
        );
      }
    } finally {
      term.ws.terminate();
    }
  });
});
