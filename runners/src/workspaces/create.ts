import type { RunnerJob } from '@keel/contract/jobs';
import { CloneError, gitClone } from '../git-clone.ts';
import type { RunnerContext } from '../runner-context.ts';
import { foreignDriverReason } from '../workspace-watch.ts';

/** Makes a workspace on the driver, fills it from its source, and starts it. */
export async function createWorkspace(
  job: Extract<RunnerJob, { type: 'workspace.create' }>,
  ctx: RunnerContext,
): Promise<unknown> {
  const id = job.workspaceId;
  ctx.touch(id);
  // Listed first: a workspace whose create was cut short is still this runner's to report.
  const driver = job.spec.driver ?? ctx.driver.kind;
  await ctx.redis.multi().sadd(ctx.keys.workspaces, id).hset(ctx.keys.workspaceDrivers, id, driver).exec();
  if (driver !== ctx.driver.kind) {
    ctx.foreign.set(id, driver);
    await ctx.setStatus(id, 'unavailable', foreignDriverReason(driver, ctx.driver.kind));
    ctx.assertServable(id);
  }
  await ctx.setStatus(id, 'creating', null);
  await ctx.guarded(id, async () => {
    await ctx.driver.create({
      workspaceId: id,
      ...(job.spec.image ? { image: job.spec.image } : {}),
      cpus: job.spec.cpus,
      memoryMb: job.spec.memoryMb,
      network: job.spec.network,
      ...(job.spec.egressAllow ? { egressAllow: job.spec.egressAllow } : {}),
      storage: job.spec.hostDir ? { kind: 'hostDir', path: job.spec.hostDir } : { kind: 'volume' },
    });
    if (job.source.type === 'git') {
      const source = job.source;
      await ctx.workspaceLog(id, 'system', `cloning ${source.url}${source.ref ? ` at ${source.ref}` : ''}`);
      let lastLogged = 0;
      try {
        await gitClone({
          url: source.url,
          ...(source.ref ? { ref: source.ref } : {}),
          into: await ctx.driver.workspaceRoot(id),
          owner: ctx.driver.fileOwner,
          allowLocal: ctx.config.KEEL_RUNNER_ALLOW_LOCAL_GIT,
          onProgress: (line) => {
            // Progress lines come many times a second; a few per second reach the log.
            const now = Date.now();
            if (now - lastLogged < 250 && !/done|error|fatal/i.test(line)) return;
            lastLogged = now;
            void ctx.workspaceLog(id, 'stderr', line);
          },
        });
      } catch (err) {
        throw new Error(err instanceof CloneError ? `clone failed: ${err.message}` : String(err));
      }
    }
    await ctx.setStatus(id, 'starting', null);
    await ctx.driver.start(id);
  });
  await ctx.setStatus(id, 'running', null);
  return {};
}
