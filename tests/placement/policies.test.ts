/*
 * Placement policies against three real runners on this machine (real heartbeats from the
 * runners' own publisher; two on the process driver, one on the docker driver whose PATH starts
 * with a stand-in nvidia-smi listing 2 GPUs), and a fourth that comes later.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { placeQueued } from '../../edge/src/placement/queued.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { type PlacementRig, startPlacementRig } from './three-runners.ts';

const CAPACITY = { workspaces: 10, cpus: 2, memoryMb: 4096 };
const SMALL = { cpus: 0.25, memoryMb: 256 };

describe('placement policies, three real runners with real heartbeats', () => {
  let rig: PlacementRig;
  const made: string[] = [];

  before(async () => {
    rig = await startPlacementRig([
      {
        name: 'pl-a',
        driver: 'process',
        labels: { region: 'eu', node: 'a', disk: 'ssd' },
        capacity: CAPACITY,
      },
      { name: 'pl-b', driver: 'process', labels: { region: 'eu', node: 'b' }, capacity: CAPACITY },
      {
        name: 'pl-c',
        driver: 'docker',
        labels: { region: 'us', node: 'c' },
        capacity: CAPACITY,
        standinGpus: 2,
      },
    ]);
    // The install's default without overcommit: each runner's room is exactly its capacity.
    const res = await rig.admin.request(
      'PUT',
      '/api/install/settings',
      { placementPolicy: { strategy: 'least-loaded', cpuOvercommit: 1, memoryOvercommit: 1 } },
      { bearer: true },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  after(async () => {
    await rig?.close();
  });

  const id = (name: string) => rig.runners.get(name)!.id;
  const nameOf = (runnerId: string | null) =>
    [...rig.runners.values()].find((r) => r.id === runnerId)?.spec.name ?? null;

  async function create(body: Record<string, unknown>, client: BrowserClient = rig.developer) {
    const res = await client.request(
      'POST',
      '/api/workspaces',
      { name: `ws${made.length}`, source: { type: 'empty' }, ...body },
      { bearer: true },
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    made.push(res.body.id);
    return res.body;
  }

  async function placement(workspaceId: string, client: BrowserClient = rig.developer) {
    const res = await client.request('GET', `/api/workspaces/${workspaceId}/placement`, undefined, {
      bearer: true,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /**
   * The organization's policy; without overcommit unless given, so that each runner's room is
   * exactly its capacity and these tests can fill it. `null`: the install's default, which these
   * tests set without overcommit too (see `before`).
   */
  async function setPolicy(policy: Record<string, unknown> | null) {
    const body = policy === null ? null : { cpuOvercommit: 1, memoryOvercommit: 1, ...policy };
    const res = await rig.admin.request(
      'PUT',
      '/api/admin/placement-policy',
      { policy: body },
      { bearer: true },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** Deletes what the test made, so the next one starts with empty runners. */
  async function clear() {
    while (made.length > 0) {
      const ws = made.pop()!;
      const res = await rig.developer.request('DELETE', `/api/workspaces/${ws}`, undefined, { bearer: true });
      assert.equal(res.status, 202);
    }
  }

  test('the stand-in nvidia-smi makes only pl-c report GPUs', async () => {
    const res = await rig.admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
    const gpus = Object.fromEntries(
      res.body.runners.map((r: { name: string; stats: { gpus: unknown[] } | null }) => [
        r.name,
        r.stats?.gpus.length,
      ]),
    );
    assert.deepEqual(gpus, { 'pl-a': 0, 'pl-b': 0, 'pl-c': 2 });
  });

  test('least-loaded: by free CPU and memory, not by slot count', async () => {
    await setPolicy({ strategy: 'least-loaded' });
    // pl-a holds 1 workspace of 1.5 CPUs, pl-b 2 small ones, pl-c 3 small ones: by slots pl-a is
    // the emptiest; by what is free after placing, pl-b (1.25 of 2 CPUs left) is.
    await create({ resources: { cpus: 1.5, memoryMb: 256 }, placement: { requiredLabels: { node: 'a' } } });
    for (let i = 0; i < 2; i++)
      await create({ resources: SMALL, placement: { requiredLabels: { node: 'b' } } });
    for (let i = 0; i < 3; i++)
      await create({ resources: SMALL, placement: { requiredLabels: { node: 'c' } } });
    const ws = await create({ resources: SMALL });
    assert.equal(nameOf(ws.runnerId), 'pl-b');
    assert.equal(ws.status, 'creating');
    const { current, history } = await placement(ws.id);
    assert.equal(current.strategy, 'least-loaded');
    assert.equal(current.decidedBy, 'policy');
    assert.equal(current.reason, 'create');
    assert.equal(current.runnerId, id('pl-b'));
    assert.deepEqual(history, []);
    const score = (n: string) =>
      current.candidates.find((c: { runnerId: string }) => c.runnerId === id(n)).score;
    assert.ok(
      score('pl-b') > score('pl-c') && score('pl-c') > score('pl-a'),
      JSON.stringify(current.candidates),
    );
    assert.equal(score('pl-a'), 0.125);
    assert.match(current.summary, /pl-b: the most room left/);
    await clear();
  });

  test('round-robin: eligible runners take turns in id order', async () => {
    await setPolicy({ strategy: 'round-robin' });
    const chosen: string[] = [];
    for (let i = 0; i < 6; i++) chosen.push((await create({ resources: SMALL })).runnerId);
    const order = [id('pl-a'), id('pl-b'), id('pl-c')].sort();
    const start = order.indexOf(chosen[0]!);
    assert.deepEqual(
      chosen,
      Array.from({ length: 6 }, (_, i) => order[(start + i) % 3]),
    );
    const d = await placement(made.at(-1)!);
    assert.equal(d.current.strategy, 'round-robin');
    assert.ok(d.current.candidates.every((c: { score: number | null }) => c.score === null));
    await clear();
  });

  test('required region: a workspace asking region=us goes to pl-c only; a policy requiring eu refuses pl-c', async () => {
    await setPolicy({ strategy: 'least-loaded' });
    const us = await create({ resources: SMALL, placement: { region: 'us' } });
    assert.equal(nameOf(us.runnerId), 'pl-c');
    const d = await placement(us.id);
    for (const n of ['pl-a', 'pl-b']) {
      const c = d.current.candidates.find((x: { runnerId: string }) => x.runnerId === id(n));
      assert.equal(c.verdict, 'refused');
      assert.equal(c.refusal, 'labels');
      assert.equal(c.detail, 'lacks region=us');
    }
    await setPolicy({ strategy: 'round-robin', requiredLabels: { region: 'eu' } });
    const names = new Set<string | null>();
    for (let i = 0; i < 4; i++) names.add(nameOf((await create({ resources: SMALL })).runnerId));
    assert.deepEqual([...names].sort(), ['pl-a', 'pl-b']);
    // The workspace's own region and the policy's disagree: nothing fits, and it says so.
    const none = await create({ resources: SMALL, placement: { region: 'us' } });
    assert.equal(none.status, 'queued');
    assert.equal(none.runnerId, null);
    assert.match(none.statusReason, /No runner fits: 3 refused \(3 labels\)/);
    await clear();
  });

  test('preferred labels: more matches first, the strategy within', async () => {
    await setPolicy({ strategy: 'least-loaded', preferredLabels: { disk: 'ssd' } });
    // pl-a is the fullest (0.5 of its 2 CPUs free) but the only one with disk=ssd.
    await create({ resources: { cpus: 1.5, memoryMb: 256 }, placement: { requiredLabels: { node: 'a' } } });
    const ssd = await create({ resources: SMALL });
    assert.equal(nameOf(ssd.runnerId), 'pl-a');
    assert.match((await placement(ssd.id)).current.summary, /matching 1 of 1 preferred labels/);
    // Round-robin within the best group: region=eu matches pl-a and pl-b, node=b only pl-b.
    await setPolicy({ strategy: 'round-robin', preferredLabels: { region: 'eu', node: 'b' } });
    for (let i = 0; i < 2; i++) assert.equal(nameOf((await create({ resources: SMALL })).runnerId), 'pl-b');
    await setPolicy({ strategy: 'round-robin', preferredLabels: { region: 'eu' } });
    const names = new Set<string | null>();
    for (let i = 0; i < 4; i++) names.add(nameOf((await create({ resources: SMALL })).runnerId));
    assert.deepEqual([...names].sort(), ['pl-a', 'pl-b']);
    await clear();
  });

  test('GPU-aware (stand-in nvidia-smi): a GPU workspace goes only to the runner with free GPUs, and nowhere when none are left', async () => {
    await setPolicy(null);
    const gpu = await create({ resources: { ...SMALL, gpus: 2 } });
    assert.equal(nameOf(gpu.runnerId), 'pl-c');
    assert.equal(gpu.driver, 'docker');
    const d = await placement(gpu.id);
    for (const n of ['pl-a', 'pl-b']) {
      const c = d.current.candidates.find((x: { runnerId: string }) => x.runnerId === id(n));
      assert.equal(c.refusal, 'driver');
      assert.match(c.detail, /process driver cannot give a workspace GPUs/);
    }
    // The create job asked the engine for the GPUs: on this machine, which has no NVIDIA
    // runtime, Docker refuses the device request, and the workspace says so.
    const failed = await waitFor(
      'the GPU workspace to fail on an engine without GPUs',
      async () => {
        const s = await rig.developer.request('GET', `/api/workspaces/${gpu.id}/status`, undefined, {
          bearer: true,
        });
        return s.body.status === 'failed' ? s.body : undefined;
      },
      60_000,
      150,
    );
    assert.match(failed.reason, /device driver .* with capabilities: \[\[gpu\]\]/);
    // Its 2 GPUs are held while its record lives: another GPU workspace fits nowhere.
    const more = await create({ resources: { ...SMALL, gpus: 1 } });
    assert.equal(more.status, 'queued');
    const m = await placement(more.id);
    const c = m.current.candidates.find((x: { runnerId: string }) => x.runnerId === id('pl-c'));
    assert.equal(c.refusal, 'gpu');
    assert.equal(c.detail, 'needs 1 GPU, 0 free');
    await clear();
  });

  test('queued when nothing fits (nothing enqueued), then placed by placeQueued when a runner with room comes', async () => {
    await setPolicy(null);
    const big = await create({ resources: { cpus: 0.5, memoryMb: 6144 } });
    assert.equal(big.status, 'queued');
    assert.equal(big.runnerId, null);
    assert.match(big.statusReason, /No runner fits: 3 refused \(3 memory\)/);
    const first = await placeQueued(rig.app.services);
    assert.deepEqual(first.waiting, [big.id]);
    const d = await rig.addRunner({
      name: 'pl-d',
      driver: 'process',
      labels: { region: 'eu', node: 'd' },
      capacity: { workspaces: 4, cpus: 2, memoryMb: 8192 },
    });
    const second = await placeQueued(rig.app.services);
    assert.deepEqual(second.placed, [big.id]);
    const view = await rig.developer.request('GET', `/api/workspaces/${big.id}`, undefined, { bearer: true });
    assert.equal(view.body.runnerId, d.id);
    await waitFor(
      'the queued workspace to run on pl-d',
      async () => {
        const s = await rig.developer.request('GET', `/api/workspaces/${big.id}/status`, undefined, {
          bearer: true,
        });
        if (s.body.status === 'failed') throw new Error(s.body.reason);
        return s.body.status === 'running' ? true : undefined;
      },
      60_000,
      150,
    );
    const p = await placement(big.id);
    assert.equal(p.current.reason, 'queued');
    assert.equal(p.current.runnerId, d.id);
    assert.ok(p.history.length >= 2);
    assert.equal(p.history.at(-1).reason, 'create');
    assert.equal(p.history.at(-1).runnerId, null);
    await clear();
  });

  test('a workspace that fits nowhere past the deadline fails no_capacity', async () => {
    const huge = await create({ resources: { cpus: 0.5, memoryMb: 12_288 } });
    assert.equal(huge.status, 'queued');
    const kept = await placeQueued(rig.app.services, { giveUpSeconds: 3600 });
    assert.deepEqual(kept.waiting, [huge.id]);
    const res = await placeQueued(rig.app.services, { giveUpSeconds: 0 });
    assert.deepEqual(res.failed, [huge.id]);
    const s = await rig.developer.request('GET', `/api/workspaces/${huge.id}/status`, undefined, {
      bearer: true,
    });
    assert.equal(s.body.status, 'failed');
    assert.match(s.body.reason, /^no_capacity: No runner fits: 4 refused \(4 memory\)/);
    await clear();
  });
});
