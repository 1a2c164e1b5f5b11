import type { QuickOpenMatch, QuickOpenResponse } from '@keel/contract/search';
import { compareMatches, fuzzyMatch, fuzzyQuery, fuzzyScore } from './fuzzy.ts';

/** What a listing of the workspace found. */
export interface FileListing {
  paths: string[];
  source: 'git' | 'walk';
  truncated: boolean;
}

export interface FileIndexOptions {
  /** Lists the workspace's files (inside it, as its commands see them). */
  list(): Promise<FileListing>;
  /** An index older than this is refreshed in the background while the old one answers. */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * One workspace's file names, kept in the runner's memory for quick open. Built from a listing
 * (Git's index and untracked files, or a walk); kept current by the runner's own writes, renames
 * and deletes (`add`, `remove`, `rename`); marked stale when something else may have changed the
 * files (a command finished), so the next query waits for a fresh listing; refreshed in the
 * background when older than `maxAgeMs` (a terminal changes files without telling anyone).
 */
export class FileIndex {
  #paths = new Set<string>();
  /** The paths as sorted arrays with their lower case, made when first queried after a change. */
  #view: { paths: string[]; lower: string[] } | undefined;
  #builtAt = Number.NEGATIVE_INFINITY;
  #stale = true;
  #building: Promise<void> | undefined;
  /** The wait of queries that found the index stale. */
  #freshening: Promise<void> | undefined;
  /** Changes made while a listing runs, replayed on it (the listing may predate them). */
  #during: Array<() => void> | undefined;
  #source: FileListing['source'] = 'git';
  #truncated = false;
  lastUsed = 0;

  constructor(private readonly o: FileIndexOptions) {}

  get size(): number {
    return this.#paths.size;
  }

  /** Something outside the runner's own file jobs may have changed the files. */
  markStale(): void {
    this.#stale = true;
  }

  add(path: string): void {
    this.#change(() => {
      if (path && !this.#paths.has(path)) {
        this.#paths.add(path);
        this.#view = undefined;
      }
    });
  }

  /** Removes a file, or a folder with everything under it. */
  remove(path: string): void {
    this.#change(() => {
      const prefix = `${path}/`;
      for (const p of this.#paths) {
        if (p === path || p.startsWith(prefix)) this.#paths.delete(p);
      }
      this.#view = undefined;
    });
  }

  /** Moves a file, or a folder with everything under it. */
  rename(from: string, to: string): void {
    this.#change(() => {
      const prefix = `${from}/`;
      const moved: string[] = [];
      for (const p of this.#paths) {
        if (p === from) moved.push(to);
        else if (p.startsWith(prefix)) moved.push(to + p.slice(from.length));
        else continue;
        this.#paths.delete(p);
      }
      for (const p of moved) this.#paths.add(p);
      this.#view = undefined;
    });
  }

  /** The best `limit` matches of `query`, after a listing when the index is missing or stale. */
  async find(query: string, limit: number): Promise<QuickOpenResponse> {
    const now = (this.o.now ?? Date.now)();
    this.lastUsed = now;
    if (this.#stale || this.#freshening) {
      // Every query that finds the index stale waits for the same listing, not only the first.
      this.#freshening ??= this.#freshen();
      try {
        await this.#freshening;
      } catch (err) {
        // Names listed before (a workspace stopped since) still answer; never listed: the error.
        if (this.#builtAt === Number.NEGATIVE_INFINITY) throw err;
      }
    } else if (now - this.#builtAt > this.o.maxAgeMs) void this.refresh().catch(() => {});
    return this.query(query, limit);
  }

  /** Matches against what the index holds now, without listing. */
  query(query: string, limit: number): QuickOpenResponse {
    const view = this.#sortedView();
    const q = fuzzyQuery(query);
    let results: QuickOpenMatch[];
    if (q.text.length === 0) {
      results = view.paths.slice(0, limit).map((path) => ({ path, score: 0, positions: [] }));
    } else {
      // Scores only, keeping the best `limit` (sorted, best first); positions for those alone.
      const best: Array<{ path: string; score: number; i: number }> = [];
      for (let i = 0; i < view.paths.length; i++) {
        const path = view.paths[i]!;
        const score = fuzzyScore(q, path, view.lower[i]!);
        if (score === undefined) continue;
        const entry = { path, score, i };
        if (best.length === limit && compareMatches(entry, best[limit - 1]!) >= 0) continue;
        let at = best.length;
        while (at > 0 && compareMatches(entry, best[at - 1]!) < 0) at--;
        best.splice(at, 0, entry);
        if (best.length > limit) best.pop();
      }
      results = best.map(({ path, i }) => {
        const m = fuzzyMatch(q, path, view.lower[i]!)!;
        return { path, score: m.score, positions: m.positions };
      });
    }
    return { results, total: view.paths.length, truncated: this.#truncated, source: this.#source };
  }

  /**
   * Lists until a listing that started after the index went stale is done: one already under way
   * (a background refresh) may predate what made it stale.
   */
  async #freshen(): Promise<void> {
    try {
      for (let i = 0; i < 3 && this.#stale; i++) await this.refresh();
    } finally {
      this.#freshening = undefined;
    }
  }

  /** Lists the workspace again (one listing at a time; callers meanwhile wait for the same one). */
  refresh(): Promise<void> {
    this.#building ??= (async () => {
      this.#during = [];
      this.#stale = false;
      try {
        const listing = await this.o.list();
        const paths = new Set(listing.paths);
        const replay = this.#during;
        this.#paths = paths;
        this.#view = undefined;
        for (const change of replay) change();
        this.#source = listing.source;
        this.#truncated = listing.truncated;
        this.#builtAt = (this.o.now ?? Date.now)();
      } catch (err) {
        this.#stale = true;
        throw err;
      } finally {
        this.#during = undefined;
        this.#building = undefined;
      }
    })();
    return this.#building;
  }

  #change(apply: () => void): void {
    apply();
    this.#during?.push(apply);
  }

  #sortedView(): { paths: string[]; lower: string[] } {
    if (!this.#view) {
      const paths = [...this.#paths].sort();
      this.#view = { paths, lower: paths.map((p) => p.toLowerCase()) };
    }
    return this.#view;
  }
}
