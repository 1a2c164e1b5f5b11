import { type Accessor, createSignal, onCleanup, onMount, type Setter } from 'solid-js';
import type { Theme } from '../../theme/theme-store.ts';
import { MONACO_THEMES } from '../code-editor.tsx';
import { languageForPath } from '../language-for-path.ts';
import { type DiffEditorOptions, showDiff } from './diff-view.ts';
import { loadMonaco } from './load-monaco.ts';

export interface ReadOnlyDiffInput {
  path: string;
  original: string;
  modified: string;
  theme: Theme;
  ariaLabel: string;
  /** Added to the read-only, side-by-side defaults. */
  options?: DiffEditorOptions;
}

export interface ReadOnlyDiff {
  /** Give to the container element's `ref`. */
  ref: (el: HTMLDivElement) => void;
  ready: Accessor<boolean>;
  error: Accessor<unknown>;
  setError: Setter<unknown>;
}

/**
 * Loads Monaco and shows a read-only diff in the element given to `ref` once the component mounts;
 * takes it down with the component. Call it from a component body.
 */
export function mountReadOnlyDiff(input: ReadOnlyDiffInput): ReadOnlyDiff {
  const [ready, setReady] = createSignal(false);
  const [error, setError] = createSignal<unknown>();
  let container: HTMLDivElement | undefined;
  // Registered now: a cleanup registered after an await would have no owner and never run.
  let dispose: (() => void) | undefined;
  let mounted = true;
  onCleanup(() => {
    mounted = false;
    dispose?.();
  });

  onMount(async () => {
    try {
      const monaco = await loadMonaco();
      if (!mounted || container === undefined) return;
      dispose = showDiff(monaco, container, {
        original: input.original,
        modified: input.modified,
        language: languageForPath(input.path),
        options: {
          readOnly: true,
          originalEditable: false,
          automaticLayout: true,
          renderSideBySide: true,
          theme: MONACO_THEMES[input.theme],
          ariaLabel: input.ariaLabel,
          fontSize: 13,
          ...input.options,
        },
      });
      setReady(true);
    } catch (failure) {
      setError(failure);
    }
  });

  return {
    ref: (el) => {
      container = el;
    },
    ready,
    error,
    setError,
  };
}
