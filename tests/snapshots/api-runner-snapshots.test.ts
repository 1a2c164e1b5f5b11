/**
 * The runners' side of snapshots over the API (real PostgreSQL and Redis): a runner begins and
 * completes snapshots only for a workspace it holds at the generation it names (anything else
 * is 409 or 404 and records nothing), retention deletes the oldest ready ones and has them
 * pruned, and the schedule asks running workspaces for one when theirs is too old.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents, snapshots, workspaces } from '@keel/drizzle/schema';
import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import { requestScheduledSnapshots } from '../../edge/src/snapshots/request.ts';
import type { RegisteredRunner } from '../servers/server-rig.ts';
import { type SnapshotRig, startSnapshotRig } from './snapshot-rig.ts';

describe('runners report snapshots, fenced by the placement generation (real PostgreSQL and Redis)', () => {
  let rig: SnapshotRig;
  const ws = { dev: '', theirs: '' };

  const begin = (runner: RegisteredRunner, body: unknown) =>
    rig.runnerCall(runner, 'POST', '/api/runners/snapshots', body);
  const complete = (runner: RegisteredRunner, snapshotId: string, body: Record<string, unknown>) =>
    rig.runnerCall(runner, 'POST', `/api/runners/snapshots/${snapshotId}/complete`, body);
  const saved = (workspaceId: string, generation = 1, takenAt = new Date()) => ({
    ok: true,
    workspaceId,
    generation,
    files: 2,
    bytes: 4096,
    bytesWritten: 512,
    takenAt: takenAt.toISOString(),
  });
  const rowOf = async (id: string) =>
    (await rig.app.services.db.select().from(snapshots).where(eq(snapshots.id, id)))[0]!;
  const expectError = async (res: Response, status: number, code?: string) => {
    const body = (await res.json()) as { error?: { code: string; requestId: string } };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(body.error?.requestId ?? '', /\S/);
    if (code) assert.equal(body.error?.code, code);
  };
  const setGeneration = (id: string, generation: number) =>
    rig.app.services.db.update(workspaces).set({ generation }).where(eq(workspaces.id, id));

  before(async () => {
    rig = await startSnapshotRig();
    ws.dev = await rig.createWorkspace(rig.developer, 'dev-ws');
    ws.theirs = await rig.createWorkspace(rig.outsider, 'their-ws');
    await rig.setStatus(rig.holder, ws.dev, 'running');
    await rig.drain(rig.holder);
    await rig.drain(rig.foreign);
  });
  after(async () => {
    await rig?.close();
  });

  test('the holding runner begins a snapshot and completes it; a retried completion records nothing more', async () => {
    const res = await begin(rig.holder, { workspaceId: ws.dev, generation: 1, reason: 'stop' });
    assert.equal(res.status, 201);
    const { snapshotId } = (await res.json()) as { snapshotId: string };
    const pending = await rowOf(snapshotId);
    assert.equal(pending.status, 'pending');
    assert.equal(pending.reason, 'stop');
    assert.equal(pending.runnerId, rig.holder.runnerId);
    assert.equal(pending.createdBy, null);

    const done = await complete(rig.holder, snapshotId, saved(ws.dev));
    assert.equal(done.status, 200);
    assert.deepEqual(await done.json(), { recorded: true });
    const ready = await rowOf(snapshotId);
    assert.equal(ready.status, 'ready');
    assert.equal(ready.files, 2);
    assert.equal(ready.bytes, 4096);
    assert.equal(ready.bytesWritten, 512);
    assert.ok(ready.takenAt);
    const again = await complete(rig.holder, snapshotId, {
      ok: false,
      workspaceId: ws.dev,
      generation: 1,
      error: 'late',
    });
    assert.deepEqual(await again.json(), { recorded: false });
    assert.equal((await rowOf(snapshotId)).status, 'ready', 'a late failure does not undo a saved snapshot');

    const failed = (await (
      await begin(rig.holder, { workspaceId: ws.dev, generation: 1, reason: 'manual' })
    ).json()) as {
      snapshotId: string;
    };
    const report = await complete(rig.holder, failed.snapshotId, {
      ok: false,
      workspaceId: ws.dev,
      generation: 1,
      error: 'disk full',
    });
    assert.equal(report.status, 200);
    const row = await rowOf(failed.snapshotId);
    assert.equal(row.status, 'failed');
    assert.equal(row.error, 'disk full');
    const audited = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'snapshot.complete'))
      .orderBy(desc(auditEvents.seq));
    assert.deepEqual(
      audited.map((a) => [a.targetId, a.outcome]),
      [
        [failed.snapshotId, 'failure'],
        [snapshotId, 'success'],
      ],
    );
  });

  test('a runner that does not hold the workspace, or names an old generation, is refused (409) and nothing is recorded', async () => {
    const before = await rig.app.services.db.select().from(snapshots);
    await expectError(
      await begin(rig.bystander, { workspaceId: ws.dev, generation: 1, reason: 'manual' }),
      409,
      'conflict',
    );
    await expectError(
      await begin(rig.holder, { workspaceId: ws.dev, generation: 2, reason: 'manual' }),
      409,
      'conflict',
    );
    // Another organization's runner, and a workspace that is not there: 404, as if absent.
    await expectError(
      await begin(rig.foreign, { workspaceId: ws.dev, generation: 1, reason: 'manual' }),
      404,
      'not_found',
    );
    await expectError(
      await begin(rig.holder, { workspaceId: ws.theirs, generation: 1, reason: 'manual' }),
      404,
      'not_found',
    );
    await expectError(
      await begin(rig.holder, { workspaceId: `ws_${'z'.repeat(20)}`, generation: 1, reason: 'manual' }),
      404,
      'not_found',
    );
    assert.equal((await rig.app.services.db.select().from(snapshots)).length, before.length);

    // A pending snapshot: completed by another runner, or by the holder after the workspace moved on.
    const { snapshotId } = (await (
      await begin(rig.holder, { workspaceId: ws.dev, generation: 1, reason: 'manual' })
    ).json()) as {
      snapshotId: string;
    };
    await expectError(await complete(rig.bystander, snapshotId, saved(ws.dev)), 409, 'conflict');
    await expectError(await complete(rig.foreign, snapshotId, saved(ws.dev)), 404, 'not_found');
    await expectError(await complete(rig.holder, snapshotId, saved(ws.dev, 2)), 409, 'conflict');
    await setGeneration(ws.dev, 2);
    try {
      // The workspace moved (generation 2): its report for generation 1 is refused...
      await expectError(await complete(rig.holder, snapshotId, saved(ws.dev, 1)), 409, 'conflict');
      // ...and so is one that names the new generation for a snapshot begun under the old.
      await expectError(await complete(rig.holder, snapshotId, saved(ws.dev, 2)), 409, 'conflict');
    } finally {
      await setGeneration(ws.dev, 1);
    }
    const row = await rowOf(snapshotId);
    assert.equal(row.status, 'pending');
    assert.equal(row.takenAt, null);
    const fenced = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.outcome, 'denied'), eq(auditEvents.workspaceId, ws.dev)));
    assert.ok(fenced.length >= 4, 'refusals are audited');
    // A snapshot of another workspace named under this one: 404.
    const other = (await (
      await begin(rig.foreign, { workspaceId: ws.theirs, generation: 1, reason: 'manual' })
    ).json()) as {
      snapshotId: string;
    };
    await expectError(await complete(rig.holder, other.snapshotId, saved(ws.dev)), 404, 'not_found');
    await rig.drain(rig.foreign);
  });

  test('bad input and bad credentials are 4xx with the error body', async () => {
    const cases: Array<[Promise<Response>, number]> = [
      [begin(rig.holder, { workspaceId: ws.dev, generation: 0, reason: 'manual' }), 422],
      [begin(rig.holder, { workspaceId: ws.dev, generation: 1, reason: 'whim' }), 422],
      [begin(rig.holder, { workspaceId: 'ws_x', generation: 1, reason: 'manual' }), 422],
      [begin(rig.holder, { workspaceId: ws.dev, generation: 1, reason: 'manual', extra: 1 }), 422],
      [begin(rig.holder, '{"workspaceId":'), 400],
      [complete(rig.holder, 'snp_nope', saved(ws.dev)), 404],
      [complete(rig.holder, `snp_${'q'.repeat(20)}`, saved(ws.dev)), 404],
      [complete(rig.holder, `snp_${'q'.repeat(20)}`, { ...saved(ws.dev), bytes: -1 }), 422],
      [complete(rig.holder, `snp_${'q'.repeat(20)}`, { ...saved(ws.dev), takenAt: 'yesterday' }), 422],
      [
        complete(rig.holder, `snp_${'q'.repeat(20)}`, {
          ok: false,
          workspaceId: ws.dev,
          generation: 1,
          error: 'e'.repeat(5000),
        }),
        422,
      ],
      [
        rig.app.fetch('/api/runners/snapshots', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ workspaceId: ws.dev, generation: 1, reason: 'manual' }),
        }),
        401,
      ],
      [
        rig.app.fetch('/api/runners/snapshot-store', {
          headers: { authorization: `Bearer rnc_${'x'.repeat(40)}` },
        }),
        401,
      ],
    ];
    for (const [pending, status] of cases) await expectError(await pending, status);
    // A person's session is not a runner credential.
    const person = await rig.as(rig.admin, 'GET', '/api/runners/snapshot-store');
    assert.equal(person.status, 401);
  });

  test('retention keeps the newest ready unpinned snapshots; older ones are deleted and pruned', async () => {
    const set = await rig.as(rig.admin, 'PUT', '/api/install/snapshot-store', {
      store: { kind: 'folder' },
      retention: 2,
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const fresh = await rig.createWorkspace(rig.developer, 'kept');
    await rig.setStatus(rig.holder, fresh, 'running');
    await rig.drain(rig.holder);
    const pinned = await rig.as(rig.developer, 'POST', `/api/workspaces/${fresh}/snapshots`, {
      pinned: true,
    });
    await complete(rig.holder, pinned.body.snapshot.id, saved(fresh, 1, new Date(Date.now() - 10 * 60_000)));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await begin(rig.holder, { workspaceId: fresh, generation: 1, reason: 'schedule' });
      const { snapshotId } = (await res.json()) as { snapshotId: string };
      ids.push(snapshotId);
      await rig.drain(rig.holder);
      const done = await complete(
        rig.holder,
        snapshotId,
        saved(fresh, 1, new Date(Date.now() - (4 - i) * 60_000)),
      );
      assert.equal(done.status, 200);
      const prunes = (await rig.jobs(rig.holder)).filter((j) => j.type === 'snapshots.prune');
      // The third and fourth each push the oldest unpinned one out.
      assert.deepEqual(
        prunes.map((j) => (j.type === 'snapshots.prune' ? j.snapshotIds : [])),
        i < 2 ? [] : [[ids[i - 2]]],
        `after snapshot ${i + 1}`,
      );
    }
    const live = await rig.app.services.db
      .select({ id: snapshots.id })
      .from(snapshots)
      .where(and(eq(snapshots.workspaceId, fresh), isNull(snapshots.deletedAt)));
    assert.deepEqual(live.map((r) => r.id).sort(), [pinned.body.snapshot.id, ids[2], ids[3]].sort());
    const listed = await rig.as(rig.developer, 'GET', `/api/workspaces/${fresh}/snapshots`);
    assert.equal(listed.body.snapshots.length, 3);
    await rig.as(rig.admin, 'PUT', '/api/install/snapshot-store', {
      store: { kind: 'folder' },
      retention: 5,
    });
    await rig.drain(rig.holder);
  });

  test('the schedule asks running workspaces whose newest snapshot is too old, once, and no others', async () => {
    const services = rig.app.services;
    const set = await rig.as(rig.admin, 'PUT', '/api/install/snapshot-store', {
      store: { kind: 'folder' },
      intervalMinutes: 5,
    });
    assert.equal(set.status, 200);
    const due = await rig.createWorkspace(rig.developer, 'due');
    const stopped = await rig.createWorkspace(rig.developer, 'stopped');
    const recent = await rig.createWorkspace(rig.developer, 'recent');
    const never = await rig.createWorkspace(rig.developer, 'never');
    const young = await rig.createWorkspace(rig.developer, 'young');
    // Made before the interval: due although it has no snapshot at all. `young` was made a
    // moment ago: its first one comes an interval after it was made.
    await services.db
      .update(workspaces)
      .set({ createdAt: new Date(Date.now() - 30 * 60_000) })
      .where(inArray(workspaces.id, [never, due, stopped, recent]));
    await rig.setStatus(rig.holder, never, 'running');
    await rig.setStatus(rig.holder, young, 'running');
    await rig.setStatus(rig.holder, due, 'running');
    await rig.setStatus(rig.holder, stopped, 'stopped');
    await rig.setStatus(rig.holder, recent, 'running');
    const r = (await (
      await begin(rig.holder, { workspaceId: recent, generation: 1, reason: 'manual' })
    ).json()) as {
      snapshotId: string;
    };
    await complete(rig.holder, r.snapshotId, saved(recent));
    // An old one does not count as recent.
    const o = (await (
      await begin(rig.holder, { workspaceId: due, generation: 1, reason: 'manual' })
    ).json()) as {
      snapshotId: string;
    };
    await complete(rig.holder, o.snapshotId, saved(due, 1, new Date(Date.now() - 30 * 60_000)));
    await services.db
      .update(snapshots)
      .set({ createdAt: new Date(Date.now() - 30 * 60_000) })
      .where(eq(snapshots.id, o.snapshotId));
    await rig.drain(rig.holder);

    await requestScheduledSnapshots(services);
    const asked = (await rig.jobs(rig.holder)).filter((j) => j.type === 'workspace.snapshot');
    const byWorkspace = new Map(asked.map((j) => [j.type === 'workspace.snapshot' ? j.workspaceId : '', j]));
    assert.ok(byWorkspace.has(due), 'the workspace with an old snapshot');
    assert.ok(byWorkspace.has(never), 'a running workspace with none at all');
    assert.ok(!byWorkspace.has(young), 'not one made less than an interval ago');
    assert.ok(!byWorkspace.has(ws.dev), 'not one with a recent failure (asked again later)');
    assert.ok(!byWorkspace.has(stopped), 'not a stopped one');
    assert.ok(!byWorkspace.has(recent), 'not one saved a moment ago');
    assert.ok(!byWorkspace.has(ws.theirs), 'not another organization’s that does not run');
    const job = byWorkspace.get(due)!;
    assert.equal(job.type === 'workspace.snapshot' && job.reason, 'schedule');
    const row = await rowOf(job.type === 'workspace.snapshot' ? job.snapshotId : '');
    assert.equal(row.status, 'pending');
    assert.equal(row.reason, 'schedule');
    await rig.drain(rig.holder);

    // Asked already and pending: not asked again at the next sweep.
    await requestScheduledSnapshots(services);
    assert.deepEqual(await rig.jobs(rig.holder), []);
    // No schedule at all with an interval of 0.
    await rig.as(rig.admin, 'PUT', '/api/install/snapshot-store', {
      store: { kind: 'folder' },
      intervalMinutes: 0,
    });
    await services.db.delete(snapshots).where(eq(snapshots.reason, 'schedule'));
    await requestScheduledSnapshots(services);
    assert.deepEqual(await rig.jobs(rig.holder), []);
  });
});
