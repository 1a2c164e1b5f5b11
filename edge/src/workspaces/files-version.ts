import { runnerKeys } from '@keel/contract/keys';
import type { Services } from '../services.ts';
import type { WorkspaceRow } from './access.ts';
import { invalidate, treeScope } from './cache.ts';

/** The runner bumps this when a command ends, so trees cached before it are dropped too. */
export function filesVersionKey(services: Services, row: WorkspaceRow): string {
  return runnerKeys(services.config.redisPrefix, row.runnerId ?? 'none').workspaceFilesVersion(row.id);
}

/** After any change to a workspace's files: every cached tree of it is stale at once. */
export async function filesChanged(services: Services, row: WorkspaceRow): Promise<void> {
  await invalidate(services, treeScope(row), filesVersionKey(services, row));
}
