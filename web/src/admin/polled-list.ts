import { type Accessor, createSignal, type Setter } from 'solid-js';
import { browserTimers, type Timers } from '../api/browser-timers.ts';

export interface PolledListOptions {
  timers?: Timers | undefined;
  /** How often to ask again while the page is open; live resources change with every heartbeat. */
  pollMs?: number | undefined;
  isVisible?: (() => boolean) | undefined;
}

export interface FastPoll<T> {
  /** While this holds for the items (a drain under way, say), the list is asked for every `ms`. */
  when: (items: T[]) => boolean;
  ms: number;
}

export interface PolledList<T> {
  /** Undefined until the first answer; kept as it was when a later load fails. */
  items: Accessor<T[] | undefined>;
  setItems: Setter<T[] | undefined>;
  /** Picks the polling pace again from the items as they are now. */
  reschedule(): void;
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
export function createPolledList<T>(
  fetch: () => Promise<T[]>,
  options: PolledListOptions & { fast?: FastPoll<T> | undefined },
): PolledList<T> {
  const timers = options.timers ?? browserTimers;
  const slowMs = options.pollMs ?? 10_000;
  const pollMs = () => (options.fast?.when(items() ?? []) ? options.fast.ms : slowMs);
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
    }, pollMs());
  }

  /** A change that calls for fast polling (a drain just asked for) takes effect now, not after the slow wait. */
  function reschedule(): void {
    if (timer === undefined || loading) return;
    timers.clear(timer);
    timer = undefined;
    schedule();
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
    reschedule,
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
