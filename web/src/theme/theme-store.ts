import { type Accessor, createSignal } from 'solid-js';

export type ThemePreference = 'system' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

export interface ThemeStore {
  preference: Accessor<ThemePreference>;
  /** The theme in effect: the preference, or the system's when it is `system`. */
  theme(): Theme;
  setPreference(preference: ThemePreference): void;
  /** What `cycle` would choose next. */
  next(): ThemePreference;
  /**
   * For a single toggle button: from `system` to the opposite of what the system shows (so the first click
   * always changes something), then to the system's own theme chosen explicitly, then back to `system`.
   */
  cycle(): void;
  dispose(): void;
}

export interface ThemeHost {
  storage?: Pick<Storage, 'getItem' | 'setItem'> | undefined;
  /** Whether the system prefers dark, and a way to hear when that changes. */
  systemPrefersDark(): boolean;
  onSystemChange?(listener: () => void): () => void;
}

const STORAGE_KEY = 'keel.theme';

export function createThemeStore(host: ThemeHost): ThemeStore {
  const stored = readStored(host.storage);
  const [preference, setPreferenceSignal] = createSignal<ThemePreference>(stored);
  const [systemDark, setSystemDark] = createSignal(host.systemPrefersDark());
  const unsubscribe = host.onSystemChange?.(() => setSystemDark(host.systemPrefersDark())) ?? (() => {});

  function setPreference(next: ThemePreference): void {
    setPreferenceSignal(next);
    try {
      host.storage?.setItem(STORAGE_KEY, next);
    } catch {
      // Storage can be full or disabled (private windows); the choice then lasts for this page only.
    }
  }

  function next(): ThemePreference {
    const system: Theme = systemDark() ? 'dark' : 'light';
    const opposite: Theme = system === 'dark' ? 'light' : 'dark';
    const current = preference();
    if (current === 'system') return opposite;
    return current === opposite ? system : 'system';
  }

  return {
    preference,
    next,
    theme: () => {
      const chosen = preference();
      if (chosen !== 'system') return chosen;
      return systemDark() ? 'dark' : 'light';
    },
    setPreference,
    cycle() {
      setPreference(next());
    },
    dispose: unsubscribe,
  };
}

function readStored(storage: ThemeHost['storage']): ThemePreference {
  try {
    const value = storage?.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' || value === 'system' ? value : 'system';
  } catch {
    return 'system';
  }
}

/** The browser wiring: localStorage and the prefers-color-scheme media query. */
export function browserThemeHost(win: Window): ThemeHost {
  const query = win.matchMedia('(prefers-color-scheme: dark)');
  return {
    storage: safeLocalStorage(win),
    systemPrefersDark: () => query.matches,
    onSystemChange(listener) {
      query.addEventListener('change', listener);
      return () => query.removeEventListener('change', listener);
    },
  };
}

/** localStorage, or undefined where reading it throws (disabled cookies/storage). */
export function safeLocalStorage(win: Window): Storage | undefined {
  try {
    return win.localStorage;
  } catch {
    return undefined;
  }
}
