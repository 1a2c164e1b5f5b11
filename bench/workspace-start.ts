import { execFileSync } from 'node:child_process';
import { type Rig, readSse, startRig } from '../tests/harness/runner-rig.ts';
import { ensureDockerAndImage, workspaceImage } from '../tests/runner/docker-helper.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { round, summarize } from './stats.ts';

const N = count(8, 2);
const docker = (...args: string[]) =>
  execFileSync('docker', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();

/** A request whose answer is not the one expected fails the bench: an error answered fast is no start. */
async function expect(
  rig: Rig,
  status: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ body: any }> {
  const res = await rig.admin.request(method, path, body, { bearer: true });
  if (res.status !== status) {
    throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}, not ${status}`);
  }
  return res;
}

async function until(rig: Rig, id: string, status: string) {
  for (;;) {
    const res = await rig.admin.request('GET', `/api/workspaces/${id}/status`, undefined, { bearer: true });
    if (res.body.status === status) return;
    if (res.body.status === 'failed') throw new Error(res.body.reason);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Workspace start and create → first command through Keel, against bare `docker start` / `docker run`. */
export async function benchWorkspaceStart(): Promise<Figure[]> {
  await ensureDockerAndImage();
  const bareStart: number[] = [];
  const bareRun: number[] = [];
  // The same container Keel makes (limits, hardening, a volume), driven by the CLI directly.
  const same = [
    '--init',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/home/keel',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--user',
    '1000:1000',
    '--network',
    'none',
    '--memory',
    '1g',
    '--cpus',
    '1',
    '--pids-limit',
    '512',
  ];
  docker('rm', '-f', 'keel-bench-bare');
  docker(
    'create',
    '--name',
    'keel-bench-bare',
    ...same,
    '-v',
    'keel-bench-bare:/workspace',
    workspaceImage,
    'sleep',
    'infinity',
  );
  const rig = await startRig('docker');
  const keelStart: number[] = [];
  const keelFirst: number[] = [];
  try {
    const ws = await expect(rig, 201, 'POST', '/api/workspaces', { name: 'bench' });
    await until(rig, ws.body.id, 'running');
    // Bare and Keel in turns, so that both see the same load on a shared machine.
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      docker('start', 'keel-bench-bare');
      bareStart.push(performance.now() - t);
      docker('stop', '-t', '0', 'keel-bench-bare');

      await expect(rig, 202, 'POST', `/api/workspaces/${ws.body.id}/stop`);
      await until(rig, ws.body.id, 'stopped');
      t = performance.now();
      await expect(rig, 202, 'POST', `/api/workspaces/${ws.body.id}/start`);
      await until(rig, ws.body.id, 'running');
      keelStart.push(performance.now() - t);

      t = performance.now();
      docker('run', '--rm', ...same, '-v', `keel-bench-run${i}:/workspace`, workspaceImage, 'true');
      bareRun.push(performance.now() - t);
      docker('volume', 'rm', `keel-bench-run${i}`);

      t = performance.now();
      const created = await expect(rig, 201, 'POST', '/api/workspaces', { name: `first${i}` });
      await until(rig, created.body.id, 'running');
      const run = await expect(rig, 202, 'POST', `/api/workspaces/${created.body.id}/execute`, {
        command: ['true'],
      });
      const events = await readSse(
        await rig.http(`/api/workspaces/${created.body.id}/executions/${run.body.executionId}/events`, {
          headers: { authorization: `Bearer ${rig.admin.accessToken}` },
        }),
      );
      keelFirst.push(performance.now() - t);
      // Checked after the clock stops: the command ran, to its exit, and succeeded.
      const exit = events.find((e) => e.event === 'exit');
      if (!exit || JSON.parse(exit.data).exitCode !== 0) {
        throw new Error(`first command: no successful exit in ${JSON.stringify(events)}`);
      }
    }
  } finally {
    await rig.close();
    docker('rm', '-f', 'keel-bench-bare');
  }
  const s = (x: number[]) => summarize(x).p50;
  const fig = (name: string, keel: number[], bare: number[], bareName: string): Figure => {
    const k = s(keel);
    const b = s(bare);
    return {
      name: `${name}, p50 (n=${N})`,
      keel: `${round(k, 0)} ms`,
      baseline: `${round(b, 0)} ms (${bareName})`,
      ratio: `${round(k / b)}× (${round(k - b, 0)} ms over)`,
      target: '≤ 1.2× bare + 50 ms',
      pass: k <= 1.2 * b + 50,
    };
  };
  return [
    fig('workspace start (stopped → running)', keelStart, bareStart, 'docker start'),
    fig('create → first command', keelFirst, bareRun, 'docker run --rm'),
  ];
}
