import { type Accessor, createSignal } from 'solid-js';

/** A list loaded from the API: undefined while loading, the error if it failed, reloadable. */
export interface ListResource<T> {
  items: Accessor<T[] | undefined>;
  error: Accessor<unknown>;
  load(): Promise<void>;
}

export function createListResource<T>(fetchList: () => Promise<T[]>): ListResource<T> {
  const [items, setItems] = createSignal<T[]>();
  const [error, setError] = createSignal<unknown>();
  let generation = 0;
  return {
    items,
    error,
    async load() {
      const mine = ++generation;
      setError(undefined);
      try {
        const list = await fetchList();
        if (mine === generation) setItems(list);
      } catch (failure) {
        if (mine === generation) setError(failure);
      }
    },
  };
}
