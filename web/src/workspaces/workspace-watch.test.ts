import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { createFakeTimers } from '../testing/fake-timers.ts';
import { workspace, workspaceId } from '../testing/fixtures.ts';
import { createWorkspaceWatch } from './workspace-watch.ts';

const until = () => new Promise((resolve) => setTimeout(resolve, 0));
const statusBody = (status: string) => ({ status, reason: null, updatedAt: '2025-01-01T00:00:01.000Z' });

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const clock = createFakeTimers();
  return { ...apis, clock };
}

describe('workspace watch (fake fetch)', () => {
  test('a stopped workspace is not polled; starting it polls the status route until running', async () => {
    const { workspaces, clock, paths } = setup(
      json(200, workspace({ status: 'stopped' })),
      json(202, { id: workspaceId, status: 'starting' }),
      json(200, statusBody('starting')),
      json(200, statusBody('running')),
    );
    const watch = createRoot(() => createWorkspaceWatch(workspaces, workspaceId, { timers: clock.timers }));

    await watch.load();
    assert.deepEqual(clock.delays(), []);
    await watch.act('start');
    assert.equal(watch.workspace()?.status, 'starting');
    clock.fireAll();
    await until();
    clock.fireAll();
    await until();

    assert.equal(watch.workspace()?.status, 'running');
    // Running, it is asked about now and then: its runner may go away.
    assert.deepEqual(clock.delays(), [15_000]);
    assert.deepEqual(paths().slice(2), [
      `GET /api/workspaces/${workspaceId}/status`,
      `GET /api/workspaces/${workspaceId}/status`,
    ]);
  });

  test('a running workspace whose runner goes away becomes unavailable with the reason, then is asked about sooner', async () => {
    const { workspaces, clock } = setup(
      json(200, workspace({ status: 'running' })),
      json(200, {
        status: 'unavailable',
        reason: 'its runner is offline',
        updatedAt: '2025-01-01T00:00:02.000Z',
      }),
    );
    const watch = createRoot(() => createWorkspaceWatch(workspaces, workspaceId, { timers: clock.timers }));

    await watch.load();
    assert.deepEqual(clock.delays(), [15_000]);
    clock.fireAll();
    await until();

    assert.equal(watch.workspace()?.status, 'unavailable');
    assert.equal(watch.workspace()?.statusReason, 'its runner is offline');
    assert.deepEqual(clock.delays(), [2000]);
    watch.dispose();
  });

  test('an unknown workspace records the load error', async () => {
    const { workspaces } = setup(apiError(404, 'not_found'));
    const watch = createRoot(() => createWorkspaceWatch(workspaces, workspaceId));

    await watch.load();

    assert.equal(watch.workspace(), undefined);
    assert.ok(watch.loadError());
  });

  test('refresh asks at once (a log line said something happened): a move shows, then running', async () => {
    const { workspaces, clock, paths } = setup(
      json(200, workspace({ status: 'running' })),
      json(200, { ...statusBody('relocating'), reason: 'saving its files to move' }),
      json(200, statusBody('running')),
    );
    const watch = createRoot(() => createWorkspaceWatch(workspaces, workspaceId, { timers: clock.timers }));
    await watch.load();
    assert.deepEqual(clock.delays(), [15_000]);
    await watch.refresh();
    assert.equal(watch.workspace()?.status, 'relocating');
    assert.equal(watch.workspace()?.statusReason, 'saving its files to move');
    // Moving is a change under way: asked about again soon, and the slow re-check is gone.
    assert.deepEqual(clock.delays(), [2000]);
    await watch.refresh();
    assert.equal(watch.workspace()?.status, 'running');
    assert.deepEqual(clock.delays(), [15_000]);
    assert.equal(paths().length, 3);
    watch.dispose();
  });
});
