/**
 * One workspace, one lifecycle step at a time: the steps of a workspace (create, start, stop,
 * restart, delete, snapshot, restore, evacuate, and the removal of a stale copy) run one after
 * another in the order they entered, whatever the runner's concurrency and whatever the
 * driver. A start taken while the create still runs waits for it, instead of finding no
 * workload and failing the workspace.
 *
 * `run` enters the workspace's chain synchronously, before its first await: a job's place is
 * the moment its handler was called, which is the order the queue handed the jobs out in.
 * Different workspaces never wait for each other.
 */
export class LifecycleQueue {
  /** Per workspace: the end of its last entered step (never rejects), and how many are in. */
  private readonly chains = new Map<string, { tail: Promise<void>; entered: number }>();

  /** Runs `fn` once every step entered before it for this workspace has ended (either way). */
  run<T>(workspaceId: string, fn: () => Promise<T>): Promise<T> {
    const chain = this.chains.get(workspaceId) ?? { tail: Promise.resolve(), entered: 0 };
    chain.entered++;
    const result = chain.tail.then(fn);
    // The next step waits for this one to end, whether it succeeded or not.
    chain.tail = result.then(
      () => {},
      () => {},
    );
    this.chains.set(workspaceId, chain);
    const leave = () => {
      chain.entered--;
      if (chain.entered === 0 && this.chains.get(workspaceId) === chain) this.chains.delete(workspaceId);
    };
    result.then(leave, leave);
    return result;
  }

  /** Steps of this workspace running or waiting now. */
  pending(workspaceId: string): number {
    return this.chains.get(workspaceId)?.entered ?? 0;
  }
}
