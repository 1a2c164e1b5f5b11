/**
 * The runner image, checked end to end: a Node edge on this host (PGlite, a private Redis), the
 * runner as a container beside the host's engine, then register → online → create a workspace →
 * write a file → run `cat` on it and read the output over SSE. Run by scripts/check-runner-image.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserClient } from '../../tests/harness/browser-client.ts';
import { freePort, waitFor } from '../../tests/harness/ports.ts';
import { spawnService, waitForHttp } from '../../tests/harness/processes.ts';
import { startRedisServer } from '../../tests/harness/redis-server.ts';
import { readSse } from '../../tests/harness/runner-rig.ts';
import { testSecretKey } from '../../tests/harness/test-app.ts';

const image = process.env.KEEL_RUNNER_IMAGE ?? 'keel-runner';
const container = `keel-runner-check-${process.pid}`;
const redis = await startRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'keel-runner-image-'));
chmodSync(dir, 0o711);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const bootstrap = `rbt_${'c'.repeat(40)}`;
const edge = spawnService(
  process.execPath,
  ['--import', 'tsx', 'edge/src/entry-node.ts'],
  {
    ...process.env,
    REDIS_URL: redis.url,
    KEEL_SECRET_KEY: testSecretKey(),
    PORT: String(port),
    KEEL_DATA_DIR: join(dir, 'edge'),
    KEEL_RUNNER_BOOTSTRAP_TOKEN: bootstrap,
  },
  new URL('../..', import.meta.url).pathname,
);
const step = (what: string) => console.error(`check-runner-image: ${what}`);
let failed = true;
try {
  await waitForHttp(`${base}/readyz`, edge);
  const volumes = '/var/lib/docker/volumes';
  // As the Dockerfile's header says to run it; host networking reaches the edge and Redis here.
  execFileSync('docker', [
    'run',
    '-d',
    '--name',
    container,
    '--network',
    'host',
    '-v',
    '/var/run/docker.sock:/var/run/docker.sock',
    '-v',
    `${volumes}:${volumes}`,
    '-e',
    `KEEL_URL=${base}`,
    '-e',
    `KEEL_RUNNER_TOKEN=${bootstrap}`,
    '-e',
    `REDIS_URL=${redis.url}`,
    '-e',
    'KEEL_RUNNER_DRIVER=docker',
    image,
  ]);
  const http = (p: string, init?: RequestInit) => fetch(new URL(p, base), init);
  const admin = new BrowserClient(http);
  await admin.request('POST', '/api/auth/signup', {
    email: 'i@example.com',
    password: 'correct horse battery',
    name: 'I',
  });
  await waitFor(
    'the runner online',
    async () => {
      const r = await admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      return r.body.runners[0]?.status === 'online' ? true : undefined;
    },
    60_000,
  );
  step('the runner registered and is online');
  const ws = await admin.request('POST', '/api/workspaces', { name: 'image-check' }, { bearer: true });
  await waitFor(
    'the workspace running',
    async () => {
      const r = await admin.request('GET', `/api/workspaces/${ws.body.id}/status`, undefined, {
        bearer: true,
      });
      if (r.body.status === 'failed') throw new Error(r.body.reason);
      return r.body.status === 'running' ? true : undefined;
    },
    60_000,
  );
  const put = await admin.request(
    'PUT',
    `/api/workspaces/${ws.body.id}/files?path=hello.txt`,
    { content: 'from the image\n' },
    { bearer: true },
  );
  if (put.status !== 200) throw new Error(`writing a file answered ${put.status}`);
  const run = await admin.request(
    'POST',
    `/api/workspaces/${ws.body.id}/execute`,
    { command: ['cat', 'hello.txt'] },
    { bearer: true },
  );
  const events = await readSse(
    await http(`/api/workspaces/${ws.body.id}/executions/${run.body.executionId}/events`, {
      headers: { authorization: `Bearer ${admin.accessToken}` },
    }),
  );
  const out = events
    .filter((e) => e.event === 'stdout')
    .map((e) => e.data)
    .join('');
  const exit = events.find((e) => e.event === 'exit')?.data;
  if (out !== 'from the image\n' || exit !== '{"exitCode":0}') {
    throw new Error(`unexpected output: ${JSON.stringify(events)}`);
  }
  step('a workspace ran a command on the file written through Keel');
  await admin.request('DELETE', `/api/workspaces/${ws.body.id}`, undefined, { bearer: true });
  failed = false;
} catch (err) {
  console.error(err);
  try {
    console.error(execFileSync('docker', ['logs', '--tail', '40', container], { encoding: 'utf8' }));
  } catch {
    // No container to show.
  }
} finally {
  try {
    execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
  await edge.stop();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
