import { type JobOutcome, RunnerJob } from '@keel/contract/jobs';
import { failedOutcome } from '../job-error.ts';
import type { RunnerContext } from '../runner-context.ts';
import { aiHandlers } from './ai.ts';
import { executionHandlers } from './executions.ts';
import { fileHandlers } from './files.ts';
import { fleetHandlers } from './fleet.ts';
import { patchHandlers } from './patch.ts';
import { serverHandlers } from './servers.ts';
import { snapshotHandlers } from './snapshots.ts';
import type { JobHandlers } from './table.ts';
import { terminalHandlers } from './terminal.ts';
import { workspaceHandlers } from './workspaces.ts';

/** The one table from job type to handler. */
export const jobHandlers: JobHandlers = {
  noop: () => ({}),
  ...workspaceHandlers,
  ...executionHandlers,
  ...fileHandlers,
  ...patchHandlers,
  ...aiHandlers,
  ...terminalHandlers,
  ...serverHandlers,
  ...snapshotHandlers,
  ...fleetHandlers,
};

/** A BullMQ job, or a call from the call list: the same handlers serve both. */
export async function processJob(data: unknown, ctx: RunnerContext): Promise<JobOutcome> {
  const parsed = RunnerJob.safeParse(data);
  if (!parsed.success) return { ok: false, error: { code: 'invalid', message: 'unreadable job' } };
  try {
    return { ok: true, result: await tracked(parsed.data, ctx) };
  } catch (err) {
    const outcome = failedOutcome(err);
    if (outcome) return outcome;
    // Unexpected: let BullMQ record and retry it (lifecycle jobs are idempotent).
    throw err;
  }
}

/** A one-way call taken too late: it does not start, and whoever watches it is told. */
export async function expireJob(data: unknown, ctx: RunnerContext): Promise<void> {
  const parsed = RunnerJob.safeParse(data);
  if (!parsed.success) return;
  const job = parsed.data;
  if (job.type === 'ai.explain' || job.type === 'ai.rewrite' || job.type === 'ai.chat')
    await ctx.ai.expired(job);
}

/** Runs a job, marking its workspace busy for the heartbeat while a lifecycle job changes it. */
async function tracked(job: RunnerJob, ctx: RunnerContext): Promise<unknown> {
  // A command's refusal ends its stream instead (see execStart): someone reads it.
  const own = job.type === 'workspace.create' || job.type === 'workspace.delete' || job.type === 'exec.start';
  if ('workspaceId' in job && job.workspaceId && !own) {
    ctx.assertServable(job.workspaceId);
  }
  if (!('workspaceId' in job) || !job.workspaceId) return handle(job, ctx);
  const workspaceId = job.workspaceId;
  try {
    if (!job.type.startsWith('workspace.')) return await handle(job, ctx);
    return await ctx.busyWith(workspaceId, () => handle(job, ctx));
  } catch (err) {
    // A server out of reach is a refusal saying so, not an error to retry blindly.
    throw ctx.serverTrouble(workspaceId, err) ?? err;
  }
}

function handle(job: RunnerJob, ctx: RunnerContext): Promise<unknown> {
  // Each handler takes its own job type; the table's type pairs them.
  const handler = jobHandlers[job.type] as (job: RunnerJob, ctx: RunnerContext) => unknown;
  return Promise.resolve(handler(job, ctx));
}
