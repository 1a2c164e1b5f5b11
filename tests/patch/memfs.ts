/** In-memory PatchFs with injectable failures, for the all-or-nothing tests. */
import type { PatchFs } from '../../runners/src/patch/commit.ts';

export interface MemFile {
  data: Uint8Array;
  mode: number;
}

export class MemFs implements PatchFs {
  files = new Map<string, MemFile>();
  dirs = new Set<string>();
  /** Mutating operations so far (writeAtomic, remove, rename). */
  writes = 0;
  /** Fail exactly this write (1-based). */
  failAt = Number.POSITIVE_INFINITY;
  /** Fail this write and every later one (a disk that went away). */
  failFrom = Number.POSITIVE_INFINITY;
  /** Called after each successful rename, to simulate a concurrent writer. */
  afterRename?: (from: string, to: string) => void;

  constructor(files: Record<string, string | { text: string; mode: number }> = {}) {
    for (const [path, f] of Object.entries(files)) {
      const { text, mode } = typeof f === 'string' ? { text: f, mode: 0o644 } : f;
      this.mkdirs(path);
      this.files.set(path, { data: Buffer.from(text), mode });
    }
  }

  private tick(what: string) {
    this.writes++;
    if (this.writes === this.failAt || this.writes >= this.failFrom) {
      throw new Error(`injected failure at write ${this.writes} (${what})`);
    }
  }

  private parentsOk(path: string): boolean {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.files.has(dir)) throw new Error(`not a directory: ${dir}`);
      if (!this.dirs.has(dir)) return false;
    }
    return true;
  }

  private mkdirs(path: string) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.files.has(dir)) throw new Error(`not a directory: ${dir}`);
      this.dirs.add(dir);
    }
  }

  async read(path: string) {
    if (!this.parentsOk(path)) return undefined;
    if (this.dirs.has(path)) throw new Error(`is a directory: ${path}`);
    const f = this.files.get(path);
    return f && { data: f.data, mode: f.mode };
  }

  async writeAtomic(path: string, data: string, opts: { mode?: number } = {}) {
    this.tick(`write ${path}`);
    this.mkdirs(path);
    if (this.dirs.has(path)) throw new Error(`is a directory: ${path}`);
    const old = this.files.get(path);
    this.files.set(path, { data: Buffer.from(data), mode: old?.mode ?? opts.mode ?? 0o644 });
  }

  async remove(path: string) {
    this.tick(`remove ${path}`);
    if (this.files.delete(path)) return;
    if (!this.dirs.has(path)) throw new Error(`not found: ${path}`);
    const prefix = `${path}/`;
    if ([...this.files.keys(), ...this.dirs].some((p) => p.startsWith(prefix))) {
      throw new Error(`directory not empty: ${path}`);
    }
    this.dirs.delete(path);
  }

  async rename(from: string, to: string, opts: { overwrite?: boolean } = {}) {
    this.tick(`rename ${from} ${to}`);
    const f = this.files.get(from);
    if (!f) throw new Error(`not found: ${from}`);
    if (!this.parentsOk(to)) throw new Error(`not found: parent of ${to}`);
    if (this.dirs.has(to)) throw new Error(`is a directory: ${to}`);
    if (this.files.has(to) && !opts.overwrite) throw new Error(`exists: ${to}`);
    this.files.delete(from);
    this.files.set(to, f);
    this.afterRename?.(from, to);
  }

  async exists(path: string) {
    return this.files.has(path) || this.dirs.has(path);
  }

  /** Everything observable, for before/after comparisons. */
  snapshot(): string {
    const files = [...this.files].map(([p, f]) => [
      p,
      Buffer.from(f.data).toString('utf8'),
      f.mode.toString(8),
    ]);
    return JSON.stringify({ files: files.sort(), dirs: [...this.dirs].sort() });
  }

  text(path: string): string | undefined {
    const f = this.files.get(path);
    return f && Buffer.from(f.data).toString('utf8');
  }
}
