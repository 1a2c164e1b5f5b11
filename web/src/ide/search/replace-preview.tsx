import { createSignal, For, Show } from 'solid-js';
import { ApiError } from '../../api/api-error.ts';
import { Button } from '../../components/button.tsx';
import { Dialog } from '../../components/dialog.tsx';
import { LoadingIndicator } from '../../components/loading-indicator.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import type { Theme } from '../../theme/theme-store.ts';
import { mountReadOnlyDiff } from '../monaco/read-only-diff.ts';

/** What "Replace all" would do: each file before and after, and the one patch that does it. */
export interface ReplacePlan {
  files: Array<{ path: string; before: string; after: string; lines: number }>;
  /** Unified diff of every file. */
  patch: string;
  /** path → the hash of the content the patch was made from. */
  expected: Record<string, string>;
}

export interface ReplacePreviewProps {
  plan: ReplacePlan | undefined;
  theme: Theme;
  onApply: (plan: ReplacePlan) => Promise<void>;
  onCancel: () => void;
}

/** The change as a diff per file (Monaco's diff view, read-only), applied only when confirmed. */
export function ReplacePreview(props: ReplacePreviewProps) {
  return (
    <Dialog open={props.plan !== undefined} title="Replace in files" onClose={props.onCancel} size="wide">
      <Show when={props.plan}>{(plan) => <PreviewBody {...props} plan={plan()} />}</Show>
    </Dialog>
  );
}

function PreviewBody(props: ReplacePreviewProps & { plan: ReplacePlan }) {
  const [selected, setSelected] = createSignal(props.plan.files[0]?.path);
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const lines = () => props.plan.files.reduce((n, f) => n + f.lines, 0);

  async function apply(): Promise<void> {
    setPending(true);
    setError(undefined);
    try {
      await props.onApply(props.plan);
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 409
          ? 'A file changed since this preview was made, so nothing was replaced. Search again and retry.'
          : errorMessage(failure),
      );
    } finally {
      setPending(false);
    }
  }

  return (
    <div class="replace-preview">
      <p>
        {lines()} {lines() === 1 ? 'line' : 'lines'} in {props.plan.files.length}{' '}
        {props.plan.files.length === 1 ? 'file' : 'files'} change. All files are changed, or none.
      </p>
      <ul class="replace-preview-files" aria-label="Files that change">
        <For each={props.plan.files}>
          {(file) => (
            <li>
              <button
                type="button"
                class="link-button"
                aria-current={selected() === file.path ? 'true' : undefined}
                onClick={() => setSelected(file.path)}
              >
                {file.path} ({file.lines})
              </button>
            </li>
          )}
        </For>
      </ul>
      <For each={props.plan.files.filter((f) => f.path === selected())}>
        {(file) => (
          <FileDiff path={file.path} original={file.before} modified={file.after} theme={props.theme} />
        )}
      </For>
      <Show when={error()}>
        {(message) => (
          <p class="alert alert-error" role="alert">
            {message()}
          </p>
        )}
      </Show>
      <div class="dialog-footer-inline">
        <Button variant="secondary" onClick={props.onCancel}>
          Cancel
        </Button>
        <Button pending={pending()} pendingLabel="Replacing…" onClick={() => void apply()}>
          Replace in {props.plan.files.length} {props.plan.files.length === 1 ? 'file' : 'files'}
        </Button>
      </div>
    </div>
  );
}

function FileDiff(props: { path: string; original: string; modified: string; theme: Theme }) {
  const { ref, ready, error } = mountReadOnlyDiff({
    path: props.path,
    original: props.original,
    modified: props.modified,
    theme: props.theme,
    ariaLabel: `Replacements in ${props.path}`,
    options: { minimap: { enabled: false } },
  });
  return (
    <>
      <Show when={error()}>
        {(failure) => (
          <p class="alert alert-error" role="alert">
            The comparison could not be shown. {errorMessage(failure())}
          </p>
        )}
      </Show>
      <Show when={!ready() && !error()}>
        <LoadingIndicator label="Comparing versions…" />
      </Show>
      <div ref={ref} class="conflict-diff replace-preview-diff" />
    </>
  );
}
