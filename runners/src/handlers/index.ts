import { type JobOutcome, RunnerJob } from '@keel/contract/jobs';
import { formatTraceparent } from '@keel/contract/trace';
import { removeLocalCopy } from '../fleet/local-copy.ts';
import { gitPushJob } from '../git-push.ts';
import { failedOutcome } from '../job-error.ts';
import { type JobSpan, jobSpanOf, logJob } from '../job-log.ts';
import { type JobPath, recorder } from '../metrics/recorder.ts';
import type { RunnerContext } from '../runner-context.ts';
import { aiHandlers } from './ai.ts';
import { executionHandlers } from './executions.ts';
import { fileHandlers } from './files.ts';
import { fleetHandlers } from './fleet.ts';
import { gitHandlers } from './git.ts';
import { lspHandlers } from './lsp.ts';
import { patchHandlers } from './patch.ts';
import { previewHandlers } from './preview.ts';
import { searchHandlers } from './search.ts';
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
  ...previewHandlers,
  ...lspHandlers,
  ...serverHandlers,
  ...snapshotHandlers,
  ...fleetHandlers,
  ...searchHandlers,
  'git.push': gitPushJob,
  ...gitHandlers,
};

/**
 * A BullMQ job, or a call from the call list: the same handlers serve both. `trace` is what the
 * job carries of the request it serves (contract/trace); each job is logged in one line with it,
 * and counted by `path` when metrics are on.
 */
export async function processJob(
  data: unknown,
  ctx: RunnerContext,
  trace?: unknown,
  path: JobPath = 'jobs',
): Promise<JobOutcome> {
  const metrics = recorder();
  const started = performance.now();
  const span = jobSpanOf(trace);
  const parsed = RunnerJob.safeParse(data);
  if (!parsed.success) {
    const refused: JobOutcome = { ok: false, error: { code: 'invalid', message: 'unreadable job' } };
    logJob(undefined, span, refused, performance.now() - started);
    metrics.job(path, 'invalid', 'refused', 0);
    return refused;
  }
  const job = parsed.data;
  const named = {
    type: job.type,
    ...('workspaceId' in job && job.workspaceId ? { workspaceId: job.workspaceId } : {}),
  };
  try {
    const done: JobOutcome = { ok: true, result: await tracked(job, withTrace(ctx, span)) };
    const ms = performance.now() - started;
    logJob(named, span, done, ms);
    if (metrics.enabled) metrics.job(path, job.type, 'ok', ms / 1000);
    return done;
  } catch (err) {
    const outcome = failedOutcome(err);
    const ms = performance.now() - started;
    logJob(named, span, outcome ?? 'threw', ms);
    if (metrics.enabled) {
      const label =
        outcome && outcome.ok === false && outcome.error.code !== 'internal' ? 'refused' : 'error';
      metrics.job(path, job.type, label, ms / 1000);
    }
    if (outcome) return outcome;
    // Unexpected: let BullMQ record and retry it (lifecycle jobs are idempotent).
    throw err;
  }
}

/**
 * The context a job runs with: the runner's own, but its calls to the edge carry the job's trace
 * (see edge-call.ts). A view over the shared context, not a copy: its maps and methods are the
 * runner's (nothing assigns to a context after its construction).
 */
function withTrace(ctx: RunnerContext, span: JobSpan): RunnerContext {
  const edge = { ...ctx.edge, traceparent: formatTraceparent(span.span) };
  return Object.create(ctx, { edge: { value: edge } }) as RunnerContext;
}

/** A one-way call taken too late: it does not start, and whoever watches it is told. */
export async function expireJob(data: unknown, ctx: RunnerContext): Promise<void> {
  const parsed = RunnerJob.safeParse(data);
  if (!parsed.success) return;
  const job = parsed.data;
  if (job.type === 'ai.explain' || job.type === 'ai.rewrite' || job.type === 'ai.chat')
    await ctx.ai.expired(job);
}

/** Jobs that change what a workspace is: one at a time per workspace, in order, fenced. */
type LifecycleJob = Extract<RunnerJob, { type: `workspace.${string}` }>;

function isLifecycle(job: RunnerJob): job is LifecycleJob {
  return job.type.startsWith('workspace.');
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
    if (!isLifecycle(job)) return await handle(job, ctx);
    // Entered before any await: the job's place in its workspace's order is when it was taken,
    // so a start taken while the create runs waits for it, on every driver and any concurrency.
    return await ctx.busyWith(workspaceId, () => ctx.lifecycleQueue.run(workspaceId, () => inTurn(job, ctx)));
  } catch (err) {
    // A server out of reach is a refusal saying so, not an error to retry blindly.
    throw ctx.serverTrouble(workspaceId, err) ?? err;
  }
}

/** A lifecycle job once its turn came: fenced against the generation held, then run. */
async function inTurn(job: LifecycleJob, ctx: RunnerContext): Promise<unknown> {
  const id = job.workspaceId;
  if (job.type === 'workspace.create') {
    const replaced = ctx.generations.assertCreate(id, job.generation);
    if (replaced !== undefined) {
      await removeLocalCopy(
        ctx,
        id,
        `a create at generation ${job.generation} replaces generation ${replaced}`,
      );
    }
    await ctx.generations.claim(id, job.generation);
  } else {
    ctx.generations.assertCurrent(id, job.generation, `this ${job.type} job`);
  }
  const result = await handle(job, ctx);
  if (job.type === 'workspace.delete') await ctx.generations.forget(id, false);
  return result;
}

function handle(job: RunnerJob, ctx: RunnerContext): Promise<unknown> {
  // Each handler takes its own job type; the table's type pairs them.
  const handler = jobHandlers[job.type] as (job: RunnerJob, ctx: RunnerContext) => unknown;
  return Promise.resolve(handler(job, ctx));
}
