import type { Services } from '../services.ts';
import type { WorkspaceRow } from '../workspaces/access.ts';
import { addUsage } from './rollup-write.ts';

/**
 * Counts a command the edge accepted into its workspace's hour and day. The command is queued
 * already: a failed count is logged, never turned into an error for a command that runs.
 */
export async function countCommand(services: Services, row: WorkspaceRow): Promise<void> {
  try {
    await addUsage(services.db, [
      {
        owner: { workspaceId: row.id, organizationId: row.organizationId, userId: row.ownerId },
        at: services.clock.now(),
        add: { commands: 1 },
      },
    ]);
  } catch (err) {
    console.error(JSON.stringify({ level: 'warn', msg: 'command not counted in usage', error: String(err) }));
  }
}
