import { splitPath } from './resolve.ts';

/**
 * Per-file turns for everything that reads a file to decide how to change it (a write with a
 * base hash, a patch, a rename, a delete): two such jobs on one file never interleave their
 * check and their write. A file is known by its normal form, so `./src//a.ts` and `src/a.ts`
 * wait for each other. A path that has none (absolute, `..`) keeps its own key: the job that
 * names it refuses it in its own words.
 */
export class FileLocks {
  readonly #held = new Map<string, Promise<unknown>>();

  /** Runs `fn` holding the locks of all `paths`, taken in one order so two jobs cannot deadlock. */
  run<T>(workspaceId: string, paths: readonly string[], fn: () => Promise<T>): Promise<T> {
    const keys = [...new Set(paths.map((p) => `${workspaceId}\0${normalForm(p)}`))].sort();
    const run = keys.reduceRight<() => Promise<T>>((inner, key) => () => this.#one(key, inner), fn);
    return run();
  }

  async #one<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#held.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    this.#held.set(key, next);
    try {
      return await next;
    } finally {
      if (this.#held.get(key) === next) this.#held.delete(key);
    }
  }

  /** How many files are locked or waited for now. */
  get size(): number {
    return this.#held.size;
  }
}

function normalForm(path: string): string {
  try {
    return splitPath(path).join('/');
  } catch {
    return path;
  }
}
