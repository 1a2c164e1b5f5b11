import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BrowserClient } from '../harness/browser-client.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { spawnService, waitForHttp } from '../harness/processes.ts';

const root = new URL('../..', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}
const PASSWORD = 'correct horse battery staple';

/** True while any process of the group is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function up(dataDir: string, extra: Record<string, string> = {}) {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    KEEL_DATA_DIR: dataDir,
    KEEL_SKIP_WEB_BUILD: '1',
    ...extra,
  };
  delete env.REDIS_URL;
  delete env.DATABASE_URL;
  delete env.KEEL_SECRET_KEY;
  const service = spawnService(join(root, 'scripts/up'), [], env, root);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/readyz`, service, 120_000);
  return { base, service, pgid: service.child.pid! };
}

async function ctrlC(instance: Awaited<ReturnType<typeof up>>) {
  process.kill(-instance.pgid, 'SIGINT');
  await waitFor(
    'every process scripts/up started to stop',
    async () => (groupAlive(instance.pgid) ? undefined : true),
    20_000,
  );
}

describe('scripts/up', () => {
  test('two instances side by side on embedded defaults; Ctrl-C stops all; data survives a restart', async () => {
    const dirA = mkdtempSync(join(tmpdir(), 'keel-up-a-'));
    const dirB = mkdtempSync(join(tmpdir(), 'keel-up-b-'));
    try {
      // A picks its runner driver itself (Docker here); B is forced onto the bubblewrap sandbox.
      const [a, b] = await Promise.all([up(dirA), up(dirB, { KEEL_RUNNER_DRIVER: 'process' })]);
      for (const inst of [a, b]) {
        const page = await fetch(inst.base);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<html/i);
        const c = new BrowserClient((p, init) => fetch(new URL(p, inst.base), init));
        const res = await c.request('POST', '/api/auth/signup', {
          email: 'ops@example.com',
          password: PASSWORD,
          name: 'Ops',
        });
        assert.equal(res.status, 201, `${inst.base}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.role, 'super_admin', 'each instance has its own data');
        // The local runner registered by itself: a workspace runs a command.
        await waitFor('the local runner', async () => {
          const r = await c.request('GET', '/api/admin/runners', undefined, { bearer: true });
          return r.body.runners?.[0]?.status === 'online' ? true : undefined;
        });
        const ws = await c.request('POST', '/api/workspaces', { name: 'first' }, { bearer: true });
        assert.equal(ws.status, 201, JSON.stringify(ws.body));
        const status = await waitFor(
          'the workspace',
          async () => {
            const r = await c.request('GET', `/api/workspaces/${ws.body.id}/status`, undefined, {
              bearer: true,
            });
            return ['running', 'failed'].includes(r.body.status) ? r.body : undefined;
          },
          60_000,
        );
        assert.equal(status.status, 'running', JSON.stringify(status));
        await c.request('DELETE', `/api/workspaces/${ws.body.id}`, undefined, { bearer: true });
      }
      await Promise.all([ctrlC(a), ctrlC(b)]);
      // What Redis wrote (append-only file, the ACL file its runner user was saved to) and the
      // edge's password are the owner's alone.
      for (const file of filesUnder(join(dirA, 'redis'))) {
        assert.equal(statSync(file).mode & 0o077, 0, `${file} is readable by others`);
      }

      const again = await up(dirA);
      try {
        const c = new BrowserClient((p, init) => fetch(new URL(p, again.base), init));
        const login = await c.request('POST', '/api/auth/login', {
          email: 'ops@example.com',
          password: PASSWORD,
        });
        assert.equal(login.status, 200, 'the account survived the restart');
      } finally {
        await ctrlC(again);
      }
    } finally {
      rmSync(dirA, { recursive: true, force: true });
      rmSync(dirB, { recursive: true, force: true });
    }
  });
});
