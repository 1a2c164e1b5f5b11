/**
 * Queue and key names shared by edge and runners. Everything a runner touches lives
 * under `<prefix>runner.<runnerId>:`, so a Redis ACL user per runner can confine it.
 */
export function bullPrefixOf(keyPrefix: string): string {
  return keyPrefix.replace(/:$/, '');
}

export function runnerQueueName(runnerId: string): string {
  return `runner.${runnerId}`;
}

export function runnerKeys(keyPrefix: string, runnerId: string) {
  const base = `${keyPrefix}runner.${runnerId}:`;
  return {
    base,
    heartbeat: `${base}heartbeat`,
    workspaceStatus: (workspaceId: string) => `${base}ws:${workspaceId}:status`,
    workspaceLogs: (workspaceId: string) => `${base}ws:${workspaceId}:logs`,
    /** Bumped whenever the workspace's files may have changed (writes, finished commands). */
    workspaceFilesVersion: (workspaceId: string) => `${base}ws:${workspaceId}:files-version`,
    execStream: (executionId: string) => `${base}exec:${executionId}`,
    execMeta: (executionId: string) => `${base}exec:${executionId}:meta`,
  };
}

/** Output streams are capped and expire: output that matters is read within this window. */
export const STREAM_MAX_ENTRIES = 200_000;
export const STREAM_TTL_SECONDS = 24 * 3600;
export const LOG_MAX_ENTRIES = 5_000;
