/**
 * Request counts taken ahead, so that a request far from every limit costs no round trip to
 * Redis (the limits are per minute, and most requests are far from them).
 *
 * When a count goes to Redis while its counter is below half its limit, the script also
 * counts a lease of `limit / 64` more requests for this edge (all the request's counters or
 * none). Later requests that find a lease on each of their counters are let through here,
 * each using one. Every request let through is thus counted in Redis before it is let
 * through, by itself or inside a lease, so no limit is ever passed, however many edges there
 * are. What a lease leaves unused when its window ends was counted for nothing: at most
 * `limit / 64` per edge, granted only below half the limit, so others are refused early by at
 * most that much. Counters under 64 a minute get no lease: every count goes to Redis.
 */
export const LEASE_FRACTION = 64;

interface Lease {
  /** Requests left to let through here in this window. */
  left: number;
  /** The window's count as Redis last answered it, plus what this edge let through since. */
  count: number;
  /** The window it counts in: a lease of a past window is dropped. */
  window: number;
  windowSeconds: number;
}

/** A request's counters' leases, as `RequestLeases.held` found them. */
export type HeldLeases = readonly unknown[] & { readonly __heldLeases: true };

/** Counters kept at most (per address, person and organization of the current window). */
const MAX_LEASES = 50_000;

export class RequestLeases {
  private readonly leases = new Map<string, Lease>();

  /**
   * How many requests each counter would lease, given its limit: 0 when it has one already;
   * nothing at all when one of them is too small to lease (its every count goes to Redis).
   */
  wanted(windowKeys: readonly string[], limits: readonly number[]): number[] {
    if (limits.some((l) => leaseSize(l) === 0)) return windowKeys.map(() => 0);
    return windowKeys.map((k, i) => ((this.leases.get(k)?.left ?? 0) > 0 ? 0 : leaseSize(limits[i]!)));
  }

  /**
   * Lets one request through here if each of its counters has a lease left; returns each
   * counter's count (about: other edges' requests since the last answer are not in it), or
   * undefined when the request must be counted in Redis.
   */
  take(windowKeys: readonly string[]): number[] | undefined {
    const held = this.held(windowKeys);
    return held && this.takeHeld(held);
  }

  /**
   * The leases of these counters, for `takeHeld` on later requests of the same counters in the
   * same window (a lease is the same object for its whole window: `granted` adds to it, and
   * only a past window's are dropped); undefined when one of them has none.
   */
  held(windowKeys: readonly string[]): HeldLeases | undefined {
    const found: Lease[] = [];
    for (const k of windowKeys) {
      const lease = this.leases.get(k);
      if (!lease) return undefined;
      found.push(lease);
    }
    return found as unknown as HeldLeases;
  }

  /** `take` on leases found by `held` in the window they count in (the caller keeps to it). */
  takeHeld(held: HeldLeases): number[] | undefined {
    const leases = held as unknown as Lease[];
    for (const lease of leases) if (lease.left < 1) return undefined;
    const counts: number[] = [];
    for (const lease of leases) {
      lease.left--;
      counts.push(++lease.count);
    }
    return counts;
  }

  /** What Redis answered for a request's counters: their counts, and the leases it granted. */
  granted(
    windowKeys: readonly string[],
    counts: readonly number[],
    leased: readonly number[],
    windowSeconds: number,
  ): void {
    if (this.leases.size >= MAX_LEASES) this.forgetPastWindows();
    windowKeys.forEach((k, i) => {
      const count = counts[i];
      if (count === undefined) return;
      const lease = this.leases.get(k);
      if (lease) {
        lease.left += leased[i] ?? 0;
        lease.count = Math.max(lease.count, count);
      } else if (this.leases.size < MAX_LEASES) {
        const window = Math.floor(Date.now() / 1000 / windowSeconds);
        this.leases.set(k, { left: leased[i] ?? 0, count, window, windowSeconds });
      }
    });
  }

  private forgetPastWindows(): void {
    const nowSeconds = Date.now() / 1000;
    for (const [k, lease] of this.leases) {
      if (lease.window !== Math.floor(nowSeconds / lease.windowSeconds)) this.leases.delete(k);
    }
  }
}

/** The lease a counter asks for: none under LEASE_FRACTION requests a window. */
export function leaseSize(limit: number): number {
  return Math.floor(limit / LEASE_FRACTION);
}
