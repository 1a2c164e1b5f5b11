/*
 * A Redis user per runner (KEEL_REDIS_RUNNER_ACL), against the real Redis of the test run:
 * the runner does all its work through its own user, cannot reach another runner's keys or
 * the edge's, and loses its user, and its connections, when an admin revokes it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { Redis } from 'ioredis';
import { loginUrl } from '../../runners/src/redis-connection.ts';
import { register } from '../../runners/src/registration.ts';
import { testInfra } from '../harness/infra.ts';
import { waitFor } from '../harness/ports.ts';
import { readSse, startRig } from '../harness/runner-rig.ts';

const ACL = { KEEL_REDIS_RUNNER_ACL: 'true' };

/** The Redis error a command meets, or 'ok'. */
async function attempt(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return String((err as Error).message).split(' ')[0]!;
  }
}

describe('a Redis user per runner', () => {
  test('the runner works through its own user and reaches nothing else; revoking removes the user', async () => {
    const rig = await startRig('process', { edgeEnv: ACL });
    const admin = new Redis((await testInfra()).redisUrl);
    // As the runner connects: its own login in the URL, in place of the edge's.
    assert.ok(rig.credential.redis, 'the runner got a Redis user');
    const asRunner = new Redis(loginUrl((await testInfra()).redisUrl, rig.credential.redis), {
      maxRetriesPerRequest: 1,
    });
    asRunner.on('error', () => {});
    try {
      const user = rig.credential.redis;
      assert.ok(user, 'registration answered with a Redis user');
      assert.doesNotMatch(
        JSON.stringify(await admin.acl('GETUSER', user.username)),
        new RegExp(user.password),
      );

      // Everything a runner does, through its user: lifecycle, files, a command's output.
      const ws = await rig.admin.request('POST', '/api/workspaces', { name: 'acl' }, { bearer: true });
      await rig.waitForStatus(rig.admin, ws.body.id, 'running');
      const put = await rig.admin.request(
        'PUT',
        `/api/workspaces/${ws.body.id}/files?path=a.txt`,
        { content: 'hello' },
        { bearer: true },
      );
      assert.equal(put.status, 200);
      const read = await rig.admin.request(
        'GET',
        `/api/workspaces/${ws.body.id}/files?path=a.txt`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.equal(read.body.content, 'hello');
      const run = await rig.admin.request(
        'POST',
        `/api/workspaces/${ws.body.id}/execute`,
        { command: 'cat a.txt' },
        { bearer: true },
      );
      const events = await readSse(
        await rig.http(`/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/events`, {
          headers: { authorization: `Bearer ${rig.admin.accessToken}` },
        }),
      );
      assert.equal(events[0]?.data, 'hello');
      assert.equal(events.at(-1)?.event, 'exit');

      // Its own keys: yes. Another runner's, the edge's sessions and rows: no.
      const prefix = rig.credential.keyPrefix;
      const own = runnerKeys(prefix, rig.credential.runnerId);
      assert.equal(await attempt(asRunner.set(`${own.base}probe`, '1')), 'ok');
      const token = await rig.admin.request('POST', '/api/admin/runner-tokens', {}, { bearer: true });
      const other = await register(
        {
          ...rig.config,
          KEEL_RUNNER_TOKEN: token.body.token,
          KEEL_RUNNER_DATA_DIR: `${rig.config.KEEL_RUNNER_DATA_DIR}/other`,
        },
        {
          drivers: ['process'],
          capacity: { workspaces: 1, cpus: 1, memoryMb: 256 },
        },
      );
      const theirs = runnerKeys(prefix, other.runnerId);
      await admin.set(theirs.heartbeat, '{}');
      assert.equal(await attempt(asRunner.get(theirs.heartbeat)), 'NOPERM');
      assert.equal(
        await attempt(asRunner.xadd(theirs.execStream('exe_x'), '*', 't', 'stdout', 'd', 'x')),
        'NOPERM',
      );
      assert.equal(await attempt(asRunner.publish(`${theirs.base}reply:abc`, 'x')), 'NOPERM');
      const sessionId = JSON.parse(
        Buffer.from(rig.admin.accessToken!.split('.')[1]!, 'base64url').toString(),
      ).sid;
      assert.ok(await admin.exists(`${prefix}sess:${sessionId}`), 'the session is cached in Redis');
      assert.equal(await attempt(asRunner.get(`${prefix}sess:${sessionId}`)), 'NOPERM');
      assert.equal(await attempt(asRunner.get(`${prefix}wsrow:${ws.body.id}`)), 'NOPERM');
      for (const [name, p] of [
        ['KEYS', asRunner.keys('*')],
        ['SCAN', asRunner.scan(0)],
        ['FLUSHALL', asRunner.flushall()],
        ['CONFIG', asRunner.config('GET', 'dir')],
        ['ACL', asRunner.acl('LIST')],
        ['CLIENT LIST', asRunner.client('LIST')],
      ] as const) {
        assert.equal(await attempt(p), 'NOPERM', `${name} is refused`);
      }

      const removed = await rig.admin.request('DELETE', `/api/workspaces/${ws.body.id}`, undefined, {
        bearer: true,
      });
      assert.equal(removed.status, 202);
      await waitFor('the workspace to be deleted', async () =>
        (await rig.driver.status(ws.body.id)) === 'missing' ? true : undefined,
      );

      // Revoked: the user is gone, and so is every connection that used it. (The rig's runner
      // stops first: in a test process it could not exit the way a revoked runner does.)
      await rig.runner.stop();
      const revoke = await rig.admin.request(
        'DELETE',
        `/api/admin/runners/${rig.credential.runnerId}`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.equal(revoke.status, 204);
      assert.equal(await admin.acl('GETUSER', user.username), null);
      await waitFor('the runner to be cut off', async () =>
        (await attempt(asRunner.get(`${own.base}probe`))) === 'ok' ? undefined : true,
      );
      const login = admin.duplicate();
      try {
        assert.equal(await attempt(login.auth(user.username, user.password)), 'WRONGPASS');
      } finally {
        login.disconnect();
      }
      if (other.redis) await admin.acl('DELUSER', other.redis.username);
    } finally {
      asRunner.disconnect();
      admin.disconnect();
      await rig.close();
    }
  });
});
