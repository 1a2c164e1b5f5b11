import type { Monaco } from './monaco-environment.ts';

let loading: Promise<Monaco> | undefined;

/**
 * Loads Monaco (several megabytes) on first use only: the sign-in page and the workspace list never pay for
 * it, and the IDE shell, file tree and panels render while it arrives.
 */
export function loadMonaco(): Promise<Monaco> {
  loading ??= import('./monaco-environment.ts').then((module) => module.monaco);
  // A failed download (network blip) may succeed on the next try instead of failing for the page's lifetime.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
