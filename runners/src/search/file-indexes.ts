import { log } from '../log.ts';
import type { RunnerContext } from '../runner-context.ts';
import { FileIndex } from './file-index.ts';
import { listWorkspaceFiles } from './workspace-listing.ts';

/** An index nobody queried for this long is dropped (a stopped or moved workspace's names). */
const UNUSED_MS = 15 * 60_000;

/**
 * The quick-open indexes of one runner, by workspace. Kept beside the runner's context (not in
 * it): a job's context is a view over the runner's (handlers/index.ts `withTrace`), so they are
 * found through what every view shares, its map of file roots.
 */
export class FileIndexes {
  readonly #byWorkspace = new Map<string, FileIndex>();

  constructor(private readonly ctx: RunnerContext) {}

  /** The workspace's index, made (empty and stale, so its first query lists the files) on first use. */
  of(workspaceId: string): FileIndex {
    let index = this.#byWorkspace.get(workspaceId);
    if (!index) {
      this.#sweep();
      const ctx = this.ctx;
      index = new FileIndex({
        maxAgeMs: ctx.config.KEEL_QUICK_OPEN_MAX_AGE_SECONDS * 1000,
        list: async () =>
          listWorkspaceFiles(
            await ctx.driverFor(workspaceId),
            workspaceId,
            ctx.config.KEEL_QUICK_OPEN_MAX_FILES,
          ),
      });
      this.#byWorkspace.set(workspaceId, index);
    }
    return index;
  }

  /** The workspace's index if one is kept (changes to a workspace nobody searched need no note). */
  kept(workspaceId: string): FileIndex | undefined {
    return this.#byWorkspace.get(workspaceId);
  }

  /** Something other than the runner's file jobs may have changed the workspace's files. */
  stale(workspaceId: string): void {
    this.#byWorkspace.get(workspaceId)?.markStale();
  }

  /**
   * Notes what a file job did, once it succeeded: a write adds its file, a delete removes it (a
   * folder with all under it), a rename moves it, an applied patch does what its answer says.
   */
  after(job: { workspaceId: string }, result: unknown): void {
    const index = this.kept(job.workspaceId);
    if (!index) return;
    void Promise.resolve(result).then(
      (done) => {
        try {
          noteJob(index, job as NotedJob, done);
        } catch (err) {
          log('warn', 'quick open index not updated', { error: String(err) });
          index.markStale();
        }
      },
      () => {},
    );
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, index] of this.#byWorkspace) {
      if (now - index.lastUsed > UNUSED_MS) this.#byWorkspace.delete(id);
    }
  }
}

type NotedJob = {
  type?: string;
  path?: string;
  from?: string;
  to?: string;
};

/** Paths as the file layer takes them ("a//b/", "./a"), written as the index holds them ("a/b"). */
function clean(path: string | undefined): string {
  return (path ?? '')
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

function noteJob(index: FileIndex, job: NotedJob, result: unknown): void {
  switch (job.type) {
    case 'files.write':
      index.add(clean(job.path));
      return;
    case 'files.delete':
      index.remove(clean(job.path));
      return;
    case 'files.rename':
      index.rename(clean(job.from), clean(job.to));
      return;
    case 'patch.apply': {
      const applied = result as {
        outcome?: string;
        files?: Array<{ path: string; action: string; from?: string }>;
      };
      if (applied?.outcome !== 'applied') {
        // A commit that failed midway may have changed some files: list again.
        if (applied?.outcome === 'failed') index.markStale();
        return;
      }
      for (const f of applied.files ?? []) {
        if (f.action === 'deleted') index.remove(clean(f.path));
        else if (f.action === 'renamed' && f.from) index.rename(clean(f.from), clean(f.path));
        else index.add(clean(f.path));
      }
      return;
    }
  }
}

const registry = new WeakMap<object, FileIndexes>();

/** The runner's indexes, whichever view of its context a job holds. */
export function fileIndexes(ctx: RunnerContext): FileIndexes {
  let indexes = registry.get(ctx.roots);
  if (!indexes) {
    indexes = new FileIndexes(ctx);
    registry.set(ctx.roots, indexes);
  }
  return indexes;
}
