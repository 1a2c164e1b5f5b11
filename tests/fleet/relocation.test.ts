/**
 * Workspaces that survive the loss of their host, on three real runner processes (the process
 * driver) sharing one snapshot folder: `kill -9` of a runner → its workspaces run elsewhere
 * with their snapshot's files within 60 s; the runner started again removes its stale copies
 * and is refused for what moved away; a drain moves every workspace with every file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FleetRunners, startFleetRunners } from '../harness/fleet-runners.ts';
import { waitFor } from '../harness/ports.ts';

describe('a lost runner’s workspaces move; drains move every file (process driver, three runners)', () => {
  let fleet: FleetRunners;
  before(async () => {
    fleet = await startFleetRunners({ kinds: ['process', 'process', 'process'], lostAfterSeconds: 4 });
  });
  after(async () => {
    await fleet?.close();
  });

  test('kill -9 of a runner with two running workspaces: both run elsewhere with their snapshot’s files within 60 s; the runner back does not resurrect them', async () => {
    const victim = fleet.runners[0]!;
    const ids = await fleet.onlyOn(victim, async () => [
      await fleet.createWorkspace('lost-a'),
      await fleet.createWorkspace('lost-b'),
    ]);
    const snaps = new Map<string, string>();
    for (const id of ids) {
      await fleet.waitForStatus(id, 'running');
      assert.equal((await fleet.workspace(id)).runnerId, victim.id);
      await fleet.writeFile(id, 'notes/kept.txt', `kept in ${id}\n`);
      snaps.set(id, await fleet.snapshotNow(id));
      // Written after the snapshot: lost with the host.
      await fleet.writeFile(id, 'after.txt', 'too late\n');
    }

    const killedAt = Date.now();
    await victim.kill();
    const seconds = new Map<string, number>();
    await Promise.all(
      ids.map(async (id) => {
        await waitFor(
          `${id} running on another runner`,
          async () => {
            const w = await fleet.workspace(id);
            return w.runnerId !== victim.id && w.status === 'running' ? true : undefined;
          },
          60_000,
          100,
        );
        seconds.set(id, (Date.now() - killedAt) / 1000);
      }),
    );
    const worst = Math.max(...seconds.values());
    console.log(
      `relocation after kill -9: ${[...seconds.values()].map((s) => `${s.toFixed(1)} s`).join(', ')} (lost after ${fleet.lostAfterSeconds} s without a heartbeat)`,
    );
    assert.ok(worst < 60, `${worst} s`);
    for (const id of ids) {
      const w = await fleet.workspace(id);
      assert.notEqual(w.runnerId, victim.id);
      assert.ok(w.generation === undefined || w.generation >= 2);
      assert.equal(await fleet.readFile(id, 'notes/kept.txt'), `kept in ${id}\n`);
      const after = await fleet.api('GET', `/api/workspaces/${id}/files?path=after.txt`);
      assert.equal(after.status, 404, 'files written after the snapshot went with the host');
    }
    const audit = await fleet.api('GET', '/api/admin/audit?action=workspace.relocate');
    for (const id of ids) {
      const e = audit.body.events.find((x: { workspaceId: string }) => x.workspaceId === id);
      assert.ok(e, `a relocation audited for ${id}`);
      assert.equal(e.metadata.fromRunnerId, victim.id);
      assert.equal(e.metadata.snapshotId, snaps.get(id));
      assert.equal(typeof e.metadata.snapshotAgeSeconds, 'number');
    }
    const lostView = (await fleet.api('GET', '/api/admin/runners')).body.runners.find(
      (r: { id: string }) => r.id === victim.id,
    );
    assert.equal(lostView.lost, true);

    // Back from the dead: it removes its stale copies and runs nothing of theirs.
    await victim.start();
    await waitFor(
      'the stale copies removed',
      async () => {
        const held = await victim.driver.list();
        return ids.every((id) => !held.includes(id)) || undefined;
      },
      30_000,
      200,
    );
    for (const id of ids) {
      const w = await fleet.workspace(id);
      assert.equal(w.status, 'running');
      assert.notEqual(w.runnerId, victim.id);
      assert.equal(await fleet.readFile(id, 'notes/kept.txt'), `kept in ${id}\n`);
    }
    // Fenced: what it says about a workspace that moved is refused.
    const id = ids[0]!;
    const handoff = await fleet.runnerCall(victim, `/api/runners/workspaces/${id}/handoff`, {
      generation: 1,
      snapshotId: snaps.get(id),
      wasRunning: true,
    });
    assert.equal(handoff.status, 409);
    const snapshot = await fleet.runnerCall(victim, '/api/runners/snapshots', {
      workspaceId: id,
      generation: 1,
      reason: 'stop',
    });
    assert.equal(snapshot.status, 409);
    const check = await fleet.runnerCall(victim, '/api/runners/placements/check', {
      workspaces: [{ id, generation: 1 }],
    });
    assert.deepEqual(await check.json(), { stale: [id] });
    // Gone before the next test drains runners: nothing of this one should move then.
    for (const w of ids) assert.equal((await fleet.api('DELETE', `/api/workspaces/${w}`)).status, 202);
  });

  test('drain moves every workspace with every file: running ones run again, stopped ones stay stopped', async () => {
    const target = fleet.runners[1]!;
    const ids = await fleet.onlyOn(target, async () => [
      await fleet.createWorkspace('drain-running'),
      await fleet.createWorkspace('drain-stopped'),
      await fleet.createWorkspace('drain-running-2'),
    ]);
    const [running, stopped, running2] = ids as [string, string, string];
    for (const id of ids) {
      await fleet.waitForStatus(id, 'running');
      await fleet.writeFile(id, 'src/main.txt', `main of ${id}\n`);
      await fleet.writeFile(id, 'deep/er/file.bin', `${id}`.repeat(1000));
    }
    assert.equal((await fleet.api('POST', `/api/workspaces/${stopped}/stop`)).status, 202);
    await fleet.waitForStatus(stopped, 'stopped');
    const began = Date.now();
    const progress = await fleet.drain(target, true);
    assert.equal(progress.draining, true);
    const where = await Promise.all(ids.map(async (id) => (await fleet.workspace(id)).runnerId));
    assert.equal(progress.remaining, ids.length, `every one of them is on ${target.id}: ${where.join(', ')}`);
    await waitFor(
      'the drain done',
      async () => {
        const list = await fleet.api('GET', '/api/admin/runners');
        const view = list.body.runners.find((r: { id: string }) => r.id === target.id);
        return view.drain?.remaining === 0 || undefined;
      },
      120_000,
      250,
    );
    console.log(`drain of 3 workspaces: ${((Date.now() - began) / 1000).toFixed(1)} s`);
    await fleet.waitForStatus(running, 'running');
    await fleet.waitForStatus(running2, 'running');
    await fleet.waitForStatus(stopped, 'stopped');
    for (const id of ids) assert.notEqual((await fleet.workspace(id)).runnerId, target.id);
    assert.equal((await fleet.api('POST', `/api/workspaces/${stopped}/start`)).status, 202);
    await fleet.waitForStatus(stopped, 'running');
    for (const id of ids) {
      assert.equal(await fleet.readFile(id, 'src/main.txt'), `main of ${id}\n`);
      assert.equal(await fleet.readFile(id, 'deep/er/file.bin'), `${id}`.repeat(1000));
    }
    const done = await fleet.drain(target, true);
    assert.deepEqual([done.remaining, done.moving, done.failed], [0, 0, 0]);
    // Closed to new workspaces while it drains.
    const fresh = await fleet.createWorkspace('after-drain');
    assert.notEqual((await fleet.workspace(fresh)).runnerId, target.id);
    await fleet.drain(target, false);
  });
});

describe('a lost Docker runner’s workspace runs on a process runner from its snapshot', () => {
  let fleet: FleetRunners;
  before(async () => {
    // One Docker runner: container names are per workspace on this machine's one engine.
    fleet = await startFleetRunners({ kinds: ['docker', 'process', 'process'], lostAfterSeconds: 4 });
  });
  after(async () => {
    await fleet?.close();
  });

  test('kill -9 of the Docker runner; its container, still running, is removed when it returns', async () => {
    const victim = fleet.runners[0]!;
    const id = await fleet.onlyOn(victim, () => fleet.createWorkspace('docker-lost'));
    await fleet.waitForStatus(id, 'running');
    await fleet.writeFile(id, 'kept.txt', 'from docker\n');
    await fleet.snapshotNow(id);
    const killedAt = Date.now();
    await victim.kill();
    await waitFor(
      'running elsewhere',
      async () => {
        const w = await fleet.workspace(id);
        return w.runnerId !== victim.id && w.status === 'running' ? true : undefined;
      },
      60_000,
      100,
    );
    console.log(
      `docker → process relocation after kill -9: ${((Date.now() - killedAt) / 1000).toFixed(1)} s`,
    );
    assert.equal(await fleet.readFile(id, 'kept.txt'), 'from docker\n');
    // The engine outlived the runner: its container still runs until the runner is back.
    await victim.start();
    await waitFor(
      'the stale container removed',
      async () => ((await victim.driver.list()).includes(id) ? undefined : true),
      30_000,
      200,
    );
    assert.equal((await fleet.workspace(id)).status, 'running');
  });
});
