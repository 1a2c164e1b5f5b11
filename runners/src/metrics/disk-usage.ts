import { execFile } from 'node:child_process';

/** How often one workspace's folder is measured at most. */
export const DISK_REFRESH_MS = 60_000;

/** Folders one `du` measures at most: one fork for many workspaces, and a pass that ends in time. */
const FOLDERS_PER_DU = 64;

/**
 * Bytes each folder takes on disk, from one `du` for all of them (one file system, links not
 * followed; a file hard-linked into two of them counts in the first); undefined where it failed.
 * One process per pass rather than per workspace: each fork stops the runner's event loop.
 */
export function foldersBytes(
  paths: readonly string[],
  // As long in all as one du per folder had.
  timeoutMs = 30_000 * paths.length,
): Promise<Array<number | undefined>> {
  return new Promise((resolve) => {
    if (paths.length === 0) {
      resolve([]);
      return;
    }
    execFile(
      'du',
      ['-s', '-x', '--null', '--block-size=1', '--', ...paths],
      { timeout: timeoutMs },
      (_err, stdout) => {
        // du exits 1 when a file vanished mid-walk or a folder is missing; the totals it printed are good.
        const sizes = new Map<string, number>();
        for (const record of String(stdout).split('\0')) {
          const tab = record.indexOf('\t');
          const n = record.slice(0, tab);
          if (tab > 0 && /^\d+$/.test(n)) sizes.set(record.slice(tab + 1), Number(n));
        }
        resolve(paths.map((p) => sizes.get(p)));
      },
    );
  });
}

/** Bytes a folder takes on disk; undefined on failure. */
export async function folderBytes(path: string, timeoutMs = 30_000): Promise<number | undefined> {
  return (await foldersBytes([path], timeoutMs))[0];
}

/**
 * Workspace folder sizes, measured in the background: walking a tree at every scrape would cost
 * more than the scrape. `sizes` answers from what is known now and starts one pass (one folder at
 * a time) over the folders last measured more than `refreshMs` ago.
 */
export class DiskUsage {
  readonly #sizes = new Map<string, { at: number; bytes: number | undefined }>();
  #pass: Promise<void> | undefined;

  constructor(
    private readonly rootOf: (workspaceId: string) => Promise<string>,
    private readonly refreshMs = DISK_REFRESH_MS,
    private readonly measure: (paths: readonly string[]) => Promise<Array<number | undefined>> = foldersBytes,
  ) {}

  sizes(ids: readonly string[]): Map<string, number> {
    const wanted = new Set(ids);
    for (const id of this.#sizes.keys()) if (!wanted.has(id)) this.#sizes.delete(id);
    const now = Date.now();
    const stale = ids.filter((id) => now - (this.#sizes.get(id)?.at ?? 0) >= this.refreshMs);
    if (stale.length > 0 && !this.#pass) {
      this.#pass = this.#measure(stale).finally(() => {
        this.#pass = undefined;
      });
    }
    const out = new Map<string, number>();
    for (const id of ids) {
      const known = this.#sizes.get(id);
      if (known?.bytes !== undefined) out.set(id, known.bytes);
    }
    return out;
  }

  /** Resolves when the pass in progress, if any, is over (tests). */
  settled(): Promise<void> {
    return this.#pass ?? Promise.resolve();
  }

  async #measure(ids: string[]): Promise<void> {
    const roots = await Promise.all(ids.map((id) => this.rootOf(id).catch(() => undefined)));
    const known: Array<{ id: string; root: string }> = [];
    for (const [i, id] of ids.entries()) {
      const root = roots[i];
      if (root === undefined) this.#sizes.set(id, { at: Date.now(), bytes: undefined });
      else known.push({ id, root });
    }
    for (let at = 0; at < known.length; at += FOLDERS_PER_DU) {
      const batch = known.slice(at, at + FOLDERS_PER_DU);
      const bytes = await this.measure(batch.map((b) => b.root));
      // A failure is remembered too, so a folder du cannot read is not walked at every scrape.
      for (const [i, { id }] of batch.entries()) this.#sizes.set(id, { at: Date.now(), bytes: bytes[i] });
    }
  }
}
