import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createThemeStore } from './theme-store.ts';

function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    data,
  };
}

describe('theme store', () => {
  test('follows the system until a theme is chosen, and remembers the choice', () => {
    const storage = memoryStorage();
    let dark = true;
    let notify = () => {};
    const store = createRoot(() =>
      createThemeStore({
        storage,
        systemPrefersDark: () => dark,
        onSystemChange: (listener) => {
          notify = listener;
          return () => {};
        },
      }),
    );

    assert.equal(store.preference(), 'system');
    assert.equal(store.theme(), 'dark');
    dark = false;
    notify();
    assert.equal(store.theme(), 'light');

    store.setPreference('dark');
    assert.equal(store.theme(), 'dark');
    assert.equal(storage.data.get('keel.theme'), 'dark');
  });

  test('reads a stored choice and ignores garbage', () => {
    const stored = createRoot(() =>
      createThemeStore({ storage: memoryStorage({ 'keel.theme': 'light' }), systemPrefersDark: () => true }),
    );
    const garbage = createRoot(() =>
      createThemeStore({ storage: memoryStorage({ 'keel.theme': 'neon' }), systemPrefersDark: () => true }),
    );

    assert.equal(stored.theme(), 'light');
    assert.equal(garbage.preference(), 'system');
  });

  test('cycling starts with the opposite of the system theme, then the system’s own, then system', () => {
    const store = createRoot(() => createThemeStore({ systemPrefersDark: () => true }));

    const seen = [store.preference()];
    for (let i = 0; i < 3; i += 1) {
      store.cycle();
      seen.push(store.preference());
    }

    assert.deepEqual(seen, ['system', 'light', 'dark', 'system']);
  });

  test('storage that throws does not break choosing', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    };
    const store = createRoot(() => createThemeStore({ storage: broken, systemPrefersDark: () => false }));

    store.setPreference('dark');

    assert.equal(store.theme(), 'dark');
  });
});
