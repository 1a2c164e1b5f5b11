import { createEffect, For, on, onCleanup, Show } from 'solid-js';
import { IconButton } from '../../components/icon-button.tsx';
import { CloseIcon } from '../../components/icons.tsx';
import type { Theme } from '../../theme/theme-store.ts';
import { MONACO_THEMES } from '../code-editor.tsx';
import { languageForPath } from '../language-for-path.ts';
import { showDiff } from '../monaco/diff-view.ts';
import { loadMonaco } from '../monaco/load-monaco.ts';
import type { GitStore } from './git-store.ts';

/**
 * A file's changes in Monaco's diff editor, in place of the editor while it is open: the staged
 * side (HEAD ↔ index) or the unstaged one (index ↔ working tree), with each hunk's stage or
 * unstage button. It follows the store: a staged hunk re-reads the diff.
 */
export function GitDiffTab(props: { store: GitStore; theme: Theme; canWrite: boolean }) {
  const s = props.store;
  let container: HTMLDivElement | undefined;
  let dispose: (() => void) | undefined;
  let alive = true;
  onCleanup(() => {
    alive = false;
    dispose?.();
  });
  createEffect(
    on([s.diff, () => props.theme], async ([d, theme]) => {
      dispose?.();
      dispose = undefined;
      if (!d || !container || d.binary || d.tooLarge) return;
      const monaco = await loadMonaco();
      if (!alive || s.diff() !== d || !container) return;
      dispose = showDiff(monaco, container, {
        original: d.original ?? '',
        modified: d.modified ?? '',
        language: languageForPath(d.path),
        options: {
          readOnly: true,
          originalEditable: false,
          automaticLayout: true,
          renderSideBySide: true,
          theme: MONACO_THEMES[theme],
          ariaLabel: `Changes to ${d.path}`,
          fontSize: 13,
        },
      });
    }),
  );
  const title = () => {
    const open = s.openDiff();
    return open ? `${open.path} (${open.staged ? 'Staged' : 'Working tree'})` : '';
  };
  return (
    <div class="git-diff-tab">
      <div class="git-diff-header">
        <h2 class="git-diff-title">{title()}</h2>
        <IconButton label={`Close the diff of ${s.openDiff()?.path ?? ''}`} onClick={() => s.closeDiff()}>
          <CloseIcon />
        </IconButton>
      </div>
      <Show when={s.diff()}>
        {(d) => (
          <Show when={props.canWrite && d().hunks.length > 0}>
            <ul class="git-hunks" aria-label="Changes in this file">
              <For each={d().hunks}>
                {(h, i) => (
                  <li>
                    <code>{h.header}</code>
                    <button
                      type="button"
                      class="link-button"
                      aria-label={`${d().staged ? 'Unstage' : 'Stage'} change ${i() + 1} (${h.header})`}
                      disabled={s.busy() !== undefined}
                      onClick={() =>
                        void (d().staged ? s.unstageHunk(d().path, h.id) : s.stageHunk(d().path, h.id))
                      }
                    >
                      {d().staged ? 'Unstage change' : 'Stage change'}
                    </button>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        )}
      </Show>
      <Show when={s.diffError()}>
        {(e) => (
          <p class="alert alert-error" role="alert">
            {e()}
          </p>
        )}
      </Show>
      <Show when={s.diff()?.binary}>
        <p class="panel-note">A binary file: its changes are not shown.</p>
      </Show>
      <Show when={s.diff()?.tooLarge}>
        <p class="panel-note">Too large to show here.</p>
      </Show>
      <div class="git-diff-editor" ref={(el) => (container = el)} />
    </div>
  );
}
