import assert from 'node:assert/strict';
import type { BrowserClient } from '../../harness/browser-client.ts';
import { type Rig, readSse } from '../../harness/runner-rig.ts';

/** A new workspace of the rig's admin, once it runs. */
export async function runningWorkspace(rig: Rig, name: string): Promise<string> {
  const created = await rig.admin.request('POST', '/api/workspaces', { name }, { bearer: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await rig.waitForStatus(rig.admin, created.body.id, 'running');
  return created.body.id;
}

/** The events of an execution, read to its end. */
export async function executionEvents(rig: Rig, c: BrowserClient, id: string, executionId: string) {
  return readSse(
    await rig.http(`/api/workspaces/${id}/executions/${executionId}/events`, {
      headers: { authorization: `Bearer ${c.accessToken}` },
    }),
  );
}

/** Runs `command` in the workspace and reads its output to the exit; its execution id. */
export async function runToEnd(rig: Rig, c: BrowserClient, id: string, command: string): Promise<string> {
  const run = await c.request('POST', `/api/workspaces/${id}/execute`, { command }, { bearer: true });
  assert.equal(run.status, 202, JSON.stringify(run.body));
  await executionEvents(rig, c, id, run.body.executionId);
  return run.body.executionId;
}

/** Runs `command` in the workspace; its stdout and exit. */
export async function runOutput(rig: Rig, id: string, command: string) {
  const run = await rig.admin.request('POST', `/api/workspaces/${id}/execute`, { command }, { bearer: true });
  assert.equal(run.status, 202, JSON.stringify(run.body));
  const events = await executionEvents(rig, rig.admin, id, run.body.executionId);
  const stdout = events
    .filter((e) => e.event === 'stdout')
    .map((e) => e.data)
    .join('');
  return { stdout, exit: JSON.parse(events.at(-1)?.data ?? '{}') };
}

export async function waitGone(rig: Rig, id: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await rig.driver.status(id)) === 'missing') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`workspace ${id} was not removed by the runner`);
}
