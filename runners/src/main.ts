import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { withFileVariables } from '@keel/contract/env-files';
import Docker from 'dockerode';
import { driverToRun, saveDriverChoice } from './driver-choice.ts';
import { parseRunnerEnv, type RunnerConfig, RunnerEnv } from './env.ts';
import { CannotRunError, EXIT_CODES } from './exit-codes.ts';
import { log } from './log.ts';
import { defaultProcessRoot } from './process-root.ts';
import { checkIn, loadCredential, register } from './registration.ts';
import { Runner } from './runner.ts';
import { DEFAULT_WORKSPACE_IMAGE, DockerDriver } from './workloads/docker.ts';
import { ProcessDriver } from './workloads/process.ts';
import { type WorkloadDriver, WorkloadError } from './workloads/types.ts';

const FLAGS = {
  url: 'KEEL_URL',
  token: 'KEEL_RUNNER_TOKEN',
  name: 'KEEL_RUNNER_NAME',
  labels: 'KEEL_RUNNER_LABELS',
  'data-dir': 'KEEL_RUNNER_DATA_DIR',
  driver: 'KEEL_RUNNER_DRIVER',
  redis: 'REDIS_URL',
} as const;

/** Whether a Docker engine answers and has the workspace image. */
async function dockerUsable(docker: Docker, image: string): Promise<boolean> {
  return docker
    .ping()
    .then(() => docker.getImage(image).inspect())
    .then(
      () => true,
      () => false,
    );
}

/**
 * The driver chosen once (see driver-choice): under `auto` at the first start, Docker when an
 * engine with the image is reachable, otherwise the bubblewrap sandbox; kept from then on.
 */
async function chooseDriver(config: RunnerConfig): Promise<WorkloadDriver> {
  const image = config.KEEL_WORKSPACE_IMAGE ?? DEFAULT_WORKSPACE_IMAGE;
  const docker = new Docker();
  const { kind, saved } = await driverToRun(config, async () =>
    (await dockerUsable(docker, image)) ? 'docker' : 'process',
  );
  let driver: WorkloadDriver;
  if (kind === 'docker') {
    if (!(await dockerUsable(docker, image))) {
      const message = `No Docker engine with the image ${image} is reachable (scripts/build-workspace-image builds it)`;
      // Explicitly asked for, it cannot run; chosen earlier, its workspaces are there: wait for it.
      if (config.KEEL_RUNNER_DRIVER === 'docker') throw new CannotRunError(message);
      throw new Error(`${message}; this runner's workspaces live there`);
    }
    await assertVolumesVisible(docker);
    driver = new DockerDriver({ docker, defaultImage: image });
  } else {
    try {
      driver = new ProcessDriver({
        root: defaultProcessRoot(config),
        allowUnsandboxed: config.KEEL_RUNNER_ALLOW_UNSANDBOXED,
      });
    } catch (err) {
      if (err instanceof WorkloadError) throw new CannotRunError(err.message);
      throw err;
    }
  }
  if (saved !== kind) await saveDriverChoice(config, kind);
  return driver;
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
    throw new CannotRunError(
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
  let config: RunnerConfig;
  try {
    // REDIS_URL_FILE, KEEL_RUNNER_TOKEN_FILE…: any setting may come from a mounted secret file.
    config = parseRunnerEnv(withFileVariables(env, Object.keys(RunnerEnv.shape)));
  } catch (err) {
    throw new CannotRunError(err instanceof Error ? err.message : String(err));
  }
  const driver = await chooseDriver(config);
  const capacity = {
    workspaces: config.KEEL_RUNNER_CAPACITY_WORKSPACES,
    cpus: availableParallelism(),
    memoryMb: Math.round(totalmem() / 1024 / 1024),
  };
  const saved = await loadCredential(config);
  // A saved credential says at once whether it still stands, and which driver now runs.
  if (saved && (await checkIn(config, saved, [driver.kind])) === 'revoked') {
    log('error', 'this runner was revoked by an admin', { runnerId: saved.runnerId });
    process.exit(EXIT_CODES.revoked);
  }
  const credential = saved ?? (await register(config, { drivers: [driver.kind], capacity }));
  const runner = new Runner(config, credential, driver);
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping: in-flight jobs finish first', { runnerId: runner.runnerId });
    runner.stop().then(
      () => process.exit(code),
      () => process.exit(code || EXIT_CODES.failed),
    );
    setTimeout(() => process.exit(code || EXIT_CODES.failed), 40_000).unref();
  };
  runner.onRevoked = () => shutdown(EXIT_CODES.revoked);
  runner.onCannotRun = () => shutdown(EXIT_CODES.cannotRun);
  process.on('SIGINT', () => shutdown(EXIT_CODES.stopped));
  process.on('SIGTERM', () => shutdown(EXIT_CODES.stopped));
  await runner.start();
  log('info', 'keel-runner started', {
    runnerId: runner.runnerId,
    driver: driver.kind,
    queue: credential.queueName,
  });
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(err instanceof CannotRunError ? EXIT_CODES.cannotRun : EXIT_CODES.failed);
});
