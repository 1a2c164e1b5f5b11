import type { RunnerJob } from '@keel/contract/jobs';
import { STREAM_TTL_SECONDS } from '@keel/contract/keys';
import { log } from '../log.ts';
import { OutputStream } from '../output-stream.ts';
import type { RunnerContext } from '../runner-context.ts';
import { fileIndexes } from '../search/file-indexes.ts';
import type { ExecHandle, WorkloadDriver } from '../workloads/types.ts';
import { foreignDriverReason, parseStatus } from '../workspace-watch.ts';

/** Output accepted from a command but not yet in Redis, before the command is paused. */
const OUTPUT_BACKLOG_BYTES = 4 * 1024 * 1024;

export interface RunningExecution {
  handle: ExecHandle;
  workspaceId: string;
  cancelled: boolean;
  /** Settles once the exit is written and the execution is forgotten. */
  finished?: Promise<void>;
}

/**
 * Runs a command and pumps its output into its stream, ending it with the exit. Answers as
 * soon as the command started; a refusal ends the stream instead, since someone reads it.
 */
export async function execStart(
  job: Extract<RunnerJob, { type: 'exec.start' }>,
  ctx: RunnerContext,
): Promise<unknown> {
  // BullMQ delivers a job again when its runner died before marking it done, whatever its
  // attempts. The first delivery claims the execution and lists it as running in one step,
  // so a later delivery never runs the command twice, and a restart closes its stream.
  const now = Date.now();
  const listed = ctx.keys.workspaceExecs(job.workspaceId);
  const [[, claimed]] = (await ctx.redis
    .multi()
    .set(ctx.keys.execClaimed(job.executionId), '1', 'EX', STREAM_TTL_SECONDS, 'NX')
    .sadd(ctx.keys.execsRunning, job.executionId)
    // By start time, and only as far back as output lives: a busy workspace's list stays short.
    .zadd(listed, now, job.executionId)
    .zremrangebyscore(listed, '-inf', now - STREAM_TTL_SECONDS * 1000)
    .expire(listed, STREAM_TTL_SECONDS)
    .exec()) as [[Error | null, string | null], ...unknown[]];
  if (claimed !== 'OK') return { started: false, duplicate: true };
  const out = new OutputStream(ctx.redis, ctx.keys.execStream(job.executionId), {
    maxBytes: ctx.config.KEEL_EXEC_OUTPUT_MAX_BYTES,
    // Past the cap (or once Redis is full) the output has nowhere to go: the command stops.
    onStop: () =>
      void ctx.execs
        .get(job.executionId)
        ?.handle.kill()
        .catch((err) => log('warn', 'could not stop a command', { error: String(err) })),
  });
  const foreign = ctx.foreign.get(job.workspaceId);
  if (foreign) {
    await ctx.redis.srem(ctx.keys.execsRunning, job.executionId);
    await out.end({
      exitCode: null,
      error: `unavailable: ${foreignDriverReason(foreign, ctx.driver.kind)}`,
    });
    return { started: false };
  }
  let driver: WorkloadDriver;
  let running: boolean;
  try {
    driver = await ctx.driverFor(job.workspaceId);
    await reviveIfExpected(ctx, driver, job.workspaceId);
    running = (await driver.status(job.workspaceId)) === 'running';
  } catch (err) {
    // Its server is out of reach: the stream says so, as it does for another driver's workspace.
    const trouble = ctx.serverTrouble(job.workspaceId, err);
    if (!trouble) throw err;
    await ctx.redis.srem(ctx.keys.execsRunning, job.executionId);
    await out.end({ exitCode: null, error: `unavailable: ${trouble.message}` });
    return { started: false };
  }
  if (!running) {
    await ctx.redis.srem(ctx.keys.execsRunning, job.executionId);
    await out.end({ exitCode: null, error: 'the workspace is not running; start it first' });
    return { started: false };
  }
  ctx.touch(job.workspaceId);
  const handle = driver.exec(job.workspaceId, {
    argv: job.argv,
    ...(job.cwd ? { cwd: job.cwd } : {}),
    ...(job.env ? { env: job.env } : {}),
    timeoutMs: job.timeoutMs,
  });
  const entry: RunningExecution = { handle, workspaceId: job.workspaceId, cancelled: false };
  ctx.execs.set(job.executionId, entry);
  const pump = (kind: 'stdout' | 'stderr') =>
    new Promise<void>((resolve) => {
      const stream = handle[kind];
      stream.on('data', (chunk: Buffer) => {
        out.write(kind, chunk);
        // Redis may be slower than a fast producer: past a few batches in flight, wait.
        if (out.backlogBytes() > OUTPUT_BACKLOG_BYTES && !stream.isPaused()) {
          stream.pause();
          void out.flush().then(() => stream.resume());
        }
      });
      stream.on('end', resolve);
      stream.on('error', () => resolve());
    });
  entry.finished = (async () => {
    const pumps = Promise.all([pump('stdout'), pump('stderr')]);
    let exit: Parameters<OutputStream['end']>[0];
    try {
      const result = await handle.done;
      exit = {
        exitCode: result.exitCode,
        ...(result.signal ? { signal: result.signal } : {}),
        ...(result.timedOut ? { timedOut: true } : {}),
        ...(entry.cancelled ? { cancelled: true } : {}),
      };
    } catch (err) {
      exit = { exitCode: null, error: err instanceof Error ? err.message : String(err) };
    }
    await Promise.race([pumps, new Promise((r) => setTimeout(r, 2_000))]);
    // The command may have changed files: trees cached at the edge are stale now. Bumped
    // before the exit is written, so a client that saw the exit never reads a stale tree.
    await ctx.redis
      .incr(ctx.keys.workspaceFilesVersion(job.workspaceId))
      .catch((err) => log('warn', 'files version not bumped', { error: String(err) }));
    fileIndexes(ctx).stale(job.workspaceId);
    await out.end(exit);
    ctx.execs.delete(job.executionId);
    ctx.touch(job.workspaceId);
    await ctx.redis.srem(ctx.keys.execsRunning, job.executionId);
  })().catch((err) => log('error', 'exec stream failed', { error: String(err) }));
  return { started: true };
}

/**
 * A workspace Keel last reported running whose container stopped behind its back (the
 * engine, an OOM, a runner crash) is started again before a command runs in it, so the
 * person sees what the status promised.
 */
async function reviveIfExpected(
  ctx: RunnerContext,
  driver: WorkloadDriver,
  workspaceId: string,
): Promise<void> {
  if ((await driver.status(workspaceId)) !== 'stopped') return;
  await ctx.busyWith(workspaceId, async () => {
    if (parseStatus(await ctx.redis.get(ctx.keys.workspaceStatus(workspaceId)))?.status !== 'running') return;
    await ctx.workspaceLog(
      workspaceId,
      'system',
      'the workspace had stopped unexpectedly; starting it again',
    );
    await driver.start(workspaceId);
    // A heartbeat that looked while it was down may have published `stopped` meanwhile.
    await ctx.setStatus(workspaceId, 'running', null, false);
  });
}
