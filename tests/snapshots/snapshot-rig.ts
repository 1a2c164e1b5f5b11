/**
 * What the snapshot API's tests share: the server rig (real app on real PostgreSQL and Redis,
 * an organization with its admin, a developer and here a viewer, another organization), two
 * runners of the organization and one of the other, registered through the API, and the
 * runners' side played by hand: their queues are read, their statuses and reports written as
 * a runner writes them. (The runner's own snapshot handlers are tested with the runner.)
 */
import assert from 'node:assert/strict';
import { RunnerJob } from '@keel/contract/jobs';
import { bullPrefixOf, runnerKeys, runnerQueueName } from '@keel/contract/keys';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BrowserClient } from '../harness/browser-client.ts';
import { type RegisteredRunner, type ServerRig, startServerRig } from '../servers/server-rig.ts';

const PASSWORD = 'correct horse battery staple';

export interface SnapshotRig extends ServerRig {
  viewer: BrowserClient;
  /** The organization's runners: every workspace of the organization is placed on `holder`. */
  holder: RegisteredRunner;
  bystander: RegisteredRunner;
  /** The other organization's runner. */
  foreign: RegisteredRunner;
  /** As a client sends it, with the bearer token. */
  as(
    client: BrowserClient,
    method: string,
    path: string,
    body?: unknown,
  ): ReturnType<BrowserClient['request']>;
  createWorkspace(client: BrowserClient, name: string, extra?: Record<string, unknown>): Promise<string>;
  /** Writes the workspace's status as its runner does. */
  setStatus(runner: RegisteredRunner, workspaceId: string, status: string): Promise<void>;
  /** A runner's JSON call with its credential. */
  runnerCall(runner: RegisteredRunner, method: string, path: string, body?: unknown): Promise<Response>;
  /** Jobs waiting in a runner's queue, oldest first; `take` removes them. */
  jobs(runner: RegisteredRunner): Promise<RunnerJob[]>;
  drain(runner: RegisteredRunner): Promise<void>;
}

export async function startSnapshotRig(): Promise<SnapshotRig> {
  const rig = await startServerRig();
  const invitation = await rig.admin.request(
    'POST',
    `/api/orgs/${rig.orgId}/invitations`,
    { email: 'viewer@example.com', role: 'viewer' },
    { bearer: true },
  );
  assert.equal(invitation.status, 201, JSON.stringify(invitation.body));
  const viewer = new BrowserClient((path, init) => rig.app.fetch(path, init));
  const joined = await viewer.request('POST', '/api/auth/signup', {
    email: 'viewer@example.com',
    password: PASSWORD,
    name: 'Viewer',
    inviteToken: invitation.body.token,
  });
  assert.equal(joined.status, 201, JSON.stringify(joined.body));

  const holder = await rig.registerRunner(rig.admin);
  const bystander = await rig.registerRunner(rig.admin);
  const foreign = await rig.registerRunner(rig.outsider);
  for (const r of [holder, foreign]) await rig.setOnline(r.runnerId, true);

  const prefix = rig.app.services.config.redisPrefix;
  const connections: Redis[] = [];
  const queues = new Map<string, Queue>();
  const queueOf = (runner: RegisteredRunner) => {
    let queue = queues.get(runner.runnerId);
    if (!queue) {
      const connection = rig.redis.duplicate();
      connections.push(connection);
      queue = new Queue(runnerQueueName(runner.runnerId), { connection, prefix: bullPrefixOf(prefix) });
      queues.set(runner.runnerId, queue);
    }
    return queue;
  };
  const as: SnapshotRig['as'] = (client, method, path, body) =>
    client.request(method, path, body, { bearer: true });

  return {
    ...rig,
    viewer,
    holder,
    bystander,
    foreign,
    as,
    async createWorkspace(client, name, extra = {}) {
      // Only `holder` (and the other organization's runner) is online while workspaces are placed.
      await rig.setOnline(bystander.runnerId, false);
      const res = await as(client, 'POST', '/api/workspaces', { name, ...extra });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await rig.setOnline(bystander.runnerId, true);
      return res.body.id as string;
    },
    async setStatus(runner, workspaceId, status) {
      await rig.redis.set(
        runnerKeys(prefix, runner.runnerId).workspaceStatus(workspaceId),
        JSON.stringify({ status, reason: null, at: new Date().toISOString() }),
        'EX',
        600,
      );
    },
    runnerCall(runner, method, path, body) {
      return rig.app.fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${runner.credential}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async jobs(runner) {
      const jobs = await queueOf(runner).getJobs(['waiting']);
      // As the runner reads them: what rides beside a job (its trace) is not part of it.
      return jobs.sort((a, b) => Number(a.id) - Number(b.id)).map((j) => RunnerJob.parse(j.data));
    },
    async drain(runner) {
      await queueOf(runner).drain();
    },
    async close() {
      for (const q of queues.values()) await q.close();
      for (const c of connections) c.disconnect();
      await rig.close();
    },
  };
}
