/*
 * Makes the real Docker engine and the workspace image available to the runner tests,
 * through the same scripts CI and operators use. Runs once per test process; the
 * scripts are no-ops when the engine answers and the image exists.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const workspaceImage = process.env.KEEL_WORKSPACE_IMAGE ?? 'keel-workspace:bookworm';

let ready: Promise<void> | undefined;

export function ensureDockerAndImage(): Promise<void> {
  ready ??= (async () => {
    const opts = { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 };
    await run('bash', ['-c', 'source scripts/lib/docker-engine.sh && keel_docker_ensure'], opts);
    await run(path.join(repoRoot, 'scripts/build-workspace-image'), [], opts);
  })();
  return ready;
}

/** `docker` CLI, for checks that should not trust the driver's own view. */
export async function dockerCli(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Removes leftovers of an earlier, interrupted run that used the same id prefix. */
export async function removeStale(prefix: string): Promise<void> {
  const names = (await dockerCli('ps', '-a', '--format', '{{.Names}}', '--filter', `name=keel-ws-${prefix}`))
    .split('\n')
    .filter(Boolean);
  if (names.length > 0) await dockerCli('rm', '-f', ...names);
  const vols = (await dockerCli('volume', 'ls', '-q', '--filter', `name=keel-ws-${prefix}`))
    .split('\n')
    .filter(Boolean);
  if (vols.length > 0) await dockerCli('volume', 'rm', '-f', ...vols);
}
