import { createSignal, Show } from 'solid-js';
import { Button } from '../components/button.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { errorMessage } from '../forms/error-message.ts';
import type { Theme } from '../theme/theme-store.ts';
import type { SaveConflict } from './editor-tabs-store.ts';
import { mountReadOnlyDiff } from './monaco/read-only-diff.ts';

export interface ConflictEditorProps {
  path: string;
  conflict: SaveConflict;
  mine: string;
  theme: Theme;
  onOverwrite: () => Promise<void>;
  onReload: () => Promise<void>;
}

/**
 * Shown when a save was refused because the file changed on the server since it was opened: the server's
 * version beside this one, and the two ways out. Nothing is overwritten until the person says so.
 */
export function ConflictEditor(props: ConflictEditorProps) {
  const [pending, setPending] = createSignal<'overwrite' | 'reload'>();
  const { ref, ready, error, setError } = mountReadOnlyDiff({
    path: props.path,
    original: props.conflict.serverContent,
    modified: props.mine,
    theme: props.theme,
    ariaLabel: `Differences in ${props.path}`,
  });

  async function choose(choice: 'overwrite' | 'reload'): Promise<void> {
    setPending(choice);
    setError(undefined);
    try {
      await (choice === 'overwrite' ? props.onOverwrite() : props.onReload());
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(undefined);
    }
  }

  return (
    <section class="conflict" aria-labelledby="conflict-title">
      <div class="conflict-header">
        <div>
          <h2 id="conflict-title" class="conflict-title">
            {props.path} changed on the server
          </h2>
          <p class="conflict-text">
            <Show
              when={props.conflict.serverSha256 !== undefined}
              fallback="It was deleted since you opened it. Saving your version creates it again."
            >
              Someone (or a command) changed it since you opened it. Left: the server’s version. Right: yours.
            </Show>
          </p>
        </div>
        <div class="conflict-actions">
          <Button
            variant="secondary"
            size="small"
            pending={pending() === 'reload'}
            pendingLabel="Reloading…"
            disabled={pending() !== undefined}
            onClick={() => void choose('reload')}
          >
            Discard mine, use theirs
          </Button>
          <Button
            variant="danger"
            size="small"
            pending={pending() === 'overwrite'}
            pendingLabel="Saving…"
            disabled={pending() !== undefined}
            onClick={() => void choose('overwrite')}
          >
            Overwrite with mine
          </Button>
        </div>
      </div>
      <Show when={error()}>
        {(failure) => (
          <p class="alert alert-error" role="alert">
            {errorMessage(failure())}
          </p>
        )}
      </Show>
      <Show when={!ready() && !error()}>
        <LoadingIndicator label="Comparing versions…" />
      </Show>
      <div ref={ref} class="conflict-diff" />
    </section>
  );
}
