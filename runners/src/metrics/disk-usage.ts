import { execFile } from 'node:child_process';

/** How often one workspace's folder is measured at most. */
export const DISK_REFRESH_MS = 60_000;

/** Bytes a folder takes on disk (`du`, one file system, links not followed); undefined on failure. */
export function folderBytes(path: string, timeoutMs = 30_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile('du', ['-s', '-x', '--block-size=1', '--', path], { timeout: timeoutMs }, (_err, stdout) => {
      // du exits 1 when a file vanished mid-walk; the total it printed is still good.
      const first = String(stdout).split('\t', 1)[0] ?? '';
      const n = /^\d+$/.test(first) ? Number(first) : Number.NaN;
      resolve(Number.isFinite(n) ? n : undefined);
    });
  });
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
    private readonly measure: (path: string) => Promise<number | undefined> = folderBytes,
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
    for (const id of ids) {
      const root = await this.rootOf(id).catch(() => undefined);
      const bytes = root === undefined ? undefined : await this.measure(root);
      // A failure is remembered too, so a folder du cannot read is not walked at every scrape.
      this.#sizes.set(id, { at: Date.now(), bytes });
    }
  }
}
