/*
 * One workspace, one lifecycle at a time, through a real edge and a real runner on the docker
 * and process drivers: a start taken while the create still runs waits for it (the workspace
 * never shows `failed`), a burst of starts and stops ends in the state of the last request, and
 * requests that conflict with a workspace waiting for a place or moving are refused with 409.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { forgetWorkspaceRow } from '../../edge/src/workspaces/access.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { DRIVER_KINDS, type Rig, startRig } from '../harness/runner-rig.ts';

const bearer = { bearer: true } as const;

async function systemLines(admin: BrowserClient, id: string): Promise<string[]> {
  const res = await admin.request('GET', `/api/workspaces/${id}/logs`, undefined, bearer);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.lines as Array<{ stream: string; text: string }>)
    .filter((l) => l.stream === 'system')
    .map((l) => l.text);
}

/** Status lines the runner wrote (each lifecycle step writes its own), in order. */
const STATUS_LINE = /^(creating|starting|running|stopping|stopped|failed|deleting|unavailable)(:|$)/;
async function statusLines(admin: BrowserClient, id: string): Promise<string[]> {
  // The status alone: a stop may say why it takes longer ("stopping: saving a snapshot").
  return (await systemLines(admin, id)).filter((l) => STATUS_LINE.test(l)).map((l) => l.replace(/:.*$/, ''));
}

/** Waits until the runner wrote `count` status lines, then returns them. */
async function untilLines(admin: BrowserClient, id: string, count: number): Promise<string[]> {
  return waitFor(
    `${count} status lines of ${id}`,
    async () => {
      const lines = await statusLines(admin, id);
      return lines.length >= count ? lines : undefined;
    },
    90_000,
    100,
  );
}

async function create(admin: BrowserClient, name: string): Promise<string> {
  const res = await admin.request('POST', '/api/workspaces', { name, source: { type: 'empty' } }, bearer);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

async function act(admin: BrowserClient, id: string, action: 'start' | 'stop' | 'restart') {
  return admin.request('POST', `/api/workspaces/${id}/${action}`, undefined, bearer);
}

for (const kind of DRIVER_KINDS) {
  describe(`lifecycle order (${kind})`, () => {
    let rig: Rig;
    before(async () => {
      // Many jobs at once, as in production: the order must not rest on one job at a time.
      rig = await startRig(kind, { runnerEnv: { KEEL_RUNNER_CONCURRENCY: '8' } });
    });
    after(async () => {
      await rig?.close();
    });

    test('a start right after the create waits for it and never shows failed (3 tries)', async () => {
      for (let i = 0; i < 3; i++) {
        const id = await create(rig.admin, `order-${kind}-${i}`);
        const started = await act(rig.admin, id, 'start');
        assert.equal(started.status, 202, JSON.stringify(started.body));
        // The create's own start, then the start job's: two `running` lines in all.
        const lines = await waitFor(
          `the start after the create of ${id}`,
          async () => {
            const all = await statusLines(rig.admin, id);
            return all.filter((l) => l === 'running').length >= 2 || all.some((l) => l.startsWith('failed'))
              ? all
              : undefined;
          },
          90_000,
          100,
        );
        assert.ok(!lines.some((l) => l.startsWith('failed')), `try ${i}: ${lines.join(' → ')}`);
        assert.deepEqual(lines, ['creating', 'starting', 'running', 'starting', 'running'], `try ${i}`);
        await rig.waitForStatus(rig.admin, id, 'running');
      }
    });

    test('a burst of start, stop, start ends in the state of the last request', async () => {
      const id = await create(rig.admin, `burst-${kind}`);
      await rig.waitForStatus(rig.admin, id, 'running');
      const base = (await untilLines(rig.admin, id, 3)).length;
      for (const action of ['stop', 'start', 'stop'] as const) {
        const res = await act(rig.admin, id, action);
        assert.equal(res.status, 202, JSON.stringify(res.body));
      }
      // Each step writes two lines (stopping/stopped, starting/running), in the order asked.
      const afterStops = await untilLines(rig.admin, id, base + 6);
      assert.deepEqual(afterStops.slice(base), [
        'stopping',
        'stopped',
        'starting',
        'running',
        'stopping',
        'stopped',
      ]);
      await rig.waitForStatus(rig.admin, id, 'stopped');
      assert.equal(await rig.driver.status(id), 'stopped');
      for (const action of ['start', 'stop', 'start'] as const) {
        const res = await act(rig.admin, id, action);
        assert.equal(res.status, 202, JSON.stringify(res.body));
      }
      const afterStarts = await untilLines(rig.admin, id, base + 12);
      assert.deepEqual(afterStarts.slice(base + 6), [
        'starting',
        'running',
        'stopping',
        'stopped',
        'starting',
        'running',
      ]);
      await rig.waitForStatus(rig.admin, id, 'running');
      assert.equal(await rig.driver.status(id), 'running');
    });

    if (kind === 'process') {
      test('start, stop and restart while waiting for a place or moving are refused with 409', async () => {
        const id = await create(rig.admin, 'conflicts');
        await rig.waitForStatus(rig.admin, id, 'running');
        const services = rig.app.services;
        // As the edge itself marks them (placement and moves write these statuses).
        const mark = async (values: Partial<typeof workspaces.$inferInsert>) => {
          await services.db
            .update(workspaces)
            .set({ updatedAt: new Date(Date.now() + 1_000), ...values })
            .where(eq(workspaces.id, id));
          await forgetWorkspaceRow(services, id);
        };
        const cases = [
          { values: { status: 'queued' }, says: /waiting for a place/ },
          { values: { status: 'relocating' }, says: /moving to another runner/ },
          {
            values: {
              status: 'running',
              move: { reason: 'drain', target: { policy: true }, requestedAt: new Date().toISOString() },
            },
            says: /moving to another runner/,
          },
        ];
        for (const c of cases) {
          await mark(c.values);
          for (const action of ['start', 'stop', 'restart'] as const) {
            const res = await act(rig.admin, id, action);
            assert.equal(res.status, 409, `${action} while ${JSON.stringify(c.values)}`);
            assert.equal(res.body.error.code, 'conflict');
            assert.match(res.body.error.message, c.says);
            assert.equal(typeof res.body.error.requestId, 'string');
          }
        }
        // Nothing was queued: the runner never saw those requests.
        assert.equal(await rig.driver.status(id), 'running');
        // Back from the move: accepted again.
        await mark({ status: 'running', move: null, updatedAt: new Date(Date.now() - 60_000) });
        const res = await act(rig.admin, id, 'restart');
        assert.equal(res.status, 202, JSON.stringify(res.body));
        // A delete is always accepted, even while waiting for a place.
        await mark({ status: 'queued' });
        const deleted = await rig.admin.request('DELETE', `/api/workspaces/${id}`, undefined, bearer);
        assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
        await waitFor(
          'the delete',
          async () => ((await rig.driver.status(id)) === 'missing' ? true : undefined),
          60_000,
          100,
        );
      });

      test('a viewer is refused and another developer does not find the workspace, moving or not', async () => {
        const id = await create(rig.admin, 'theirs');
        await rig.app.services.db.update(workspaces).set({ status: 'queued' }).where(eq(workspaces.id, id));
        await forgetWorkspaceRow(rig.app.services, id);
        const viewer = await rig.member('viewer', 'order-viewer@example.com');
        const refused = await act(viewer, id, 'start');
        assert.equal(refused.status, 403, JSON.stringify(refused.body));
        const developer = await rig.member('developer', 'order-dev@example.com');
        const res = await act(developer, id, 'start');
        assert.equal(res.status, 404, JSON.stringify(res.body));
        assert.equal(res.body.error.code, 'not_found');
      });
    }
  });
}
