/**
 * The fleet's routes against the real app (PGlite, real Redis), with runners registered through
 * the API and their heartbeats written as runners write them: who may drain and move what,
 * fencing of placement checks and handoffs, and bad input on every route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bullPrefixOf, runnerKeys, runnerQueueName } from '@keel/contract/keys';
import {
  memberships,
  organizations,
  runners,
  servers,
  snapshots,
  users,
  workspaces,
} from '@keel/drizzle/schema';
import { Queue } from 'bullmq';
import { and, eq } from 'drizzle-orm';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { newId } from '../../edge/src/ids.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const BOOTSTRAP = 'bootstrap-token-for-shared-runners-0123456789';

interface RegisteredRunner {
  runnerId: string;
  credential: string;
}

describe('fleet routes', () => {
  let app: TestApp;
  let admin: BrowserClient; // org A's super_admin, an install administrator
  let orgAdmin: BrowserClient; // org A's admin, not an install administrator
  let developer: BrowserClient;
  let outsider: BrowserClient; // org B's super_admin
  let orgA: string;
  let adminId: string;
  let r1: RegisteredRunner;
  let r2: RegisteredRunner;
  let shared: RegisteredRunner;
  let foreign: RegisteredRunner;
  let serverId: string;
  const queues: Queue[] = [];

  const prefix = () => app.services.config.redisPrefix;
  const db = () => app.services.db;

  async function register(token: string, name: string): Promise<RegisteredRunner> {
    const res = await app.fetch('/api/runners/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token,
        name,
        capacity: { workspaces: 10, cpus: 4, memoryMb: 8192 },
        drivers: ['process'],
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as RegisteredRunner;
  }

  async function runnerOf(client: BrowserClient, name: string): Promise<RegisteredRunner> {
    const token = await client.request('POST', '/api/admin/runner-tokens', { name }, { bearer: true });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    return register(token.body.token, name);
  }

  /** What a live runner writes every few seconds. */
  async function beat(runnerId: string, ttlSeconds = 60): Promise<void> {
    await app.services.redis().set(
      runnerKeys(prefix(), runnerId).heartbeat,
      JSON.stringify({
        v: 1,
        runnerId,
        at: new Date().toISOString(),
        version: '0.0.0',
        driver: 'process',
        cpus: 4,
        load: [0, 0, 0],
        memory: { totalMb: 8192, freeMb: 8000 },
        disk: { totalMb: 100_000, freeMb: 90_000 },
        workspacesRunning: 0,
        gpus: [],
      }),
      'EX',
      ttlSeconds,
    );
  }

  async function liveStatus(runnerId: string, workspaceId: string, status: string): Promise<void> {
    await app.services
      .redis()
      .set(
        runnerKeys(prefix(), runnerId).workspaceStatus(workspaceId),
        JSON.stringify({ status, reason: null, at: new Date().toISOString() }),
      );
  }

  async function workspace(
    runnerId: string,
    values: Partial<typeof workspaces.$inferInsert> = {},
  ): Promise<typeof workspaces.$inferSelect> {
    const now = new Date();
    const [row] = await db()
      .insert(workspaces)
      .values({
        id: newId('workspace'),
        organizationId: orgA,
        ownerId: adminId,
        name: 'w',
        source: { type: 'empty' },
        resources: { cpus: 1, memoryMb: 512 },
        runnerId,
        driver: 'process',
        status: 'running',
        createdAt: now,
        updatedAt: now,
        ...values,
      })
      .returning();
    return row!;
  }

  async function snapshot(
    workspaceId: string,
    values: Partial<typeof snapshots.$inferInsert> = {},
  ): Promise<string> {
    const id = newId('snapshot');
    await db()
      .insert(snapshots)
      .values({
        id,
        workspaceId,
        organizationId: orgA,
        reason: 'move',
        status: 'ready',
        generation: 1,
        files: 1,
        bytes: 10,
        bytesWritten: 10,
        takenAt: new Date(Date.now() - 30_000),
        ...values,
      });
    return id;
  }

  async function jobsOf(runnerId: string) {
    const q = new Queue(runnerQueueName(runnerId), {
      connection: app.services.redis(),
      prefix: bullPrefixOf(prefix()),
    });
    queues.push(q);
    return (await q.getJobs(['waiting', 'prioritized', 'delayed'])).map((j) => j.data);
  }

  function asRunner(r: RegisteredRunner, path: string, body: unknown, raw?: string) {
    return app.fetch(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${r.credential}`, 'content-type': 'application/json' },
      body: raw ?? JSON.stringify(body),
    });
  }

  async function member(role: 'admin' | 'developer', email: string): Promise<BrowserClient> {
    const inv = await admin.request(
      'POST',
      `/api/orgs/${orgA}/invitations`,
      { role, email },
      { bearer: true },
    );
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const c = new BrowserClient(app.fetch);
    const res = await c.request('POST', '/api/auth/signup', {
      email,
      password: PASSWORD,
      name: role,
      inviteToken: inv.body.token,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return c;
  }

  before(async () => {
    app = await createTestApp({
      env: { KEEL_RUNNER_BOOTSTRAP_TOKEN: BOOTSTRAP, KEEL_RUNNER_LOST_AFTER_SECONDS: '2' },
    });
    admin = new BrowserClient(app.fetch);
    const signup = await admin.request('POST', '/api/auth/signup', {
      email: 'fleet-owner@example.com',
      password: PASSWORD,
      name: 'Owner',
      organization: 'A',
    });
    assert.equal(signup.status, 201, JSON.stringify(signup.body));
    orgA = signup.body.organization.id;
    adminId = signup.body.user.id;
    orgAdmin = await member('admin', 'fleet-admin@example.com');
    developer = await member('developer', 'fleet-dev@example.com');

    const now = new Date();
    const orgB = newId('organization');
    const userB = newId('user');
    await db().insert(organizations).values({ id: orgB, name: 'B', createdAt: now });
    await db()
      .insert(users)
      .values({
        id: userB,
        email: 'fleet-outsider@example.org',
        name: 'Outsider',
        passwordHash: await hashPassword(PASSWORD),
        createdAt: now,
      });
    await db()
      .insert(memberships)
      .values({ userId: userB, organizationId: orgB, role: 'super_admin', createdAt: now });
    outsider = new BrowserClient(app.fetch);
    const login = await outsider.request('POST', '/api/auth/login', {
      email: 'fleet-outsider@example.org',
      password: PASSWORD,
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));

    r1 = await runnerOf(admin, 'r1');
    r2 = await runnerOf(admin, 'r2');
    foreign = await runnerOf(outsider, 'foreign');
    shared = await register(BOOTSTRAP, 'shared');
    for (const r of [r1, r2, foreign, shared]) await beat(r.runnerId);

    serverId = newId('server');
    await db()
      .insert(servers)
      .values({
        id: serverId,
        organizationId: orgA,
        name: 'box',
        kind: 'ssh',
        labels: {},
        capacity: { workspaces: 5 },
        storage: { kind: 'volume' },
        assignment: { runnerId: r1.runnerId },
        endpoint: { host: '198.51.100.7', port: 22, user: 'keel', hostKey: null },
        credentialSealed: 'sealed',
        credentialFingerprint: 'SHA256:test',
        status: 'ok',
        createdAt: now,
      });
  });

  after(async () => {
    for (const q of queues) await q.close();
    await app.close();
  });

  describe('POST /api/runners/placements/check', () => {
    test('stale: moved, newer generation, deleted, another runner’s, another organization’s, unknown', async () => {
      const mine = await workspace(r1.runnerId);
      const moved = await workspace(r2.runnerId);
      const newer = await workspace(r1.runnerId, { generation: 3 });
      const deleted = await workspace(r1.runnerId, { deletedAt: new Date() });
      const unknown = newId('workspace');
      const res = await asRunner(r1, '/api/runners/placements/check', {
        workspaces: [
          { id: mine.id, generation: 1 },
          { id: moved.id, generation: 1 },
          { id: newer.id, generation: 2 },
          { id: deleted.id, generation: 1 },
          { id: unknown, generation: 1 },
        ],
      });
      assert.equal(res.status, 200);
      const { stale } = (await res.json()) as { stale: string[] };
      assert.deepEqual(new Set(stale), new Set([moved.id, newer.id, deleted.id, unknown]));
      // Another runner asking about r1's workspace learns only that it is not its own.
      const other = await asRunner(foreign, '/api/runners/placements/check', {
        workspaces: [{ id: mine.id, generation: 1 }],
      });
      assert.deepEqual(await other.json(), { stale: [mine.id] });
    });

    test('bad input and no credential', async () => {
      const noAuth = await app.fetch('/api/runners/placements/check', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workspaces: [] }),
      });
      assert.equal(noAuth.status, 401);
      for (const body of [
        {},
        { workspaces: [{ id: 'nope', generation: 1 }] },
        { workspaces: [{ id: newId('workspace'), generation: 0 }] },
        { workspaces: [], extra: true },
        { workspaces: Array.from({ length: 10_001 }, () => ({ id: newId('workspace'), generation: 1 })) },
      ]) {
        const res = await asRunner(r1, '/api/runners/placements/check', body);
        assert.ok(
          res.status >= 400 && res.status < 500,
          `${res.status} for ${JSON.stringify(body).slice(0, 80)}`,
        );
        const err = (await res.json()) as { error: { code: string; requestId: string } };
        assert.ok(err.error.code && err.error.requestId);
      }
      const notJson = await asRunner(r1, '/api/runners/placements/check', undefined, '{"workspaces":');
      assert.ok(notJson.status >= 400 && notJson.status < 500);
    });
  });

  describe('POST /api/runners/workspaces/:id/handoff', () => {
    test('fenced: another runner, another generation, no move, a snapshot not its own or not ready', async () => {
      const row = await workspace(r1.runnerId);
      const snap = await snapshot(row.id);
      const handoff = (r: RegisteredRunner, body: unknown) =>
        asRunner(r, `/api/runners/workspaces/${row.id}/handoff`, body);
      const ok = { generation: 1, snapshotId: snap, wasRunning: true };
      assert.equal((await handoff(r1, ok)).status, 409, 'no move asked for');
      await db()
        .update(workspaces)
        .set({
          move: {
            reason: 'manual',
            target: { runnerId: r2.runnerId },
            requestedAt: new Date().toISOString(),
            requestedBy: null,
          },
        })
        .where(eq(workspaces.id, row.id));
      assert.equal((await handoff(r2, ok)).status, 409, 'not its runner');
      assert.equal((await handoff(foreign, ok)).status, 409, 'another organization’s runner');
      assert.equal((await handoff(r1, { ...ok, generation: 2 })).status, 409, 'another generation');
      const otherWs = await workspace(r1.runnerId);
      const notIts = await snapshot(otherWs.id);
      assert.equal(
        (await handoff(r1, { ...ok, snapshotId: notIts })).status,
        409,
        'another workspace’s snapshot',
      );
      const pending = await snapshot(row.id, { status: 'pending', takenAt: null });
      assert.equal((await handoff(r1, { ...ok, snapshotId: pending })).status, 409, 'not ready');
      for (const bad of [{}, { ...ok, generation: 0 }, { ...ok, snapshotId: 'x' }, { ...ok, extra: 1 }]) {
        const res = await handoff(r1, bad);
        assert.equal(res.status, 422, JSON.stringify(bad));
      }
      const badId = await asRunner(r1, '/api/runners/workspaces/..%2F..%2Fetc/handoff', ok);
      assert.equal(badId.status, 404);
      const unknown = await asRunner(r1, `/api/runners/workspaces/${newId('workspace')}/handoff`, ok);
      assert.equal(unknown.status, 409, 'an unknown id answers as a fenced one: nothing is revealed');
    });

    test('a handoff places it where the move goes, at the next generation, from the snapshot; the old runner is fenced after', async () => {
      const row = await workspace(r1.runnerId);
      const snap = await snapshot(row.id);
      await db()
        .update(workspaces)
        .set({
          move: {
            reason: 'manual',
            target: { runnerId: r2.runnerId },
            requestedAt: new Date().toISOString(),
            requestedBy: adminId,
          },
        })
        .where(eq(workspaces.id, row.id));
      const res = await asRunner(r1, `/api/runners/workspaces/${row.id}/handoff`, {
        generation: 1,
        snapshotId: snap,
        wasRunning: false,
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), { moved: true, runnerId: r2.runnerId, generation: 2 });
      const [after] = await db().select().from(workspaces).where(eq(workspaces.id, row.id));
      assert.equal(after!.runnerId, r2.runnerId);
      assert.equal(after!.generation, 2);
      assert.equal(after!.status, 'relocating');
      assert.equal(after!.move, null);
      const create = (await jobsOf(r2.runnerId)).find((j) => j.workspaceId === row.id);
      assert.ok(create, 'a create job on the new runner');
      assert.equal(create.type, 'workspace.create');
      assert.equal(create.generation, 2);
      assert.deepEqual(create.source, { type: 'snapshot', snapshotId: snap });
      assert.equal(create.start, false, 'it was stopped: it stays stopped');
      assert.deepEqual(create.relocation, { reason: 'manual' });
      assert.ok(create.snapshotTakenAt);
      // The old runner, late: refused, and told its copy is stale.
      const again = await asRunner(r1, `/api/runners/workspaces/${row.id}/handoff`, {
        generation: 1,
        snapshotId: snap,
        wasRunning: false,
      });
      assert.equal(again.status, 409);
      const check = await asRunner(r1, '/api/runners/placements/check', {
        workspaces: [{ id: row.id, generation: 1 }],
      });
      assert.deepEqual(await check.json(), { stale: [row.id] });
      const audit = await admin.request('GET', '/api/admin/audit?action=workspace.relocate', undefined, {
        bearer: true,
      });
      const event = audit.body.events?.find((e: { workspaceId: string }) => e.workspaceId === row.id);
      assert.ok(event, JSON.stringify(audit.body).slice(0, 400));
      assert.equal(event.metadata.toRunnerId, r2.runnerId);
      assert.ok(event.metadata.snapshotAgeSeconds >= 29, JSON.stringify(event.metadata));
    });

    test('no place for the move: moved false, the move dropped, the workspace stays', async () => {
      const gone = await runnerOf(admin, 'gone');
      await beat(gone.runnerId);
      const row = await workspace(r1.runnerId);
      const snap = await snapshot(row.id);
      await db()
        .update(workspaces)
        .set({
          move: {
            reason: 'manual',
            target: { runnerId: gone.runnerId },
            requestedAt: new Date().toISOString(),
            requestedBy: null,
          },
        })
        .where(eq(workspaces.id, row.id));
      await app.services.redis().del(runnerKeys(prefix(), gone.runnerId).heartbeat);
      const res = await asRunner(r1, `/api/runners/workspaces/${row.id}/handoff`, {
        generation: 1,
        snapshotId: snap,
        wasRunning: true,
      });
      assert.deepEqual(await res.json(), { moved: false, runnerId: r1.runnerId, generation: 1 });
      const [after] = await db().select().from(workspaces).where(eq(workspaces.id, row.id));
      assert.equal(after!.runnerId, r1.runnerId);
      assert.equal(after!.generation, 1);
      assert.equal(after!.move, null);
    });
  });

  describe('drains', () => {
    test('an admin drains the organization’s runner and sees its progress; undrain clears it', async () => {
      const drained = await runnerOf(admin, 'drained');
      await beat(drained.runnerId);
      await workspace(drained.runnerId, { status: 'starting' });
      const on = await admin.request(
        'POST',
        `/api/admin/runners/${drained.runnerId}/drain`,
        { drain: true },
        { bearer: true },
      );
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.equal(on.body.id, drained.runnerId);
      assert.equal(on.body.drain.draining, true);
      assert.ok(on.body.drain.since);
      assert.equal(on.body.drain.remaining, 1);
      assert.equal(on.body.drain.failed, 0);
      const list = await orgAdmin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      const view = list.body.runners.find((r: { id: string }) => r.id === drained.runnerId);
      assert.equal(view.drain.draining, true);
      assert.equal(view.lost, false);
      const again = await orgAdmin.request(
        'POST',
        `/api/admin/runners/${drained.runnerId}/drain`,
        { drain: true },
        { bearer: true },
      );
      assert.equal(again.body.drain.since, on.body.drain.since, 'draining again keeps when it began');
      const off = await admin.request(
        'POST',
        `/api/admin/runners/${drained.runnerId}/drain`,
        { drain: false },
        { bearer: true },
      );
      assert.equal(off.status, 200);
      assert.equal(off.body.drain.draining, false);
      assert.equal(off.body.drain.since, null);
    });

    test('who may drain what', async () => {
      const path = (id: string) => `/api/admin/runners/${id}/drain`;
      assert.equal(
        (await developer.request('POST', path(r1.runnerId), { drain: true }, { bearer: true })).status,
        403,
      );
      assert.equal(
        (await outsider.request('POST', path(r1.runnerId), { drain: true }, { bearer: true })).status,
        404,
      );
      assert.equal(
        (await admin.request('POST', path(foreign.runnerId), { drain: true }, { bearer: true })).status,
        404,
      );
      // A shared runner is the install administrators', on their own route.
      assert.equal(
        (await admin.request('POST', path(shared.runnerId), { drain: true }, { bearer: true })).status,
        404,
      );
      const install = (id: string) => `/api/install/runners/${id}/drain`;
      assert.equal(
        (await orgAdmin.request('POST', install(shared.runnerId), { drain: true }, { bearer: true })).status,
        403,
      );
      assert.equal(
        (await outsider.request('POST', install(shared.runnerId), { drain: true }, { bearer: true })).status,
        403,
      );
      assert.equal(
        (await admin.request('POST', install(r1.runnerId), { drain: true }, { bearer: true })).status,
        404,
      );
      const sharedOn = await admin.request(
        'POST',
        install(shared.runnerId),
        { drain: true },
        { bearer: true },
      );
      assert.equal(sharedOn.status, 200, JSON.stringify(sharedOn.body));
      const sharedList = await admin.request('GET', '/api/install/runners', undefined, { bearer: true });
      assert.equal(
        sharedList.body.runners.find((r: { id: string }) => r.id === shared.runnerId).drain.draining,
        true,
      );
      const sharedOff = await admin.request(
        'POST',
        install(shared.runnerId),
        { drain: false },
        { bearer: true },
      );
      assert.equal(sharedOff.body.drain.draining, false);
      for (const [client, p] of [
        [admin, path(r1.runnerId)],
        [admin, install(shared.runnerId)],
        [admin, `/api/admin/servers/${serverId}/drain`],
      ] as const) {
        for (const bad of [{}, { drain: 'yes' }, { drain: true, extra: 1 }, null]) {
          const res = await client.request('POST', p, bad, { bearer: true });
          assert.equal(res.status, 422, `${p} ${JSON.stringify(bad)}: ${res.status}`);
          assert.ok(res.body.error.requestId);
        }
      }
      for (const id of ['nope', '..', newId('runner')]) {
        assert.equal((await admin.request('POST', path(id), { drain: true }, { bearer: true })).status, 404);
      }
      assert.equal(
        (
          await new BrowserClient(app.fetch).request('POST', `/api/admin/runners/${r1.runnerId}/drain`, {
            drain: true,
          })
        ).status,
        401,
        'no credentials',
      );
    });

    test('a draining server is closed to new workspaces and shows its drain', async () => {
      const p = `/api/admin/servers/${serverId}/drain`;
      assert.equal((await developer.request('POST', p, { drain: true }, { bearer: true })).status, 403);
      assert.equal((await outsider.request('POST', p, { drain: true }, { bearer: true })).status, 404);
      assert.equal(
        (
          await admin.request(
            'POST',
            `/api/admin/servers/${newId('server')}/drain`,
            { drain: true },
            { bearer: true },
          )
        ).status,
        404,
      );
      const on = await admin.request('POST', p, { drain: true }, { bearer: true });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.equal(on.body.drain.draining, true);
      const list = await admin.request('GET', '/api/admin/servers', undefined, { bearer: true });
      assert.equal(list.body.servers.find((s: { id: string }) => s.id === serverId).drain.draining, true);
      const create = await admin.request(
        'POST',
        '/api/workspaces',
        { name: 'onbox', serverId },
        { bearer: true },
      );
      assert.equal(create.status, 422, JSON.stringify(create.body));
      assert.match(create.body.error.message, /closed/);
      const off = await admin.request('POST', p, { drain: false }, { bearer: true });
      assert.equal(off.body.drain.draining, false);
    });
  });

  describe('POST /api/admin/workspaces/:id/place', () => {
    test('authorization and bad input', async () => {
      const row = await workspace(r1.runnerId);
      const p = `/api/admin/workspaces/${row.id}/place`;
      assert.equal(
        (await developer.request('POST', p, { runnerId: r2.runnerId }, { bearer: true })).status,
        403,
      );
      assert.equal(
        (await outsider.request('POST', p, { runnerId: foreign.runnerId }, { bearer: true })).status,
        404,
      );
      assert.equal(
        (
          await admin.request(
            'POST',
            `/api/admin/workspaces/${newId('workspace')}/place`,
            { runnerId: r2.runnerId },
            { bearer: true },
          )
        ).status,
        404,
      );
      assert.equal(
        (await admin.request('POST', p, { runnerId: foreign.runnerId }, { bearer: true })).status,
        404,
        'another organization’s runner',
      );
      assert.equal(
        (await admin.request('POST', p, { runnerId: newId('runner') }, { bearer: true })).status,
        404,
      );
      assert.equal(
        (await admin.request('POST', p, { runnerId: r1.runnerId }, { bearer: true })).status,
        409,
        'where it is',
      );
      const offline = await runnerOf(admin, 'offline');
      assert.equal(
        (await admin.request('POST', p, { runnerId: offline.runnerId }, { bearer: true })).status,
        409,
        'offline',
      );
      for (const bad of [
        {},
        { runnerId: 'x' },
        { runnerId: r2.runnerId, serverId },
        { serverId: 'srv' },
        { runnerId: r2.runnerId, x: 1 },
      ]) {
        const res = await admin.request('POST', p, bad, { bearer: true });
        assert.equal(res.status, 422, JSON.stringify(bad));
      }
      await liveStatus(r1.runnerId, row.id, 'starting');
      assert.equal(
        (await admin.request('POST', p, { runnerId: r2.runnerId }, { bearer: true })).status,
        409,
        'neither running nor stopped',
      );
    });

    test('a running workspace is asked to evacuate toward the chosen runner', async () => {
      const row = await workspace(r1.runnerId);
      await liveStatus(r1.runnerId, row.id, 'running');
      const res = await admin.request(
        'POST',
        `/api/admin/workspaces/${row.id}/place`,
        { runnerId: r2.runnerId },
        { bearer: true },
      );
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.body, { id: row.id, status: 'relocating' });
      const [after] = await db().select().from(workspaces).where(eq(workspaces.id, row.id));
      assert.deepEqual((after!.move as { target: unknown }).target, { runnerId: r2.runnerId });
      const evacuate = (await jobsOf(r1.runnerId)).find(
        (j) => j.workspaceId === row.id && j.type === 'workspace.evacuate',
      );
      assert.ok(evacuate, 'an evacuation on its runner');
      assert.equal(evacuate.generation, 1);
      const [snap] = await db().select().from(snapshots).where(eq(snapshots.id, evacuate.snapshotId));
      assert.equal(snap?.status, 'pending');
      assert.equal(snap?.workspaceId, row.id);
      assert.equal(
        (
          await admin.request(
            'POST',
            `/api/admin/workspaces/${row.id}/place`,
            { runnerId: r2.runnerId },
            { bearer: true },
          )
        ).status,
        409,
        'moving already',
      );
    });
  });

  describe('the sweep (in check-ins)', () => {
    test('a runner gone past the deadline with workspaces is lost; its workspaces move, from their snapshot', async () => {
      const doomed = await runnerOf(admin, 'doomed');
      const running = await workspace(doomed.runnerId);
      const stopped = await workspace(doomed.runnerId, { status: 'stopped' });
      const onServer = await workspace(doomed.runnerId, { serverId, driver: 'ssh' });
      const snap = await snapshot(running.id);
      await db()
        .update(runners)
        .set({ lastSeenAt: new Date(Date.now() - 10_000) })
        .where(eq(runners.id, doomed.runnerId));
      const checkIn = () => asRunner(r2, '/api/runners/check-in', {});
      await waitFor(
        'the doomed runner lost',
        async () => {
          await beat(r2.runnerId);
          assert.equal((await checkIn()).status, 200);
          const list = await admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
          return list.body.runners.find((r: { id: string }) => r.id === doomed.runnerId)?.lost || undefined;
        },
        15_000,
        300,
      );
      const rows = await waitFor(
        'its workspaces moved',
        async () => {
          await checkIn();
          const rs = await db()
            .select()
            .from(workspaces)
            .where(and(eq(workspaces.organizationId, orgA)));
          const mine = rs.filter((r) => [running.id, stopped.id].includes(r.id));
          return mine.every((r) => r.generation === 2) ? rs : undefined;
        },
        15_000,
        300,
      );
      const moved = rows.find((r) => r.id === running.id)!;
      assert.notEqual(moved.runnerId, doomed.runnerId);
      assert.ok(['relocating', 'queued'].includes(moved.status));
      // Its data is on the server, which did not fail with the runner: it stays.
      assert.equal(rows.find((r) => r.id === onServer.id)!.generation, 1);
      if (moved.runnerId) {
        const create = (await jobsOf(moved.runnerId)).find((j) => j.workspaceId === running.id);
        assert.deepEqual(create.source, { type: 'snapshot', snapshotId: snap });
        assert.equal(create.start, true);
        assert.deepEqual(create.relocation, { reason: 'lost' });
        const stoppedRow = rows.find((r) => r.id === stopped.id)!;
        const stoppedCreate = (await jobsOf(stoppedRow.runnerId!)).find((j) => j.workspaceId === stopped.id);
        assert.deepEqual(stoppedCreate.source, { type: 'empty' }, 'no snapshot: its source');
        assert.equal(stoppedCreate.start, false);
      }
      // Back: no longer lost.
      await beat(doomed.runnerId);
      await waitFor(
        'the runner back',
        async () => {
          await new Promise((r) => setTimeout(r, 1_100));
          await checkIn();
          const [r] = await db().select().from(runners).where(eq(runners.id, doomed.runnerId));
          return r!.lostAt === null || undefined;
        },
        10_000,
        100,
      );
    });
  });
});
