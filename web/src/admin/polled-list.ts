import { type Accessor, createSignal, type Setter } from 'solid-js';
import { browserTimers, type Timers } from '../api/browser-timers.ts';

export interface PolledListOptions {
  timers?: Timers | undefined;
  /** How often to ask again while the page is open; live resources change with every heartbeat. */
  pollMs?: number | undefined;
  isVisible?: (() => boolean) | undefined;
}

export interface PolledList<T> {
  /** Undefined until the first answer; kept as it was when a later load fails. */
  items: Accessor<T[] | undefined>;
  setItems: Setter<T[] | undefined>;
  loadError: Accessor<unknown>;
  load(): Promise<void>;
  /** Call when the page becomes visible again: polling skips hidden pages. */
  resume(): void;
  dispose(): void;
}

/**
 * A list that is fetched once and then asked for again every `pollMs` while its page is visible,
 * one request at a time. The admin pages show live resources, which only polling keeps current.
 */
export function createPolledList<T>(fetch: () => Promise<T[]>, options: PolledListOptions): PolledList<T> {
  const timers = options.timers ?? browserTimers;
  const pollMs = options.pollMs ?? 10_000;
  const isVisible = options.isVisible ?? (() => true);
  const [items, setItems] = createSignal<T[]>();
  const [loadError, setLoadError] = createSignal<unknown>();
  let timer: unknown;
  let disposed = false;
  let loading: Promise<void> | undefined;
  let missed = false;

  function schedule(): void {
    if (disposed || timer !== undefined) return;
    timer = timers.set(() => {
      timer = undefined;
      if (isVisible()) void load();
      else missed = true;
    }, pollMs);
  }

  function load(): Promise<void> {
    loading ??= (async () => {
      try {
        const fresh = await fetch();
        setItems(() => fresh);
        setLoadError(undefined);
      } catch (error) {
        setLoadError(error);
      } finally {
        loading = undefined;
        schedule();
      }
    })();
    return loading;
  }

  return {
    items,
    setItems,
    loadError,
    load,
    resume() {
      if (!missed) return;
      missed = false;
      void load();
    },
    dispose() {
      disposed = true;
      timers.clear(timer);
      timer = undefined;
    },
  };
}
