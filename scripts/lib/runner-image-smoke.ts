/**
 * The runner image, checked end to end: a Node edge on this host (PGlite, a private Redis), the
 * runner as a container beside the host's engine, then register → online → create a workspace →
 * write a file → run `cat` on it and read the output over SSE. Run by scripts/check-runner-image.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import {
  createRunningWorkspace,
  type EdgeProcess,
  startEdgeProcess,
  waitForRunnerOnline,
} from '../../bench/system.ts';
import { startRedisServer } from '../../tests/harness/redis-server.ts';
import { readSse } from '../../tests/harness/runner-rig.ts';

const image = process.env.KEEL_RUNNER_IMAGE ?? 'keel-runner';
const container = `keel-runner-check-${process.pid}`;
const redis = await startRedisServer();
const step = (what: string) => console.error(`check-runner-image: ${what}`);
let failed = true;
let edge: EdgeProcess | undefined;
try {
  edge = await startEdgeProcess({ redisUrl: redis.url });
  const { admin, http } = edge;
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
    `KEEL_URL=${edge.base}`,
    '-e',
    `KEEL_RUNNER_TOKEN=${edge.bootstrap}`,
    '-e',
    `REDIS_URL=${redis.url}`,
    '-e',
    'KEEL_RUNNER_DRIVER=docker',
    image,
  ]);
  await waitForRunnerOnline(admin, 60_000);
  step('the runner registered and is online');
  const id = await createRunningWorkspace(admin, 'image-check');
  const put = await admin.request(
    'PUT',
    `/api/workspaces/${id}/files?path=hello.txt`,
    { content: 'from the image\n' },
    { bearer: true },
  );
  if (put.status !== 200) throw new Error(`writing a file answered ${put.status}`);
  const run = await admin.request(
    'POST',
    `/api/workspaces/${id}/execute`,
    { command: ['cat', 'hello.txt'] },
    { bearer: true },
  );
  const events = await readSse(
    await http(`/api/workspaces/${id}/executions/${run.body.executionId}/events`, {
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
  await admin.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true });
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
  await edge?.edge.stop();
  await redis.stop();
  if (edge) rmSync(edge.dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
