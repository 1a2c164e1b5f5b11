import type { RunnerJob } from '@keel/contract/jobs';
import { CloneError, gitClone } from '../git-clone.ts';
import { GitCredentialError, gitAuthFor } from '../git-credentials.ts';
import { JobError } from '../job-error.ts';
import type { RunnerContext } from '../runner-context.ts';
import { checkRestorable, describeAge, restoreSnapshot } from '../snapshots/index.ts';
import { type WorkloadDriver, WorkloadError, type WorkloadSpec } from '../workloads/types.ts';
import { foreignDriverReason } from '../workspace-watch.ts';
import { cloneThroughFiles } from './clone-through-files.ts';

type CreateJob = Extract<RunnerJob, { type: 'workspace.create' }>;

/** Makes a workspace on its driver (this runner's, or its server's), fills it from its source, and starts it. */
export async function createWorkspace(job: CreateJob, ctx: RunnerContext): Promise<unknown> {
  const id = job.workspaceId;
  const serverId = job.spec.serverId;
  ctx.touch(id);
  // Listed first: a workspace whose create was cut short is still this runner's to report.
  const tx = ctx.redis.multi().sadd(ctx.keys.workspaces, id);
  if (serverId) tx.hset(ctx.keys.workspaceServers, id, serverId);
  const kind = job.spec.driver ?? (serverId ? undefined : ctx.driver.kind);
  if (kind) tx.hset(ctx.keys.workspaceDrivers, id, kind);
  await tx.exec();
  if (serverId) ctx.workspaceServer.set(id, serverId);
  else if (kind && kind !== ctx.driver.kind) {
    ctx.foreign.set(id, kind);
    await ctx.setStatus(id, 'unavailable', foreignDriverReason(kind, ctx.driver.kind));
    ctx.assertServable(id);
  }
  const moving = job.relocation ? relocationReason(job.relocation.reason) : undefined;
  // While it moves, every step reads `relocating` ("moving" to people), with what it is doing.
  const status = (step: 'creating' | 'starting', doing: string | null) =>
    moving
      ? ctx.setStatus(id, 'relocating', doing ? `${moving}: ${doing}` : moving)
      : ctx.setStatus(id, step, doing);
  await status('creating', null);
  let driver: WorkloadDriver;
  try {
    driver = await ctx.driverFor(id);
  } catch (err) {
    // Nothing exists on the server yet: the create failed, and says why.
    const reason = err instanceof Error ? err.message : String(err);
    await ctx.setStatus(id, 'failed', reason);
    throw err instanceof JobError ? err : new JobError('unavailable', reason);
  }
  if (!kind) await ctx.redis.hset(ctx.keys.workspaceDrivers, id, driver.kind);
  await ctx.guarded(id, async () => {
    await driver.create(workloadSpec(job));
    const start = async () => {
      await status('starting', null);
      await driver.start(id);
    };
    if (job.source.type === 'git') await clone(ctx, driver, id, job.source, start);
    else if (job.source.type === 'snapshot')
      await restoreInto(ctx, id, job, job.source.snapshotId, status, start);
    else if (job.start !== false) await start();
    // A stopped workspace that moves stays stopped.
    if (job.start === false) await driver.stop(id);
  });
  await ctx.setStatus(id, job.start === false ? 'stopped' : 'running', null);
  return {};
}

function relocationReason(reason: 'lost' | 'drain' | 'manual'): string {
  if (reason === 'lost') return 'moving here: its host was lost';
  if (reason === 'drain') return 'moving here: its host is being drained';
  return 'moving here: an admin moved it';
}

/**
 * Fills the new workload from a snapshot: checked before anything runs, restored inside the
 * started workload (the files are written in its own view), with a line in its log that says
 * how old the restored files are.
 */
async function restoreInto(
  ctx: RunnerContext,
  id: string,
  job: CreateJob,
  snapshotId: string,
  status: (step: 'creating' | 'starting', doing: string | null) => Promise<void>,
  start: () => Promise<void>,
): Promise<void> {
  await status('creating', `restoring snapshot ${snapshotId}`);
  const checked = await checkRestorable(ctx, snapshotId);
  await start();
  const restored = await restoreSnapshot(ctx, id, snapshotId, { checked });
  await ctx.workspaceLog(
    id,
    'system',
    `restored snapshot ${snapshotId} (${restored.files} file(s)); its files are ${describeAge(job.snapshotTakenAt ?? checked.manifest.takenAt)}`,
  );
}

function workloadSpec(job: CreateJob): WorkloadSpec {
  const s = job.spec;
  return {
    workspaceId: job.workspaceId,
    ...(s.image ? { image: s.image } : {}),
    cpus: s.cpus,
    memoryMb: s.memoryMb,
    network: s.network,
    ...(s.egressAllow ? { egressAllow: s.egressAllow } : {}),
    storage: s.hostDir ? { kind: 'hostDir', path: s.hostDir } : { kind: 'volume' },
    ...(s.organizationId ? { organizationId: s.organizationId } : {}),
    ...(s.diskGb ? { diskGb: s.diskGb } : {}),
    ...(s.gpus ? { gpus: s.gpus } : {}),
  };
}

/**
 * Clones on this host, then starts the workspace (`start`): straight into the workspace's folder
 * where the driver has one here, otherwise into a folder of the runner's that is copied in
 * through the driver's files once the workspace runs (a remote workspace's files are reachable
 * only then). Either way a clone that fails leaves the workspace stopped, and one that succeeds
 * leaves it running.
 */
async function clone(
  ctx: RunnerContext,
  driver: WorkloadDriver,
  id: string,
  source: Extract<CreateJob['source'], { type: 'git' }>,
  start: () => Promise<void>,
): Promise<void> {
  await ctx.workspaceLog(id, 'system', `cloning ${source.url}${source.ref ? ` at ${source.ref}` : ''}`);
  let lastLogged = 0;
  const onProgress = (line: string) => {
    // Progress lines come many times a second; a few per second reach the log.
    const now = Date.now();
    if (now - lastLogged < 250 && !/done|error|fatal/i.test(line)) return;
    lastLogged = now;
    void ctx.workspaceLog(id, 'stderr', line);
  };
  // The owner's token for the host, if they keep one: asked of the edge now, held only for this clone.
  const auth = await cloned(
    gitAuthFor(ctx.edge, id, source.url, 'clone', ctx.config.KEEL_RUNNER_ALLOW_LOCAL_GIT),
  );
  if (auth) await ctx.workspaceLog(id, 'system', 'using your Git host token for this host');
  const options = {
    url: source.url,
    ...(source.ref ? { ref: source.ref } : {}),
    allowLocal: ctx.config.KEEL_RUNNER_ALLOW_LOCAL_GIT,
    ...(auth ? { auth } : {}),
    onProgress,
  };
  const root = await hostRoot(driver, id);
  if (root) {
    await cloned(gitClone({ ...options, into: root, owner: driver.fileOwner }));
    await start();
    return;
  }
  let starting = false;
  let started = false;
  const open = async () => {
    starting = true;
    await start();
    started = true;
    return driver.files(id);
  };
  let copied: { skippedLinks: number };
  try {
    copied = await cloneThroughFiles(open, options);
  } catch (err) {
    if (!starting) throw cloneFailure(err);
    // The start's own errors (a server out of reach) are not the clone's.
    if (!started) throw err;
    // Half copied: stopped again, as a workspace whose clone failed is left.
    await driver.stop(id).catch(() => {});
    throw cloneFailure(err);
  }
  if (copied.skippedLinks > 0) {
    await ctx.workspaceLog(
      id,
      'system',
      `${copied.skippedLinks} symbolic link(s) of the repository were not copied: links are not carried to this server`,
    );
  }
}

async function cloned<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw cloneFailure(err);
  }
}

function cloneFailure(err: unknown): Error {
  if (err instanceof CloneError) return new Error(`clone failed: ${err.message}`);
  if (err instanceof GitCredentialError) return new Error(`clone failed: ${err.message}`);
  return new Error(String(err));
}

/** The workspace's folder on this host, or undefined for a driver whose files are elsewhere. */
async function hostRoot(driver: WorkloadDriver, id: string): Promise<string | undefined> {
  try {
    return await driver.workspaceRoot(id);
  } catch (err) {
    if (err instanceof WorkloadError && err.code === 'DRIVER_UNAVAILABLE') return undefined;
    throw err;
  }
}
