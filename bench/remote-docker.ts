/*
 * The ssh driver (Docker over one SSH connection): workspace start and create → first command
 * through the whole Keel (API, runner, ssh driver), against the same container work done with
 * the engine's raw API over the driver's own SSH connection; and a warm 4 KiB file read through
 * the file agent, with the local Docker driver's confined read taken in the same run.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { agentFiles } from '../runners/src/files/agent/index.ts';
import { DockerDriver } from '../runners/src/workloads/docker.ts';
import { makeRemoteDockerDriver } from '../runners/src/workloads/remote-docker.ts';
import type { WorkloadDriver, WorkloadSpec } from '../runners/src/workloads/types.ts';
import { type Rig, readSse, startRig } from '../tests/harness/runner-rig.ts';
import { type SshdServer, startSshd } from '../tests/harness/sshd.ts';
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

const execFileP = promisify(execFile);

/**
 * The docker CLI on this host, with `-H ssh://` to the sshd: OpenSSH (the CLI's own transport)
 * pinned to the test host key and multiplexed over one master connection (ControlMaster), so
 * every command goes over the same SSH connection, as the driver's requests do. The CLI opens a
 * session on it that runs `docker system dial-stdio` on the server for each command.
 */
async function dockerOverSsh(sshd: SshdServer) {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-bench-ssh-cli-'));
  const key = path.join(dir, 'id');
  writeFileSync(key, sshd.userKey.privateKey, { mode: 0o600 });
  writeFileSync(path.join(dir, 'known_hosts'), `[${sshd.host}]:${sshd.port} ${sshd.hostKey.publicKey}\n`);
  const config = path.join(dir, 'config');
  writeFileSync(
    config,
    [
      'Host keel-bench',
      `  HostName ${sshd.host}`,
      `  Port ${sshd.port}`,
      `  User ${sshd.user}`,
      `  IdentityFile ${key}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking yes',
      '  ControlMaster auto',
      `  ControlPath ${path.join(dir, 'cm')}`,
      '  ControlPersist 300',
      '',
    ].join('\n'),
  );
  // The CLI runs `ssh` from PATH with its own arguments: this one adds the config above.
  writeFileSync(path.join(dir, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${config} "$@"\n`);
  chmodSync(path.join(dir, 'ssh'), 0o755);
  const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, DOCKER_HOST: 'ssh://keel-bench' };
  const cli = async (...args: string[]) =>
    (await execFileP('docker', args, { env, maxBuffer: 1024 * 1024 })).stdout.trim();
  // Opens the master connection before anything is timed.
  await cli('version', '--format', '{{.Server.Version}}');
  return {
    cli,
    async close() {
      await execFileP('/usr/bin/ssh', ['-F', config, '-O', 'exit', 'keel-bench']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The CLI's options for a container like `same`. */
function cliOptions(same: Docker.ContainerCreateOptions): string[] {
  const h = same.HostConfig ?? {};
  const out = ['--user', String(same.User), '--workdir', String(same.WorkingDir)];
  for (const e of same.Env ?? []) out.push('--env', e);
  for (const [at, opts] of Object.entries(h.Tmpfs ?? {})) out.push('--tmpfs', `${at}:${opts}`);
  if (h.ReadonlyRootfs) out.push('--read-only');
  for (const c of h.CapDrop ?? []) out.push('--cap-drop', c);
  for (const o of h.SecurityOpt ?? []) out.push('--security-opt', o);
  if (h.Init) out.push('--init');
  out.push(
    '--network',
    String(h.NetworkMode),
    '--ipc',
    String(h.IpcMode),
    '--cpus',
    String((h.NanoCpus ?? 0) / 1e9),
    '--memory',
    `${h.Memory}b`,
    '--memory-swap',
    `${h.MemorySwap}b`,
    '--pids-limit',
    String(h.PidsLimit),
  );
  return out;
}

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

const ended = (stream: NodeJS.ReadableStream) =>
  new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
    stream.resume();
  });

/**
 * The same container work as Keel's create → first command, in the calls `docker run -d` and
 * `docker exec` make: a container like the workspace's with a new volume, started, then the
 * command exec'd in it and read to its exit. Resolves with the command's exit code.
 */
async function bareCreateExec(
  docker: Docker,
  same: Docker.ContainerCreateOptions,
  name: string,
): Promise<number | null> {
  const c = await docker.createContainer({
    ...same,
    name,
    Cmd: ['sleep', 'infinity'],
    HostConfig: { ...same.HostConfig, Mounts: [{ Type: 'volume', Source: name, Target: '/workspace' }] },
  });
  await c.start();
  const exec = await c.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
  await ended(await exec.start({ hijack: true, stdin: false }));
  return (await exec.inspect()).ExitCode;
}

async function removeBare(docker: Docker, name: string): Promise<void> {
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => {});
  await docker
    .getVolume(name)
    .remove()
    .catch(() => {});
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
      figures.push(...(await startFigures(driver, driver.docker, sshd)));
      figures.push(...(await fileFigures(driver)));
    } finally {
      await driver.close();
    }
  } finally {
    await sshd.stop();
  }
  return figures;
}

async function startFigures(driver: WorkloadDriver, docker: Docker, sshd: SshdServer): Promise<Figure[]> {
  const samples = {
    keelStart: [] as number[],
    keelFirst: [] as number[],
    cliStart: [] as number[],
    cliRun: [] as number[],
    apiStart: [] as number[],
    apiFirst: [] as number[],
  };
  const bareName = `${PREFIX}-bare`;
  let runName: string | undefined;
  const cli = await dockerOverSsh(sshd);
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
    const time = async (into: number[], fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      into.push(performance.now() - t);
    };
    // Keel, the CLI and the raw API in turns, so that all see the same load on a shared machine.
    for (let i = 0; i < N; i++) {
      await time(samples.cliStart, () => cli.cli('start', bareName));
      await bare.stop({ t: 0 });
      await time(samples.apiStart, () => bare.start());
      await bare.stop({ t: 0 });

      await expect(rig, 202, 'POST', `/api/workspaces/${ws.body.id}/stop`);
      await until(rig, ws.body.id, 'stopped');
      await time(samples.keelStart, async () => {
        await expect(rig, 202, 'POST', `/api/workspaces/${ws.body.id}/start`);
        await until(rig, ws.body.id, 'running');
      });

      runName = `${PREFIX}-run${i}`;
      const volume = runName;
      await time(samples.cliRun, () =>
        cli.cli('run', '--rm', ...cliOptions(same), '-v', `${volume}:/workspace`, String(same.Image), 'true'),
      );
      await removeBare(docker, runName);
      let code: number | null = null;
      await time(samples.apiFirst, async () => {
        code = await bareCreateExec(docker, same, volume);
      });
      await removeBare(docker, runName);
      if (code !== 0) throw new Error(`bare exec exited ${code}`);

      let events: Awaited<ReturnType<typeof readSse>> = [];
      await time(samples.keelFirst, async () => {
        const created = await expect(rig, 201, 'POST', '/api/workspaces', { name: `first${i}` });
        await until(rig, created.body.id, 'running');
        const run = await expect(rig, 202, 'POST', `/api/workspaces/${created.body.id}/execute`, {
          command: ['true'],
        });
        events = await readSse(
          await rig.http(`/api/workspaces/${created.body.id}/executions/${run.body.executionId}/events`, {
            headers: { authorization: `Bearer ${rig.admin.accessToken}` },
          }),
        );
      });
      // Checked after the clock stops: the command ran, to its exit, and succeeded.
      const exit = events.find((e) => e.event === 'exit');
      if (!exit || JSON.parse(exit.data).exitCode !== 0) {
        throw new Error(`first command: no successful exit in ${JSON.stringify(events)}`);
      }
    }
  } finally {
    await rig.close();
    await removeBare(docker, bareName);
    // One left by a failed turn.
    if (runName) await removeBare(docker, runName);
    await cli.close();
  }
  const fig = (name: string, keel: number[], bare: number[], bareName: string, goal: boolean): Figure => {
    const k = summarize(keel).p50;
    const b = summarize(bare).p50;
    return {
      name: `ssh driver: ${name}, p50 (n=${N})`,
      keel: `${round(k, 0)} ms`,
      baseline: `${round(b, 0)} ms (${bareName})`,
      ratio: `${round(k / b)}× (${k >= b ? `${round(k - b, 0)} ms over` : `${round(b - k, 0)} ms under`})`,
      target: goal ? '≤ 1.2× bare + 50 ms' : "none (Keel's own cost, for reference)",
      pass: goal ? k <= 1.2 * b + 50 : null,
    };
  };
  const start = 'workspace start (stopped → running)';
  const first = 'create → first command';
  return [
    fig(start, samples.keelStart, samples.cliStart, 'docker start over ssh://, one SSH connection', true),
    fig(first, samples.keelFirst, samples.cliRun, 'docker run --rm over ssh://, one SSH connection', true),
    fig(start, samples.keelStart, samples.apiStart, "engine API start, the driver's SSH connection", false),
    fig(
      first,
      samples.keelFirst,
      samples.apiFirst,
      "engine API create, start, exec, the driver's SSH connection",
      false,
    ),
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
