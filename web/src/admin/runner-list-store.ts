import type { DrainProgress } from '@keel/contract/fleet';
import type { CreateRunnerTokenResponse, RunnerView } from '@keel/contract/runners';
import { type Accessor, createSignal } from 'solid-js';
import type { NewRunnerToken, RunnersApi } from '../api/runners-api.ts';
import { createPolledList, type PolledListOptions } from './polled-list.ts';

export interface RunnerListStore {
  runners: Accessor<RunnerView[] | undefined>;
  loadError: Accessor<unknown>;
  /** Whether a revocation of this runner is in flight. */
  revoking(id: string): boolean;
  load(): Promise<void>;
  /** The answer holds the token; the store keeps none of it. */
  createToken(input: NewRunnerToken): Promise<CreateRunnerTokenResponse>;
  revoke(id: string): Promise<void>;
  /** Whether a drain (or its end) of this runner is being asked for. */
  draining(id: string): boolean;
  /** Starts (true) or ends (false) a drain; the list is then polled quickly until it is done. */
  drain(id: string, drain: boolean): Promise<void>;
  resume(): void;
  dispose(): void;
}

/** The Runners page's state: runners with their heartbeat (polled), tokens and revocation. */
export function createRunnerListStore(
  options: {
    api: RunnersApi;
    /** Asks the edge to drain a runner (or stop); shared runners go through the install's route. */
    drain?: (id: string, drain: boolean, shared: boolean) => Promise<DrainProgress>;
  } & PolledListOptions,
): RunnerListStore {
  const { api } = options;
  const list = createPolledList(() => api.list(), {
    pollMs: 10_000,
    ...options,
    // Drain progress (remaining, moving, failed) changes by the second: follow it closely.
    fast: { when: (runners) => runners.some(isDrainUnderWay), ms: 2000 },
  });
  const [inFlight, setInFlight] = createSignal<ReadonlySet<string>>(new Set());
  const [drainsAsked, setDrainsAsked] = createSignal<ReadonlySet<string>>(new Set());

  return {
    runners: list.items,
    loadError: list.loadError,
    revoking: (id) => inFlight().has(id),
    load: list.load,
    createToken: (input) => api.createToken(input),
    async revoke(id) {
      setInFlight((current) => new Set(current).add(id));
      try {
        await api.revoke(id);
        const at = new Date().toISOString();
        // Revoked runners stay listed (the API keeps them), marked so, with no live stats.
        list.setItems((current) =>
          current?.map((r) => (r.id === id ? { ...r, status: 'revoked', revokedAt: at, stats: null } : r)),
        );
      } finally {
        setInFlight((current) => {
          const next = new Set(current);
          next.delete(id);
          return next;
        });
      }
    },
    draining: (id) => drainsAsked().has(id),
    async drain(id, drain) {
      if (!options.drain) throw new Error('draining is not available here');
      const runner = list.items()?.find((r) => r.id === id);
      setDrainsAsked((current) => new Set(current).add(id));
      try {
        const progress = await options.drain(id, drain, runner?.shared ?? false);
        list.setItems((current) => current?.map((r) => (r.id === id ? { ...r, drain: progress } : r)));
        list.reschedule();
      } finally {
        setDrainsAsked((current) => {
          const next = new Set(current);
          next.delete(id);
          return next;
        });
      }
    },
    resume: list.resume,
    dispose: list.dispose,
  };
}

/** A drain that is on, or one whose workspaces are still moving. */
export function isDrainUnderWay(runner: { drain?: DrainProgress | undefined }): boolean {
  const drain = runner.drain;
  return drain !== undefined && (drain.draining ? drain.remaining + drain.moving > 0 : drain.moving > 0);
}
