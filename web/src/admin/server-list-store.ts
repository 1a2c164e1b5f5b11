import type { DrainProgress } from '@keel/contract/fleet';
import type { ConnectionTestResult, ServerView } from '@keel/contract/servers';
import { type Accessor, createSignal } from 'solid-js';
import type { NewServer, ServerChange, ServersApi } from '../api/servers-api.ts';
import { createPolledList, type PolledListOptions } from './polled-list.ts';
import { isDrainUnderWay } from './runner-list-store.ts';

export type ServerAction = 'test' | 'confirm' | 'disable' | 'enable' | 'delete' | 'drain';

export interface ServerListStore {
  servers: Accessor<ServerView[] | undefined>;
  loadError: Accessor<unknown>;
  /** The action running on a server while its request is in flight. */
  pending(id: string): ServerAction | undefined;
  /** The result of a test run from this page, until the next one (the list keeps `lastTest` too). */
  testResult(id: string): ConnectionTestResult | undefined;
  load(): Promise<void>;
  create(input: NewServer): Promise<ServerView>;
  update(id: string, change: ServerChange): Promise<ServerView>;
  setDisabled(id: string, disabled: boolean): Promise<void>;
  test(id: string): Promise<ConnectionTestResult>;
  confirmHostKey(id: string, fingerprint: string): Promise<void>;
  remove(id: string): Promise<void>;
  /** Starts (true) or ends (false) a drain; the list is polled quickly while workspaces move. */
  drain(id: string, drain: boolean): Promise<void>;
  resume(): void;
  dispose(): void;
}

const byName = (a: ServerView, b: ServerView) => a.name.localeCompare(b.name);

/** The Servers page's state: the list (polled for live resources) and the actions on each server. */
export function createServerListStore(
  options: {
    api: ServersApi;
    drain?: (id: string, drain: boolean) => Promise<DrainProgress>;
  } & PolledListOptions,
): ServerListStore {
  const { api } = options;
  const list = createPolledList(() => api.list(), {
    pollMs: 15_000,
    ...options,
    fast: { when: (servers) => servers.some(isDrainUnderWay), ms: 2000 },
  });
  const [pendingActions, setPendingActions] = createSignal<ReadonlyMap<string, ServerAction>>(new Map());
  const [results, setResults] = createSignal<ReadonlyMap<string, ConnectionTestResult>>(new Map());

  function setPending(id: string, action: ServerAction | undefined): void {
    const next = new Map(pendingActions());
    if (action === undefined) next.delete(id);
    else next.set(id, action);
    setPendingActions(next);
  }

  function put(server: ServerView): void {
    list.setItems((current) => [...(current ?? []).filter((s) => s.id !== server.id), server].sort(byName));
  }

  async function running<T>(id: string, action: ServerAction, work: () => Promise<T>): Promise<T> {
    setPending(id, action);
    try {
      return await work();
    } finally {
      setPending(id, undefined);
    }
  }

  return {
    servers: list.items,
    loadError: list.loadError,
    pending: (id) => pendingActions().get(id),
    testResult: (id) => results().get(id),
    load: list.load,
    async create(input) {
      const server = await api.create(input);
      put(server);
      return server;
    },
    async update(id, change) {
      const server = await api.update(id, change);
      put(server);
      return server;
    },
    setDisabled: (id, disabled) =>
      running(id, disabled ? 'disable' : 'enable', async () => put(await api.update(id, { disabled }))),
    test: (id) =>
      running(id, 'test', async () => {
        const { server, result } = await api.test(id);
        put(server);
        setResults((current) => new Map(current).set(id, result));
        return result;
      }),
    confirmHostKey: (id, fingerprint) =>
      running(id, 'confirm', async () => {
        put(await api.confirmHostKey(id, fingerprint));
        // The offer is answered: what the page shows next is the server's own state.
        setResults((current) => {
          const next = new Map(current);
          next.delete(id);
          return next;
        });
      }),
    remove: (id) =>
      running(id, 'delete', async () => {
        await api.remove(id);
        list.setItems((current) => current?.filter((s) => s.id !== id));
      }),
    drain: (id, drain) =>
      running(id, 'drain', async () => {
        if (!options.drain) throw new Error('draining is not available here');
        const progress = await options.drain(id, drain);
        list.setItems((current) => current?.map((s) => (s.id === id ? { ...s, drain: progress } : s)));
        list.reschedule();
      }),
    resume: list.resume,
    dispose: list.dispose,
  };
}
