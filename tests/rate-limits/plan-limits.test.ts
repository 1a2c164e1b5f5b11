/*
 * The plan's concurrency limits through a real edge and a real runner (process driver):
 * workspaces running at once (create and start) and commands running at once (execute).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertError } from '../account/account-rig.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';

const bearer = { bearer: true } as const;

async function create(admin: BrowserClient, name: string) {
  return admin.request('POST', '/api/workspaces', { name, source: { type: 'empty' } }, bearer);
}

describe('plan: workspaces and commands at once (a real runner, process driver)', () => {
  let rig: Rig;
  let first: string;
  before(async () => {
    rig = await startRig('process');
    const set = await rig.admin.request(
      'PUT',
      '/api/admin/plan',
      {
        plan: {
          name: 'Small',
          limits: {
            aiTokensPerDay: null,
            concurrentWorkspaces: 1,
            concurrentCommands: 1,
            apiRequestsPerMinute: null,
          },
        },
      },
      bearer,
    );
    assert.equal(set.status, 200, JSON.stringify(set.body));
  });
  after(() => rig.close());

  test('a second workspace is refused while one runs; after a stop it is created, and the first may not start', async () => {
    const one = await create(rig.admin, 'one');
    assert.equal(one.status, 201, JSON.stringify(one.body));
    first = one.body.id;
    await rig.waitForStatus(rig.admin, first, 'running');
    const two = await create(rig.admin, 'two');
    assertError(two, 429, 'rate_limited');
    assert.match(two.body.error.message, /1 workspace running at once/);
    assert.equal(
      (await rig.admin.request('GET', '/api/workspaces', undefined, bearer)).body.workspaces.length,
      1,
    );

    const plan = await rig.admin.request('GET', '/api/admin/plan', undefined, bearer);
    assert.equal(plan.body.usage.workspacesRunning, 1);
    assert.equal(plan.body.usage.refusalsToday.workspaces, 1);

    assert.equal(
      (await rig.admin.request('POST', `/api/workspaces/${first}/stop`, undefined, bearer)).status,
      202,
    );
    await rig.waitForStatus(rig.admin, first, 'stopped');
    const again = await create(rig.admin, 'two');
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assertError(
      await rig.admin.request('POST', `/api/workspaces/${first}/start`, undefined, bearer),
      429,
      'rate_limited',
    );
    // Room again once the second is gone; the first starts.
    assert.equal(
      (await rig.admin.request('DELETE', `/api/workspaces/${again.body.id}`, undefined, bearer)).status,
      202,
    );
    const started = await waitFor(
      'the first workspace to start again',
      async () => {
        const res = await rig.admin.request('POST', `/api/workspaces/${first}/start`, undefined, bearer);
        return res.status === 202 ? res : undefined;
      },
      60_000,
      500,
    );
    assert.equal(started.status, 202);
    await rig.waitForStatus(rig.admin, first, 'running');
  });

  test('a second command is refused while one runs, and taken once it has ended', async () => {
    const exec = (command: string) =>
      rig.admin.request('POST', `/api/workspaces/${first}/execute`, { command }, bearer);
    const long = await exec('sleep 30');
    assert.equal(long.status, 202, JSON.stringify(long.body));
    const refused = await exec('true');
    assertError(refused, 429, 'rate_limited');
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal(
      (await rig.admin.request('GET', '/api/admin/plan', undefined, bearer)).body.usage.commandsRunning,
      1,
    );
    const cancel = await rig.admin.request(
      'POST',
      `/api/workspaces/${first}/executions/${long.body.executionId}/cancel`,
      undefined,
      bearer,
    );
    assert.equal(cancel.status, 202);
    // The command ends (its output stream's exit), and the slot is free again.
    const next = await waitFor(
      'a command to be taken again',
      async () => {
        const res = await exec('true');
        return res.status === 202 ? res : undefined;
      },
      30_000,
      250,
    );
    assert.equal(next.status, 202);
    const plan = await rig.admin.request('GET', '/api/admin/plan', undefined, bearer);
    assert.ok(plan.body.usage.refusalsToday.commands >= 1);
  });
});
