/*
 * The bundled runner (runners/dist, made by runners/bundle.mjs) is what `keel-runner`
 * runs when it is fresh: build it, start it as its own process against a real edge, and
 * have it run a workspace and a command.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { edgeOnPort } from '../harness/edge-on-port.ts';
import { testInfra } from '../harness/infra.ts';
import { waitFor } from '../harness/ports.ts';
import { spawnService } from '../harness/processes.ts';
import { readSse } from '../harness/runner-rig.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('bundled runner', () => {
  test('builds, starts without the TypeScript loader, registers and runs a command', async () => {
    execFileSync(process.execPath, [join(root, 'runners/bundle.mjs')], { cwd: root, stdio: 'inherit' });
    const bundle = join(root, 'runners/dist/keel-runner.mjs');
    assert.ok(statSync(bundle).size > 100_000);

    const { base, http, admin, close } = await edgeOnPort({ email: 'bundle@example.com' });
    const token = await admin.request('POST', '/api/admin/runner-tokens', {}, { bearer: true });
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-runner-bundle-'));
    // The bin picks the bundle because it is newer than the sources; nothing else is loaded.
    const runner = spawnService(
      process.execPath,
      [join(root, 'runners/bin/keel-runner.mjs')],
      {
        ...process.env,
        KEEL_URL: base,
        KEEL_RUNNER_TOKEN: token.body.token,
        KEEL_RUNNER_DATA_DIR: dataDir,
        KEEL_RUNNER_DRIVER: 'process',
        REDIS_URL: (await testInfra()).redisUrl,
      },
      root,
    );
    try {
      await waitFor('the runner online', async () => {
        const r = await admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
        return r.body.runners[0]?.status === 'online' ? true : undefined;
      });
      assert.doesNotMatch(runner.output(), /running the sources/);
      const ws = await admin.request('POST', '/api/workspaces', { name: 'bundled' }, { bearer: true });
      await waitFor('the workspace running', async () => {
        const r = await admin.request('GET', `/api/workspaces/${ws.body.id}/status`, undefined, {
          bearer: true,
        });
        if (r.body.status === 'failed') throw new Error(r.body.reason);
        return r.body.status === 'running' ? true : undefined;
      });
      const run = await admin.request(
        'POST',
        `/api/workspaces/${ws.body.id}/execute`,
        { command: 'echo from the bundle' },
        { bearer: true },
      );
      const events = await readSse(
        await http(`/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/events`, {
          headers: { authorization: `Bearer ${admin.accessToken}` },
        }),
      );
      assert.equal(events[0]?.data, 'from the bundle\n');
      assert.equal(JSON.parse(events.at(-1)!.data).exitCode, 0);
      await admin.request('DELETE', `/api/workspaces/${ws.body.id}`, undefined, { bearer: true });
    } finally {
      await runner.stop('SIGTERM');
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
