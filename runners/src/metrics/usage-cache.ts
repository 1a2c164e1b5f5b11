import type { WorkloadUsage } from './workload-usage.ts';

export type UsageReader = (workspaceId: string, signal: AbortSignal) => Promise<WorkloadUsage | undefined>;

export interface UsageCacheOptions {
  /** A reading is reused this long: a scrape every second must not ask dockerd every second. */
  ttlMs: number;
  /** Workspaces read at once. */
  concurrency: number;
  /** One workspace's reading gives up after this (a stuck engine must not hold the scrape). */
  timeoutMs: number;
}

export const USAGE_CACHE_DEFAULTS: UsageCacheOptions = { ttlMs: 2_000, concurrency: 4, timeoutMs: 3_000 };

/**
 * Per-workspace usage as of at most `ttlMs` ago, read at scrape time: stale readings are
 * refreshed with bounded concurrency, and scrapes that come together share one refresh. A
 * workspace whose reading fails (stopped meanwhile, engine busy) has no figures this time.
 */
export class UsageCache {
  readonly #entries = new Map<string, { at: number; usage: WorkloadUsage }>();
  #refreshing: Promise<void> | undefined;

  constructor(
    private readonly read: UsageReader,
    private readonly o: UsageCacheOptions = USAGE_CACHE_DEFAULTS,
  ) {}

  async get(ids: readonly string[]): Promise<Map<string, WorkloadUsage>> {
    const wanted = new Set(ids);
    for (const id of this.#entries.keys()) if (!wanted.has(id)) this.#entries.delete(id);
    const now = Date.now();
    const stale = ids.filter((id) => now - (this.#entries.get(id)?.at ?? 0) >= this.o.ttlMs);
    if (stale.length > 0) {
      this.#refreshing ??= this.#refresh(stale).finally(() => {
        this.#refreshing = undefined;
      });
      await this.#refreshing;
    }
    const out = new Map<string, WorkloadUsage>();
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (entry) out.set(id, entry.usage);
    }
    return out;
  }

  async #refresh(ids: string[]): Promise<void> {
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          const usage = await this.read(id, AbortSignal.timeout(this.o.timeoutMs));
          if (usage) this.#entries.set(id, { at: Date.now(), usage });
          else this.#entries.delete(id);
        } catch {
          this.#entries.delete(id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, ids.length) }, worker));
  }
}
