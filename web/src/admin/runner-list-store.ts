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
  resume(): void;
  dispose(): void;
}

/** The Runners page's state: runners with their heartbeat (polled), tokens and revocation. */
export function createRunnerListStore(options: { api: RunnersApi } & PolledListOptions): RunnerListStore {
  const { api } = options;
  const list = createPolledList(() => api.list(), { pollMs: 10_000, ...options });
  const [inFlight, setInFlight] = createSignal<ReadonlySet<string>>(new Set());

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
    resume: list.resume,
    dispose: list.dispose,
  };
}
