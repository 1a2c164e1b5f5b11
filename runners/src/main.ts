import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { parseRunnerEnv, type RunnerConfig } from './env.ts';
import { loadCredential, register } from './registration.ts';
import { defaultProcessRoot, log, Runner } from './runner.ts';
import { DEFAULT_WORKSPACE_IMAGE, DockerDriver } from './workloads/docker.ts';
import { ProcessDriver } from './workloads/process.ts';
import type { WorkloadDriver } from './workloads/types.ts';

const FLAGS = {
  url: 'KEEL_URL',
  token: 'KEEL_RUNNER_TOKEN',
  name: 'KEEL_RUNNER_NAME',
  labels: 'KEEL_RUNNER_LABELS',
  'data-dir': 'KEEL_RUNNER_DATA_DIR',
  driver: 'KEEL_RUNNER_DRIVER',
  redis: 'REDIS_URL',
} as const;

/** Docker when an engine answers and has the workspace image; otherwise the bubblewrap sandbox. */
async function chooseDriver(config: RunnerConfig): Promise<WorkloadDriver> {
  const image = config.KEEL_WORKSPACE_IMAGE ?? DEFAULT_WORKSPACE_IMAGE;
  if (config.KEEL_RUNNER_DRIVER !== 'process') {
    const docker = new Docker();
    const usable = await docker
      .ping()
      .then(() => docker.getImage(image).inspect())
      .then(
        () => true,
        () => false,
      );
    if (usable) {
      await assertVolumesVisible(docker);
      return new DockerDriver({ docker, defaultImage: image });
    }
    if (config.KEEL_RUNNER_DRIVER === 'docker') {
      throw new Error(
        `No Docker engine with the image ${image} is reachable (scripts/build-workspace-image builds it)`,
      );
    }
  }
  return new ProcessDriver({
    root: defaultProcessRoot(config),
    allowUnsandboxed: config.KEEL_RUNNER_ALLOW_UNSANDBOXED,
  });
}

/**
 * Workspace files are read and written on the host, under each volume's mount point: a runner
 * that cannot see the engine's volumes folder (one in a container without it mounted) would
 * answer every file request with "not found". Better to refuse to start, saying what to mount.
 */
async function assertVolumesVisible(docker: Docker): Promise<void> {
  const { DockerRootDir } = (await docker.info()) as { DockerRootDir?: string };
  if (!DockerRootDir) return;
  const volumes = `${DockerRootDir}/volumes`;
  if (!existsSync(volumes)) {
    throw new Error(
      `The runner cannot see ${volumes}, where the Docker engine keeps workspace files; a runner in a container needs it mounted at the same path (-v ${volumes}:${volumes})`,
    );
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])),
    allowPositionals: false,
  });
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [flag, name] of Object.entries(FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') env[name] = v;
  }
  const config = parseRunnerEnv(env);
  const driver = await chooseDriver(config);
  const capacity = {
    workspaces: config.KEEL_RUNNER_CAPACITY_WORKSPACES,
    cpus: availableParallelism(),
    memoryMb: Math.round(totalmem() / 1024 / 1024),
  };
  const credential =
    (await loadCredential(config)) ?? (await register(config, { drivers: [driver.kind], capacity }));
  const runner = new Runner(config, credential, driver);
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping: in-flight jobs finish first', { runnerId: runner.runnerId });
    runner.stop().then(
      () => process.exit(code),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(code || 1), 40_000).unref();
  };
  runner.onRevoked = () => shutdown(3);
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  await runner.start();
  log('info', 'keel-runner started', {
    runnerId: runner.runnerId,
    driver: driver.kind,
    queue: credential.queueName,
  });
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
