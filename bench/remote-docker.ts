/*
 * The ssh driver (Docker over one SSH connection): workspace start and create → first command
 * through the whole Keel (API, runner, ssh driver), against the same container work done with
 * the engine's raw API over the driver's own SSH connection; and a warm 4 KiB file read through
 * the file agent, with the local Docker driver's confined read taken in the same run.
 */
import type Docker from 'dockerode';
import { agentFiles } from '../runners/src/files/agent/index.ts';
import { DockerDriver } from '../runners/src/workloads/docker.ts';
import { makeRemoteDockerDriver } from '../runners/src/workloads/remote-docker.ts';
import type { WorkloadDriver, WorkloadSpec } from '../runners/src/workloads/types.ts';
import { type Rig, readSse, startRig } from '../tests/harness/runner-rig.ts';
import { startSshd } from '../tests/harness/sshd.ts';
import { ensureDockerAndImage, workspaceImage } from '../tests/runner/docker-helper.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { round, summarize, timeEach } from './stats.ts';

const N = count(8, 2);
const READS = count(500, 50);
const AGENT_STARTS = count(5, 2);
const FILE_BYTES = 4096;
// Unique per run: other checkouts share the Docker engine.
const PREFIX = `keel-bench-ssh${process.pid.toString(36)}`;

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

/** Keel's own container's settings, for an equivalent bare one: the same limits and hardening. */
async function sameAs(docker: Docker, workspaceId: string): Promise<Docker.ContainerCreateOptions> {
  const info = await docker.getContainer(`keel-ws-${workspaceId}`).inspect();
  const h = info.HostConfig;
  return {
    Image: info.Config.Image,
    User: info.Config.User,
    WorkingDir: info.Config.WorkingDir,
    Env: info.Config.Env,
    HostConfig: {
      Tmpfs: h.Tmpfs,
      ReadonlyRootfs: h.ReadonlyRootfs,
      CapDrop: h.CapDrop,
      SecurityOpt: h.SecurityOpt,
      NetworkMode: h.NetworkMode,
      NanoCpus: h.NanoCpus,
      Memory: h.Memory,
      MemorySwap: h.MemorySwap,
      PidsLimit: h.PidsLimit,
      Init: h.Init,
      IpcMode: h.IpcMode,
      RestartPolicy: { Name: 'no' },
    },
  } as Docker.ContainerCreateOptions;
}

/** What `docker run` does for one command: create, attach, start, wait for its exit. */
async function bareRun(docker: Docker, same: Docker.ContainerCreateOptions, name: string): Promise<number> {
  const c = await docker.createContainer({
    ...same,
    name,
    Cmd: ['true'],
    HostConfig: {
      ...same.HostConfig,
      Mounts: [{ Type: 'volume', Source: name, Target: '/workspace' }],
    },
  });
  const stream = (await c.attach({
    stream: true,
    stdout: true,
    stderr: true,
    hijack: true,
  })) as NodeJS.ReadableStream;
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
    stream.resume();
  });
  const exited = c.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
  await c.start();
  const [{ StatusCode }] = await Promise.all([exited, ended]);
  return StatusCode;
}

const spec = (workspaceId: string): WorkloadSpec => ({
  workspaceId,
  cpus: 1,
  memoryMb: 256,
  network: false,
  storage: { kind: 'volume' },
});

async function withWorkspace<T>(driver: WorkloadDriver, id: string, fn: () => Promise<T>): Promise<T> {
  await driver.create(spec(id));
  try {
    await driver.start(id);
    return await fn();
  } finally {
    await driver.remove(id, { keepData: false }).catch(() => {});
  }
}

export async function benchRemoteDocker(): Promise<Figure[]> {
  await ensureDockerAndImage();
  const sshd = await startSshd();
  const figures: Figure[] = [];
  try {
    const driver = await makeRemoteDockerDriver(
      {
        kind: 'ssh',
        id: 'srv_benchssh' as never,
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        privateKey: sshd.userKey.privateKey,
        hostKey: sshd.hostKey.publicKey,
        storage: { kind: 'volume' },
      },
      { defaultImage: workspaceImage },
    );
    try {
      if (!(driver instanceof DockerDriver)) throw new Error('the ssh driver is not a Docker driver');
      // The baseline speaks to the engine through the driver's own client: the same SSH connection.
      figures.push(...(await startFigures(driver, driver.docker)));
      figures.push(...(await fileFigures(driver)));
    } finally {
      await driver.close();
    }
  } finally {
    await sshd.stop();
  }
  return figures;
}

async function startFigures(driver: WorkloadDriver, docker: Docker): Promise<Figure[]> {
  const bareStart: number[] = [];
  const bareFirst: number[] = [];
  const keelStart: number[] = [];
  const keelFirst: number[] = [];
  const bareName = `${PREFIX}-bare`;
  const rig = await startRig('ssh', { driver });
  try {
    const ws = await expect(rig, 201, 'POST', '/api/workspaces', { name: 'bench' });
    await until(rig, ws.body.id, 'running');
    const same = await sameAs(docker, ws.body.id);
    const bare = await docker.createContainer({
      ...same,
      name: bareName,
      Cmd: ['sleep', 'infinity'],
      HostConfig: {
        ...same.HostConfig,
        Mounts: [{ Type: 'volume', Source: bareName, Target: '/workspace' }],
      },
    });
    // Bare and Keel in turns, so that both see the same load on a shared machine.
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      await bare.start();
      bareStart.push(performance.now() - t);
      await bare.stop({ t: 0 });

      await expect(rig, 202, 'POST', `/api/workspaces/${ws.body.id}/stop`);
      await until(rig, ws.body.id, 'stopped');
      t = performance.now();
      await expect(rig, 202, 'POST', `/api/workspaces/${ws.body.id}/start`);
      await until(rig, ws.body.id, 'running');
      keelStart.push(performance.now() - t);

      const runName = `${PREFIX}-run${i}`;
      t = performance.now();
      const code = await bareRun(docker, same, runName);
      bareFirst.push(performance.now() - t);
      await docker.getContainer(runName).remove({ force: true });
      await docker.getVolume(runName).remove();
      if (code !== 0) throw new Error(`bare run exited ${code}`);

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
      const exit = events.find((e) => e.event === 'exit');
      if (!exit || JSON.parse(exit.data).exitCode !== 0) {
        throw new Error(`first command: no successful exit in ${JSON.stringify(events)}`);
      }
    }
  } finally {
    await rig.close();
    await docker
      .getContainer(bareName)
      .remove({ force: true })
      .catch(() => {});
    await docker
      .getVolume(bareName)
      .remove()
      .catch(() => {});
  }
  const fig = (name: string, keel: number[], bare: number[], bareName: string): Figure => {
    const k = summarize(keel).p50;
    const b = summarize(bare).p50;
    return {
      name: `ssh driver: ${name}, p50 (n=${N})`,
      keel: `${round(k, 0)} ms`,
      baseline: `${round(b, 0)} ms (${bareName}, same SSH connection)`,
      ratio: `${round(k / b)}× (${round(k - b, 0)} ms over)`,
      target: '≤ 1.2× bare + 50 ms',
      pass: k <= 1.2 * b + 50,
    };
  };
  return [
    fig('workspace start (stopped → running)', keelStart, bareStart, 'engine API start'),
    fig('create → first command', keelFirst, bareFirst, 'engine API create, attach, start, wait'),
  ];
}

async function fileFigures(driver: WorkloadDriver): Promise<Figure[]> {
  const content = Buffer.alloc(FILE_BYTES, 'x');
  const check = (b: Buffer) => {
    if (!b.equals(content)) throw new Error(`read ${b.length} bytes, not the ${FILE_BYTES} written`);
  };
  const local = new DockerDriver({ defaultImage: workspaceImage });
  const sshId = `${PREFIX}-files`;
  const localId = `${PREFIX}-local`;
  return withWorkspace(driver, sshId, () =>
    withWorkspace(local, localId, async () => {
      // As the runner holds them: looked up once per workspace (runner-context.ts).
      const remoteFs = await driver.files(sshId);
      const localFs = await local.files(localId);
      await remoteFs.writeFile('bench.txt', content);
      await localFs.writeFile('bench.txt', content);

      // A fresh agent each time: the first operation on a workspace's files starts it.
      const cold = await timeEach(
        AGENT_STARTS,
        async () => {
          const fresh = agentFiles((req) => driver.exec(sshId, req));
          try {
            check(await fresh.readFile('bench.txt'));
          } finally {
            await fresh.close();
          }
        },
        1,
      );
      const ssh = summarize(await timeEach(READS, async () => check(await remoteFs.readFile('bench.txt'))));
      const near = summarize(await timeEach(READS, async () => check(await localFs.readFile('bench.txt'))));
      const first = summarize(cold);
      return [
        {
          name: `ssh driver: 4 KiB file read, warm, p50 (n=${READS})`,
          keel: `${round(ssh.p50)} ms (p99 ${round(ssh.p99)})`,
          baseline: `${round(near.p50, 3)} ms (local docker driver, ConfinedFs)`,
          ratio: `+${round(ssh.p50 - near.p50)} ms`,
          target: '≤ 10 ms',
          pass: ssh.p50 <= 10,
        },
        {
          name: `ssh driver: first file read on a workspace (file agent start), p50 (n=${AGENT_STARTS})`,
          keel: `${round(first.p50, 0)} ms`,
          baseline: `${round(ssh.p50)} ms (warm read)`,
          ratio: `+${round(first.p50 - ssh.p50, 0)} ms`,
          target: 'none (for reference)',
          pass: null,
        },
      ];
    }),
  );
}
