/**
 * Snapshots of a workspace's `/workspace` in the snapshot store (see contract/snapshots): taken
 * from a tar stream read inside the workspace, cut into content-addressed chunks, and restored
 * by a tar stream written inside it, every entry checked first.
 */
import type {
  RunnerCompleteSnapshotRequest,
  SnapshotJobResult,
  SnapshotReason,
} from '@keel/contract/snapshots';
import { JobError } from '../job-error.ts';
import { log } from '../log.ts';
import type { RunnerContext } from '../runner-context.ts';
import { ServerAccessError } from '../servers/access.ts';
import type { WorkloadDriver } from '../workloads/types.ts';
import { completeSnapshot } from './edge-calls.ts';
import { type CheckedSnapshot, checkSnapshot, restoreWorkspace, saveWorkspace } from './engine.ts';
import type { SnapshotStore } from './store.ts';
import { storeFor } from './store-access.ts';

export interface TakeSnapshot {
  workspaceId: string;
  snapshotId: string;
  reason: SnapshotReason;
  /** The generation the runner holds the workspace at, sent with the report (fencing). */
  generation: number;
}

/** What tests pass instead of the edge: the store, and where the report goes. */
export interface SnapshotDeps {
  store?: SnapshotStore;
  report?: (snapshotId: string, report: RunnerCompleteSnapshotRequest) => Promise<unknown>;
}

/**
 * Saves the workspace's files as snapshot `snapshotId` (pending at the edge) and reports it
 * complete (or failed) to the edge. A stopped workspace is started for the read (its network as
 * it was) and stopped again.
 */
export async function takeSnapshot(
  ctx: RunnerContext,
  take: TakeSnapshot,
  deps: SnapshotDeps = {},
): Promise<SnapshotJobResult> {
  const { workspaceId: id, snapshotId, generation } = take;
  const report = deps.report ?? ((sid, r) => completeSnapshot(ctx.edge, sid, r));
  let saved: Awaited<ReturnType<typeof saveWorkspace>>;
  try {
    const store = deps.store ?? (await storeFor(ctx)).store;
    const driver = await ctx.driverFor(id);
    saved = await whileRunning(driver, id, () => saveWorkspace(driver, id, snapshotId, store));
  } catch (err) {
    const failure = asJobError(err, 'the snapshot failed');
    await report(snapshotId, {
      ok: false,
      workspaceId: id,
      generation,
      error: failure.message.slice(0, 1000),
    }).catch((e) =>
      log('warn', 'a failed snapshot could not be reported', {
        workspaceId: id,
        snapshotId,
        error: String(e),
      }),
    );
    await ctx.workspaceLog(id, 'system', `snapshot ${snapshotId} failed: ${failure.message}`).catch(() => {});
    throw failure;
  }
  const result: SnapshotJobResult = {
    snapshotId,
    files: saved.files,
    bytes: saved.bytes,
    bytesWritten: saved.bytesWritten,
    takenAt: saved.takenAt,
  };
  try {
    await report(snapshotId, { ok: true, workspaceId: id, generation, ...withoutId(result) });
  } catch (err) {
    // Fenced: the workspace moved on; the chunks stay for the prune. Unreachable: retried (cheap,
    // as every chunk is now in the store).
    if (err instanceof ServerAccessError && err.reason === 'refused') {
      throw new JobError(err.status === 409 ? 'fenced' : 'invalid', err.message);
    }
    throw err;
  }
  const skipped = [
    saved.skippedLinks > 0 ? `${saved.skippedLinks} link(s) leading outside /workspace` : '',
    saved.skippedOther > 0 ? `${saved.skippedOther} entry(ies) that are not files, folders or links` : '',
  ].filter(Boolean);
  await ctx.workspaceLog(
    id,
    'system',
    `snapshot ${snapshotId} saved (${take.reason}): ${saved.files} file(s), ${mb(saved.bytes)}, ${mb(saved.bytesWritten)} new${skipped.length ? `; not saved: ${skipped.join(', ')}` : ''}`,
  );
  return result;
}

/**
 * Replaces the running workspace's `/workspace` with the snapshot's files. Every manifest entry
 * is checked first: none may write outside `/workspace`, and a refused snapshot leaves the
 * workspace untouched (JobError `invalid`).
 */
export async function restoreSnapshot(
  ctx: RunnerContext,
  workspaceId: string,
  snapshotId: string,
  deps: Pick<SnapshotDeps, 'store'> & { checked?: CheckedSnapshot } = {},
): Promise<{ files: number; bytes: number }> {
  try {
    const store = deps.store ?? (await storeFor(ctx)).store;
    const driver = await ctx.driverFor(workspaceId);
    const { files, bytes } = await restoreWorkspace(driver, workspaceId, snapshotId, store, deps.checked);
    ctx.roots.delete(workspaceId);
    return { files, bytes };
  } catch (err) {
    throw asJobError(err, 'the restore failed');
  }
}

/**
 * Reads and checks a snapshot before a restore changes anything (the restore job stops the
 * workspace only once its snapshot passed).
 */
export async function checkRestorable(
  ctx: RunnerContext,
  snapshotId: string,
  deps: Pick<SnapshotDeps, 'store'> = {},
): Promise<CheckedSnapshot> {
  try {
    return await checkSnapshot(deps.store ?? (await storeFor(ctx)).store, snapshotId);
  } catch (err) {
    throw asJobError(err, 'the snapshot cannot be restored');
  }
}

/** How old restored data is, for the workspace's log: "3 minutes", "2 days". */
export function describeAge(takenAt: string | undefined, now = Date.now()): string {
  const t = takenAt ? Date.parse(takenAt) : Number.NaN;
  if (!Number.isFinite(t)) return 'of unknown age';
  const s = Math.max(0, Math.round((now - t) / 1000));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'} old`;
  if (s < 90) return unit(s, 'second');
  if (s < 90 * 60) return unit(Math.round(s / 60), 'minute');
  if (s < 36 * 3600) return unit(Math.round(s / 3600), 'hour');
  return unit(Math.round(s / 86400), 'day');
}

/** Runs `fn` with the workload running: a stopped one is started for it and stopped again. */
export async function whileRunning<T>(driver: WorkloadDriver, id: string, fn: () => Promise<T>): Promise<T> {
  const status = await driver.status(id);
  if (status === 'missing') throw new JobError('not_found', 'No such workspace');
  if (status === 'running') return fn();
  await driver.start(id);
  try {
    return await fn();
  } finally {
    await driver.stop(id);
  }
}

function asJobError(err: unknown, what: string): JobError {
  if (err instanceof JobError) return err;
  if (err instanceof ServerAccessError) return new JobError('unavailable', `${what}: ${err.message}`);
  const message = err instanceof Error ? err.message : String(err);
  return new JobError('internal', `${what}: ${message}`);
}

function withoutId({ snapshotId: _, ...rest }: SnapshotJobResult) {
  return rest;
}

function mb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * A stop's snapshot, taken before the stop (`workspace.stop` with a snapshot id, the idle stop):
 * its failure is reported to the edge by takeSnapshot and does not keep the workspace running.
 */
export async function snapshotBeforeStop(
  ctx: RunnerContext,
  workspaceId: string,
  snapshotId: string,
  generation: number,
): Promise<{ snapshot?: SnapshotJobResult; snapshotError?: string }> {
  try {
    return { snapshot: await takeSnapshot(ctx, { workspaceId, snapshotId, reason: 'stop', generation }) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log('warn', 'the snapshot before a stop failed', { workspaceId, snapshotId, error: message });
    return { snapshotError: message };
  }
}
