import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bullPrefixOf, runnerQueueName } from '@keel/contract/keys';
import { servers } from '@keel/drizzle/schema';
import { Queue } from 'bullmq';
import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import {
  kubeconfig,
  type RegisteredRunner,
  type ServerRig,
  sshKeyPair,
  startServerRig,
} from './server-rig.ts';

describe('workspaces placed on a server (real PostgreSQL and Redis)', () => {
  let rig: ServerRig;
  let runner: RegisteredRunner;
  let queue: Queue;
  let queueConnection: Redis;
  const ids = { ssh: '', k8s: '', untested: '', disabled: '', theirs: '' };

  const admin = (method: string, path: string, body?: unknown) =>
    rig.admin.request(method, path, body, { bearer: true });
  const createOn = (serverId: string, name = 'on-server') =>
    rig.developer.request('POST', '/api/workspaces', { name, serverId }, { bearer: true });
  const markOk = (id: string) =>
    rig.app.services.db.update(servers).set({ status: 'ok' }).where(eq(servers.id, id));
  const sshServer = (name: string, extra: Record<string, unknown> = {}) => ({
    kind: 'ssh',
    name,
    host: '198.51.100.40',
    user: 'keel',
    privateKey: sshKeyPair().privateKey,
    capacity: { workspaces: 2 },
    storage: { kind: 'hostDir', path: '/srv/keel/' },
    assignment: { runnerId: runner.runnerId },
    ...extra,
  });

  before(async () => {
    rig = await startServerRig();
    runner = await rig.registerRunner(rig.admin);
    queueConnection = rig.redis.duplicate();
    queue = new Queue(runnerQueueName(runner.runnerId), {
      connection: queueConnection,
      prefix: bullPrefixOf(rig.app.services.config.redisPrefix),
    });
    for (const [key, body] of [
      ['ssh', sshServer('ssh-ok')],
      ['untested', sshServer('ssh-new')],
      ['disabled', sshServer('ssh-off')],
      [
        'k8s',
        {
          kind: 'kubernetes',
          name: 'k8s-ok',
          kubeconfig: kubeconfig(),
          capacity: { workspaces: 5 },
          storage: { kind: 'pvc', sizeGb: 12, storageClass: 'ssd' },
          assignment: { runnerId: runner.runnerId },
        },
      ],
    ] as const) {
      const res = await admin('POST', '/api/admin/servers', body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[key] = res.body.server.id;
    }
    // Passing a test is the runner's part; here the tests' outcome is written as a test would.
    await markOk(ids.ssh);
    await markOk(ids.k8s);
    await markOk(ids.disabled);
    assert.equal(
      (await admin('PATCH', `/api/admin/servers/${ids.disabled}`, { disabled: true })).status,
      200,
    );
    const theirRunner = await rig.registerRunner(rig.outsider);
    const theirs = await rig.outsider.request(
      'POST',
      '/api/admin/servers',
      sshServer('theirs', { assignment: { runnerId: theirRunner.runnerId } }),
      { bearer: true },
    );
    assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
    ids.theirs = theirs.body.server.id;
    await markOk(ids.theirs);
  });
  after(async () => {
    await queue?.close();
    queueConnection?.disconnect();
    await rig?.close();
  });

  test('any member sees the servers a workspace may go on: enabled and passed their test', async () => {
    for (const client of [rig.developer, rig.admin]) {
      const res = await client.request('GET', '/api/servers', undefined, { bearer: true });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.servers.map((s: { name: string; kind: string }) => `${s.name} ${s.kind}`),
        ['k8s-ok kubernetes', 'ssh-ok ssh'],
      );
      assert.deepEqual(Object.keys(res.body.servers[0]).sort(), ['id', 'kind', 'labels', 'name', 'region']);
    }
    const theirs = await rig.outsider.request('GET', '/api/servers', undefined, { bearer: true });
    assert.deepEqual(
      theirs.body.servers.map((s: { id: string }) => s.id),
      [ids.theirs],
    );
    const anonymous = await rig.app.fetch('/api/servers');
    assert.equal(anonymous.status, 401);
  });

  test('a server that cannot take a workspace now is refused with a clear 4xx', async () => {
    const cases: Array<[string, number, string, RegExp]> = [
      [ids.untested, 422, 'validation_failed', /test/],
      [ids.disabled, 422, 'validation_failed', /closed/],
      [ids.theirs, 404, 'not_found', /server/],
      [`srv_${'a'.repeat(20)}`, 404, 'not_found', /server/],
      [ids.ssh, 503, 'runner_unavailable', /runner/],
    ];
    for (const [id, status, code, message] of cases) {
      const res = await createOn(id);
      assert.equal(res.status, status, `${id}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code);
      assert.match(res.body.error.message, message);
    }
    const bad = await createOn('srv_nope');
    assert.equal(bad.status, 422);
    assert.equal(
      (await rig.developer.request('GET', '/api/workspaces', undefined, { bearer: true })).body.workspaces
        .length,
      0,
    );
  });

  test('a workspace on an SSH server goes through its runner, with the server and its folder in the job', async () => {
    await rig.setOnline(runner.runnerId, true);
    const res = await createOn(ids.ssh, 'ssh-one');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.serverId, ids.ssh);
    assert.equal(res.body.driver, 'ssh');
    assert.equal(res.body.runnerId, runner.runnerId);
    const job = (await queue.getJobs(['waiting'])).find((j) => j.data.workspaceId === res.body.id);
    assert.ok(job, 'the create job is in the runner’s queue');
    assert.equal(job.data.spec.serverId, ids.ssh);
    assert.equal(job.data.spec.driver, 'ssh');
    assert.equal(job.data.spec.organizationId, rig.orgId);
    assert.equal(job.data.spec.hostDir, `/srv/keel/${res.body.id}`);
    assert.equal(job.data.spec.diskGb, undefined);

    // Its status follows its runner, not a comparison of the runner's own driver with ssh.
    const got = await rig.developer.request('GET', `/api/workspaces/${res.body.id}`, undefined, {
      bearer: true,
    });
    assert.equal(got.body.serverId, ids.ssh);
    assert.notEqual(got.body.status, 'unavailable', JSON.stringify(got.body));
    const listed = await admin('GET', `/api/admin/servers/${ids.ssh}`);
    assert.equal(listed.body.server.workspaces, 1);
  });

  test('a workspace on a Kubernetes server carries the claim size; one without a server carries its organization', async () => {
    const res = await createOn(ids.k8s, 'k8s-one');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.driver, 'kubernetes');
    const jobs = await queue.getJobs(['waiting']);
    const job = jobs.find((j) => j.data.workspaceId === res.body.id)!;
    assert.equal(job.data.spec.diskGb, 12);
    assert.equal(job.data.spec.driver, 'kubernetes');
    assert.equal(job.data.spec.hostDir, undefined);

    const plain = await rig.developer.request('POST', '/api/workspaces', { name: 'plain' }, { bearer: true });
    assert.equal(plain.status, 201, JSON.stringify(plain.body));
    assert.equal(plain.body.serverId, null);
    assert.equal(plain.body.driver, 'docker');
    const plainJob = (await queue.getJobs(['waiting'])).find((j) => j.data.workspaceId === plain.body.id)!;
    assert.equal(plainJob.data.spec.organizationId, rig.orgId);
    assert.equal(plainJob.data.spec.serverId, undefined);
  });

  test('a full server refuses more with resource_limit, even when asked at once', async () => {
    const [a, b] = await Promise.all([createOn(ids.ssh, 'race-a'), createOn(ids.ssh, 'race-b')]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [201, 422], JSON.stringify([a.body, b.body]));
    const refused = a.status === 422 ? a : b;
    assert.equal(refused.body.error.code, 'resource_limit');
    const again = await createOn(ids.ssh, 'one-more');
    assert.equal(again.body.error.code, 'resource_limit');
    const server = await admin('GET', `/api/admin/servers/${ids.ssh}`);
    assert.equal(server.body.server.workspaces, 2);
  });

  test('a server with workspaces on it cannot be deleted', async () => {
    const res = await admin('DELETE', `/api/admin/servers/${ids.ssh}`);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'conflict');
  });
});
