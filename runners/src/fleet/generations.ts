/**
 * The placement generation this runner holds each workspace at (fencing, see contract/fleet):
 * in memory for the check every lifecycle job makes, and in Redis (`keys.workspaceGenerations`)
 * so a restarted runner still knows. A workspace removed because it moved away is remembered
 * (in memory) at the generation it had: a job for that generation that arrives later is
 * refused, not run against a workspace that is no longer here.
 */
import type { Redis } from 'ioredis';
import { JobError } from '../job-error.ts';

const GONE_REMEMBERED = 10_000;

export class Generations {
  private readonly held = new Map<string, number>();
  /** Workspaces removed from here, with the generation they had then. */
  private readonly gone = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  /** Reads what an earlier run of this runner recorded. */
  async load(): Promise<void> {
    const all = await this.redis.hgetall(this.key);
    this.held.clear();
    for (const [id, raw] of Object.entries(all)) {
      const n = Number(raw);
      if (Number.isInteger(n) && n >= 1) this.held.set(id, n);
    }
  }

  /** The generation held, or undefined for a workspace created before generations (or not here). */
  of(workspaceId: string): number | undefined {
    return this.held.get(workspaceId);
  }

  /**
   * Refuses (`fenced`) a job older than the generation held, or one for a workspace that
   * moved away from here at that generation or later. A job without one (an edge before
   * fencing) is let through.
   */
  assertCurrent(workspaceId: string, generation: number | undefined, what: string): void {
    if (generation === undefined) return;
    const held = this.held.get(workspaceId);
    if (held !== undefined && generation < held) {
      throw new JobError(
        'fenced',
        `${what} is for generation ${generation} of this workspace; this runner holds generation ${held}: it moved`,
      );
    }
    const gone = this.gone.get(workspaceId);
    if (held === undefined && gone !== undefined && generation <= gone) {
      throw new JobError('fenced', `${what} is for a workspace that moved away from this runner`);
    }
  }

  /**
   * Whether a create at `generation` (1 when the job has none) may take the workspace: one
   * older than the generation held, or than the one it moved away at, is refused (`fenced`).
   * Returns the lower generation held that this create replaces (its copy here is stale), if any.
   */
  assertCreate(workspaceId: string, generation: number | undefined): number | undefined {
    const next = generation ?? 1;
    const held = this.held.get(workspaceId);
    const gone = this.gone.get(workspaceId);
    if ((held !== undefined && next < held) || (held === undefined && gone !== undefined && next <= gone)) {
      throw new JobError(
        'fenced',
        `this create is for generation ${next} of the workspace; it was at generation ${held ?? gone} here already`,
      );
    }
    return held !== undefined && held < next ? held : undefined;
  }

  /** Records the generation a create took the workspace at. */
  async claim(workspaceId: string, generation: number | undefined): Promise<void> {
    const next = generation ?? 1;
    await this.redis.hset(this.key, workspaceId, String(next));
    this.held.set(workspaceId, next);
    this.gone.delete(workspaceId);
  }

  /**
   * Forgets the workspace. `movedAway`: it left this runner at the generation it had, and a
   * later job at that generation is refused; otherwise (deleted) nothing is remembered.
   */
  async forget(workspaceId: string, movedAway: boolean): Promise<void> {
    const held = this.held.get(workspaceId) ?? 1;
    await this.redis.hdel(this.key, workspaceId);
    this.held.delete(workspaceId);
    this.gone.delete(workspaceId);
    if (!movedAway) return;
    this.gone.set(workspaceId, held);
    // Bounded: the oldest moves are the least likely to still have jobs on their way.
    if (this.gone.size > GONE_REMEMBERED) this.gone.delete(this.gone.keys().next().value as string);
  }
}
