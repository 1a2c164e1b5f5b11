import { JobError } from '../job-error.ts';
import { checkRestorable, describeAge, restoreSnapshot, takeSnapshot } from '../snapshots/index.ts';
import { pruneSnapshots } from '../snapshots/prune.ts';
import { storeFor } from '../snapshots/store-access.ts';
import type { JobHandlers } from './table.ts';

// Jobs of edges from before fencing carry no generation: the first placement's.
const generationOf = (job: { generation?: number | undefined }) => job.generation ?? 1;

export const snapshotHandlers = {
  'workspace.snapshot': (job, ctx) =>
    takeSnapshot(ctx, {
      workspaceId: job.workspaceId,
      snapshotId: job.snapshotId,
      reason: job.reason,
      generation: generationOf(job),
    }),

  /**
   * Replaces the workspace's files: the snapshot is checked first (a refused one changes
   * nothing), then the workspace is stopped (its commands and terminals end), started bare,
   * filled, and left as it was: running, or stopped again.
   */
  'workspace.restore': async (job, ctx) => {
    const id = job.workspaceId;
    const driver = await ctx.driverFor(id);
    const was = await driver.status(id);
    if (was === 'missing') throw new JobError('not_found', 'No such workspace');
    const checked = await checkRestorable(ctx, job.snapshotId);
    await ctx.setStatus(id, 'stopping', `restoring snapshot ${job.snapshotId}`);
    await ctx.terminals.endWorkspace(id);
    await ctx.languageServers.endWorkspace(id);
    let restored = { files: 0, bytes: 0 };
    await ctx.guarded(id, async () => {
      await driver.stop(id);
      await ctx.setStatus(id, 'starting', `restoring snapshot ${job.snapshotId}`);
      await driver.start(id);
      restored = await restoreSnapshot(ctx, id, job.snapshotId, { checked });
      if (was !== 'running') await driver.stop(id);
    });
    await ctx.workspaceLog(
      id,
      'system',
      `restored snapshot ${job.snapshotId} (${restored.files} file(s)); its files are ${describeAge(job.snapshotTakenAt ?? checked.manifest.takenAt)}`,
    );
    await ctx.setStatus(id, was === 'running' ? 'running' : 'stopped', null);
    return { snapshotId: job.snapshotId, ...restored };
  },

  'snapshots.prune': async (job, ctx) => {
    const { store } = await storeFor(ctx);
    return pruneSnapshots(store, job.snapshotIds, { collectChunks: job.collectChunks });
  },
} satisfies Partial<JobHandlers>;
