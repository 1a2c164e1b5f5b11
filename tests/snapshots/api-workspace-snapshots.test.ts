/**
 * A workspace's snapshots over the API (real PostgreSQL and Redis): who may list, take, delete
 * and restore them, what the runner is asked, what a stop saves first, and a new workspace
 * made from a snapshot. The runner's side is played by hand (see snapshot-rig.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents, snapshots, workspaces } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { type SnapshotRig, startSnapshotRig } from './snapshot-rig.ts';

describe('workspace snapshots over the API (real PostgreSQL and Redis)', () => {
  let rig: SnapshotRig;
  const ws = { dev: '', admin: '', theirs: '' };

  /** Takes a snapshot as `client` and has the holder report it saved; answers its id. */
  const readySnapshot = async (workspaceId: string, client = rig.developer) => {
    const res = await rig.as(client, 'POST', `/api/workspaces/${workspaceId}/snapshots`, {});
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.snapshot.id as string;
    const done = await rig.runnerCall(rig.holder, 'POST', `/api/runners/snapshots/${id}/complete`, {
      ok: true,
      workspaceId,
      generation: 1,
      files: 3,
      bytes: 1200,
      bytesWritten: 1200,
      takenAt: new Date().toISOString(),
    });
    assert.equal(done.status, 200, await done.clone().text());
    return id;
  };
  const expectError = (res: { status: number; body: any }, status: number, code?: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.match(res.body?.error?.requestId ?? '', /\S/, JSON.stringify(res.body));
    if (code) assert.equal(res.body.error.code, code);
  };

  before(async () => {
    rig = await startSnapshotRig();
    ws.dev = await rig.createWorkspace(rig.developer, 'dev-ws');
    ws.admin = await rig.createWorkspace(rig.admin, 'admin-ws');
    ws.theirs = await rig.createWorkspace(rig.outsider, 'their-ws');
    await rig.setStatus(rig.holder, ws.dev, 'running');
    await rig.setStatus(rig.holder, ws.admin, 'stopped');
    await rig.setStatus(rig.foreign, ws.theirs, 'running');
    await rig.drain(rig.holder);
  });
  after(async () => {
    await rig?.close();
  });

  test('the workspace view carries its generation', async () => {
    const res = await rig.as(rig.developer, 'GET', `/api/workspaces/${ws.dev}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.generation, 1);
  });

  test('a developer takes a snapshot of their running workspace: pending, and its runner is asked', async () => {
    const res = await rig.as(rig.developer, 'POST', `/api/workspaces/${ws.dev}/snapshots`, { pinned: true });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const snap = res.body.snapshot;
    assert.equal(snap.status, 'pending');
    assert.equal(snap.reason, 'manual');
    assert.equal(snap.pinned, true);
    assert.equal(snap.workspaceId, ws.dev);
    assert.equal(snap.takenAt, null);
    const jobs = await rig.jobs(rig.holder);
    assert.deepEqual(jobs.at(-1), {
      v: jobs.at(-1)!.v,
      type: 'workspace.snapshot',
      workspaceId: ws.dev,
      generation: 1,
      snapshotId: snap.id,
      reason: 'manual',
    });
    // With no body at all too; and an admin may snapshot a stopped workspace of anyone's.
    const bare = await rig.developer.request('POST', `/api/workspaces/${ws.dev}/snapshots`, undefined, {
      bearer: true,
    });
    assert.equal(bare.status, 202, JSON.stringify(bare.body));
    assert.equal(bare.body.snapshot.pinned, false);
    const byAdmin = await rig.as(rig.admin, 'POST', `/api/workspaces/${ws.admin}/snapshots`, {});
    assert.equal(byAdmin.status, 202, JSON.stringify(byAdmin.body));

    const list = await rig.as(rig.developer, 'GET', `/api/workspaces/${ws.dev}/snapshots`);
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.snapshots.map((s: { id: string }) => s.id),
      [bare.body.snapshot.id, snap.id],
      'newest first',
    );
    const audited = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'snapshot.create'), eq(auditEvents.targetId, snap.id)));
    assert.equal(audited.length, 1);
    await rig.drain(rig.holder);
  });

  test('a workspace that is neither running nor stopped is refused (409), and nothing is recorded', async () => {
    const fresh = await rig.createWorkspace(rig.developer, 'still-creating');
    for (const status of ['creating', 'starting', 'relocating', 'queued']) {
      await rig.setStatus(rig.holder, fresh, status);
      const res = await rig.as(rig.developer, 'POST', `/api/workspaces/${fresh}/snapshots`, {});
      expectError(res, 409, 'conflict');
    }
    const rows = await rig.app.services.db.select().from(snapshots).where(eq(snapshots.workspaceId, fresh));
    assert.equal(rows.length, 0);
    // Its runner offline: 503, not queued for a runner that may never come back.
    await rig.setStatus(rig.holder, fresh, 'running');
    await rig.setOnline(rig.holder.runnerId, false);
    try {
      const res = await rig.as(rig.developer, 'POST', `/api/workspaces/${fresh}/snapshots`, {});
      expectError(res, 503, 'runner_unavailable');
    } finally {
      await rig.setOnline(rig.holder.runnerId, true);
    }
    await rig.drain(rig.holder);
  });

  test('who may do what: a developer only their own, a viewer reads only, another organization nothing', async () => {
    const mine = await readySnapshot(ws.dev);
    const adminSnap = await readySnapshot(ws.admin, rig.admin);
    await rig.drain(rig.holder);
    const paths = (workspaceId: string, snapshotId: string) => ({
      list: ['GET', `/api/workspaces/${workspaceId}/snapshots`, undefined],
      create: ['POST', `/api/workspaces/${workspaceId}/snapshots`, {}],
      remove: ['DELETE', `/api/workspaces/${workspaceId}/snapshots/${snapshotId}`, undefined],
      restore: ['POST', `/api/workspaces/${workspaceId}/snapshots/${snapshotId}/restore`, undefined],
    });
    // Another person's workspace: 404 whatever the action, for a developer and for a viewer.
    for (const [method, path, body] of Object.values(paths(ws.admin, adminSnap))) {
      const res = await rig.as(rig.developer, method as string, path as string, body);
      expectError(res, 404, 'not_found');
    }
    const viewerList = await rig.as(rig.viewer, 'GET', `/api/workspaces/${ws.dev}/snapshots`);
    expectError(viewerList, 404, 'not_found');
    for (const [method, path, body] of Object.values(paths(ws.dev, mine)).slice(1)) {
      const res = await rig.as(rig.viewer, method as string, path as string, body);
      expectError(res, 403, 'forbidden');
    }
    // Another organization: its super admin sees none of ours, and we none of theirs.
    for (const [method, path, body] of Object.values(paths(ws.dev, mine))) {
      const res = await rig.as(rig.outsider, method as string, path as string, body);
      expectError(res, 404, 'not_found');
    }
    for (const [method, path, body] of Object.values(paths(ws.theirs, mine))) {
      const res = await rig.as(rig.admin, method as string, path as string, body);
      expectError(res, 404, 'not_found');
    }
    // Our snapshot named under their workspace, theirs under ours: 404, not the snapshot.
    const theirs = await rig.as(rig.outsider, 'POST', `/api/workspaces/${ws.theirs}/snapshots`, {});
    assert.equal(theirs.status, 202, JSON.stringify(theirs.body));
    const crossed = await rig.as(
      rig.admin,
      'DELETE',
      `/api/workspaces/${ws.dev}/snapshots/${theirs.body.snapshot.id}`,
    );
    expectError(crossed, 404, 'not_found');
    // An admin sees and acts on every workspace of the organization.
    const adminList = await rig.as(rig.admin, 'GET', `/api/workspaces/${ws.dev}/snapshots`);
    assert.equal(adminList.status, 200);
    assert.ok(adminList.body.snapshots.some((s: { id: string }) => s.id === mine));
    const still = await rig.app.services.db.select().from(snapshots).where(eq(snapshots.id, mine));
    assert.equal(still[0]!.deletedAt, null, 'nothing the refused calls asked for happened');
    await rig.drain(rig.foreign);
  });

  test('bad input is a 4xx with the error body', async () => {
    const base = `/api/workspaces/${ws.dev}/snapshots`;
    expectError(await rig.as(rig.developer, 'POST', base, { pinned: 'yes' }), 422, 'validation_failed');
    expectError(await rig.as(rig.developer, 'POST', base, { reason: 'stop' }), 422, 'validation_failed');
    expectError(await rig.as(rig.developer, 'POST', base, [1]), 422, 'validation_failed');
    const raw = await rig.developer.request('POST', base, undefined, {
      bearer: true,
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(raw.status, 202, 'an empty body is no body');
    for (const path of [
      `${base}/snp_nope`,
      `${base}/${'x'.repeat(120)}`,
      `${base}/wsp_${'a'.repeat(20)}`,
      `/api/workspaces/ws_${'a'.repeat(20)}/snapshots/snp_${'a'.repeat(20)}`,
    ]) {
      expectError(await rig.as(rig.developer, 'DELETE', path), 404, 'not_found');
      expectError(await rig.as(rig.developer, 'POST', `${path}/restore`), 404, 'not_found');
    }
    expectError(await rig.as(rig.developer, 'DELETE', `${base}/${'x'.repeat(200)}`), 422);
    const anonymous = await rig.app.fetch(base);
    assert.equal(anonymous.status, 401);
    await rig.drain(rig.holder);
  });

  test('deleting hides the snapshot and asks the workspace’s runner to prune it', async () => {
    const id = await readySnapshot(ws.dev);
    await rig.drain(rig.holder);
    const res = await rig.as(rig.developer, 'DELETE', `/api/workspaces/${ws.dev}/snapshots/${id}`);
    assert.equal(res.status, 204);
    const list = await rig.as(rig.developer, 'GET', `/api/workspaces/${ws.dev}/snapshots`);
    assert.ok(!list.body.snapshots.some((s: { id: string }) => s.id === id));
    const [row] = await rig.app.services.db.select().from(snapshots).where(eq(snapshots.id, id));
    assert.ok(row!.deletedAt, 'kept, marked deleted, until pruned');
    const jobs = await rig.jobs(rig.holder);
    assert.deepEqual(
      jobs.map((j) => (j.type === 'snapshots.prune' ? j.snapshotIds : j.type)),
      [[id]],
    );
    const again = await rig.as(rig.developer, 'DELETE', `/api/workspaces/${ws.dev}/snapshots/${id}`);
    expectError(again, 404, 'not_found');
    // Its runner offline: another online runner of the organization prunes instead.
    const other = await readySnapshot(ws.dev);
    await rig.drain(rig.holder);
    await rig.setOnline(rig.holder.runnerId, false);
    await rig.setOnline(rig.bystander.runnerId, true);
    try {
      const res2 = await rig.as(rig.admin, 'DELETE', `/api/workspaces/${ws.dev}/snapshots/${other}`);
      assert.equal(res2.status, 204);
      const pruned = await rig.jobs(rig.bystander);
      assert.deepEqual(
        pruned.map((j) => (j.type === 'snapshots.prune' ? j.snapshotIds : j.type)),
        [[other]],
      );
    } finally {
      await rig.setOnline(rig.holder.runnerId, true);
      await rig.drain(rig.bystander);
    }
  });

  test('restoring a ready snapshot into its workspace asks the runner, with how old its files are', async () => {
    const id = await readySnapshot(ws.dev);
    await rig.drain(rig.holder);
    const [row] = await rig.app.services.db.select().from(snapshots).where(eq(snapshots.id, id));
    const res = await rig.as(rig.developer, 'POST', `/api/workspaces/${ws.dev}/snapshots/${id}/restore`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { id: ws.dev, status: 'running', snapshotId: id });
    const jobs = await rig.jobs(rig.holder);
    assert.equal(jobs.length, 1);
    assert.deepEqual(jobs[0], {
      v: jobs[0]!.v,
      type: 'workspace.restore',
      workspaceId: ws.dev,
      generation: 1,
      snapshotId: id,
      snapshotTakenAt: row!.takenAt!.toISOString(),
    });
    await rig.drain(rig.holder);

    // Pending (or failed) snapshots are not restored; nor while it moves, queues, or goes away.
    const pending = await rig.as(rig.developer, 'POST', `/api/workspaces/${ws.dev}/snapshots`, {});
    expectError(
      await rig.as(
        rig.developer,
        'POST',
        `/api/workspaces/${ws.dev}/snapshots/${pending.body.snapshot.id}/restore`,
      ),
      409,
      'conflict',
    );
    for (const status of ['relocating', 'queued', 'deleting']) {
      await rig.setStatus(rig.holder, ws.dev, status);
      expectError(
        await rig.as(rig.developer, 'POST', `/api/workspaces/${ws.dev}/snapshots/${id}/restore`),
        409,
        'conflict',
      );
    }
    await rig.setStatus(rig.holder, ws.dev, 'running');
    // A snapshot of another workspace of the same person: not this workspace's, so 404.
    const second = await rig.createWorkspace(rig.developer, 'second');
    await rig.setStatus(rig.holder, second, 'stopped');
    expectError(
      await rig.as(rig.developer, 'POST', `/api/workspaces/${second}/snapshots/${id}/restore`),
      404,
      'not_found',
    );
    const restores = (await rig.jobs(rig.holder)).filter((j) => j.type === 'workspace.restore');
    assert.equal(restores.length, 0, 'no refused restore reached the runner');
    await rig.drain(rig.holder);
  });

  test('a stop saves a snapshot first when the store says so, and not when it does not', async () => {
    const stop = await rig.as(rig.developer, 'POST', `/api/workspaces/${ws.dev}/stop`);
    assert.equal(stop.status, 202, JSON.stringify(stop.body));
    const [job] = await rig.jobs(rig.holder);
    assert.equal(job?.type, 'workspace.stop');
    const snapshotId = job?.type === 'workspace.stop' ? job.snapshotId : undefined;
    assert.ok(snapshotId, 'the stop job names the snapshot to save');
    const [row] = await rig.app.services.db.select().from(snapshots).where(eq(snapshots.id, snapshotId));
    assert.equal(row!.reason, 'stop');
    assert.equal(row!.status, 'pending');
    assert.equal(row!.workspaceId, ws.dev);
    assert.equal(row!.generation, 1);
    await rig.drain(rig.holder);

    const off = await rig.as(rig.admin, 'PUT', '/api/install/snapshot-store', {
      store: { kind: 'folder' },
      onStop: false,
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    try {
      const again = await rig.as(rig.developer, 'POST', `/api/workspaces/${ws.dev}/stop`);
      assert.equal(again.status, 202);
      const [plain] = await rig.jobs(rig.holder);
      assert.equal(plain?.type, 'workspace.stop');
      assert.equal(plain?.type === 'workspace.stop' ? plain.snapshotId : 'none', undefined);
    } finally {
      await rig.as(rig.admin, 'PUT', '/api/install/snapshot-store', {
        store: { kind: 'folder' },
        onStop: true,
      });
      await rig.drain(rig.holder);
      await rig.setStatus(rig.holder, ws.dev, 'running');
    }
  });

  test('a new workspace from a snapshot: ready, and one the caller may see, else 409 or 404', async () => {
    const id = await readySnapshot(ws.dev);
    const adminSnap = await readySnapshot(ws.admin, rig.admin);
    await rig.drain(rig.holder);
    const [row] = await rig.app.services.db.select().from(snapshots).where(eq(snapshots.id, id));
    const create = (client = rig.developer, snapshotId = id, name = 'from-snapshot') =>
      rig.as(client, 'POST', '/api/workspaces', { name, source: { type: 'snapshot', snapshotId } });

    await rig.setOnline(rig.bystander.runnerId, false);
    try {
      const res = await create();
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(res.body.source, { type: 'snapshot', snapshotId: id });
      const [job] = await rig.jobs(rig.holder);
      assert.equal(job?.type, 'workspace.create');
      if (job?.type !== 'workspace.create') return;
      assert.deepEqual(job.source, { type: 'snapshot', snapshotId: id });
      assert.equal(job.snapshotTakenAt, row!.takenAt!.toISOString());
      await rig.drain(rig.holder);
      // An admin may start from a developer's snapshot.
      const byAdmin = await create(rig.admin, id, 'admin-copy');
      assert.equal(byAdmin.status, 201, JSON.stringify(byAdmin.body));
      await rig.drain(rig.holder);

      const before = await rig.app.services.db.select({ id: workspaces.id }).from(workspaces);
      // Another person's snapshot, another organization's, a missing one: 404.
      expectError(await create(rig.developer, adminSnap), 404, 'not_found');
      expectError(await create(rig.outsider, id), 404, 'not_found');
      expectError(await create(rig.developer, `snp_${'a'.repeat(20)}`), 404, 'not_found');
      expectError(await create(rig.developer, 'snp_bad'), 422, 'validation_failed');
      // Not ready yet, or deleted.
      const pending = await rig.as(rig.developer, 'POST', `/api/workspaces/${ws.dev}/snapshots`, {});
      expectError(await create(rig.developer, pending.body.snapshot.id), 409, 'conflict');
      const gone = await readySnapshot(ws.dev);
      await rig.as(rig.developer, 'DELETE', `/api/workspaces/${ws.dev}/snapshots/${gone}`);
      expectError(await create(rig.developer, gone), 404, 'not_found');
      const afterwards = await rig.app.services.db.select({ id: workspaces.id }).from(workspaces);
      assert.equal(afterwards.length, before.length, 'no refused create made a workspace');
      assert.ok(
        !(await rig.jobs(rig.holder)).some((j) => j.type === 'workspace.create'),
        'nor asked a runner for one',
      );
    } finally {
      await rig.setOnline(rig.bystander.runnerId, true);
      await rig.drain(rig.holder);
      await rig.drain(rig.foreign);
    }
  });
});
