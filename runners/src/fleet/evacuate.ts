/**
 * Moving a workspace away from this runner (a drain, an admin's move): its terminals end, its
 * files are saved as the move's snapshot, its workload stops, and the edge is told it may
 * start it where it goes (the handoff). Once the edge says it moved, the copy here is removed
 * like a stale one; until then nothing here is lost: any failure before the handoff leaves the
 * workspace as it was (started again if it ran) and the job says why.
 */
import type { RunnerJob } from '@keel/contract/jobs';
import { JobError } from '../job-error.ts';
import type { RunnerContext } from '../runner-context.ts';
import { takeSnapshot } from '../snapshots/index.ts';
import type { WorkloadDriver } from '../workloads/types.ts';
import { FleetCallError, handOff } from './edge-calls.ts';
import { removeLocalCopy } from './local-copy.ts';

type EvacuateJob = Extract<RunnerJob, { type: 'workspace.evacuate' }>;

export interface EvacuateResult {
  moved: boolean;
  runnerId: string | null;
  generation: number;
  snapshotId: string;
  wasRunning: boolean;
}

export async function evacuate(job: EvacuateJob, ctx: RunnerContext): Promise<EvacuateResult> {
  const id = job.workspaceId;
  const driver = await ctx.driverFor(id);
  const state = await driver.status(id);
  if (state === 'missing') throw new JobError('not_found', 'No such workspace');
  const wasRunning = state === 'running';
  // The generation this runner holds it at is what the edge checks the handoff against.
  const generation = ctx.generations.of(id) ?? job.generation ?? 1;
  await ctx.setStatus(id, 'relocating', 'saving its files to move');
  try {
    await ctx.terminals.endWorkspace(id);
    await takeSnapshot(ctx, { workspaceId: id, snapshotId: job.snapshotId, reason: 'move', generation });
    await driver.stop(id);
  } catch (err) {
    await putBack(ctx, driver, id, wasRunning, `the move did not happen: ${message(err)}`);
    throw err instanceof JobError
      ? err
      : new JobError('internal', `the move did not happen: ${message(err)}`);
  }
  let answer: Awaited<ReturnType<typeof handOff>>;
  try {
    answer = await handOff(ctx.edge, id, { generation, snapshotId: job.snapshotId, wasRunning });
  } catch (err) {
    if (err instanceof FleetCallError && err.reason === 'refused') {
      await putBack(ctx, driver, id, wasRunning, `the edge refused the move: ${err.message}`);
      throw new JobError('conflict', `the edge refused the move: ${err.message}`);
    }
    // No answer: the edge may have moved it. Left stopped here, not started twice; the next
    // placements check removes this copy if it did move.
    await ctx.setStatus(id, 'stopped', `the move got no answer from the edge: ${message(err)}`);
    throw new JobError('unavailable', `the move got no answer from the edge: ${message(err)}`);
  }
  if (answer.moved) {
    await removeLocalCopy(
      ctx,
      id,
      `it moved to ${answer.runnerId ?? 'another runner'} at generation ${answer.generation}`,
    );
  } else {
    await putBack(ctx, driver, id, wasRunning, 'the edge kept it here');
  }
  return { ...answer, snapshotId: job.snapshotId, wasRunning };
}

/** The workspace as it was before the move began: running again if it ran. */
async function putBack(
  ctx: RunnerContext,
  driver: WorkloadDriver,
  id: string,
  wasRunning: boolean,
  why: string,
): Promise<void> {
  await ctx.workspaceLog(id, 'system', why);
  if (!wasRunning) {
    await driver.stop(id).catch(() => {});
    await ctx.setStatus(id, 'stopped', null);
    return;
  }
  await ctx.guarded(id, () => driver.start(id));
  await ctx.setStatus(id, 'running', null);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
