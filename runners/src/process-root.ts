import { join, resolve } from 'node:path';
import type { RunnerConfig } from './env.ts';
import { sha256 } from './sha256.ts';

/**
 * Where the process driver keeps workspace folders. As root, the sandbox user must be able
 * to walk down to its folder, which a data folder under a private home (e.g. /root) does
 * not allow; so root runners keep them under /var/lib/keel, one folder per data folder.
 */
export function defaultProcessRoot(
  config: Pick<RunnerConfig, 'KEEL_RUNNER_WORKSPACES_DIR' | 'KEEL_RUNNER_DATA_DIR'>,
): string {
  if (config.KEEL_RUNNER_WORKSPACES_DIR) return config.KEEL_RUNNER_WORKSPACES_DIR;
  if (process.getuid?.() !== 0) return join(config.KEEL_RUNNER_DATA_DIR, 'workspaces');
  const tag = sha256(resolve(config.KEEL_RUNNER_DATA_DIR)).slice(0, 12);
  return join('/var/lib/keel/workspaces', tag);
}
