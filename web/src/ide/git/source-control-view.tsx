import { isBranchName } from '@keel/contract/git';
import { createSignal, For, onMount, Show } from 'solid-js';
import { Button } from '../../components/button.tsx';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import { IconButton } from '../../components/icon-button.tsx';
import { RefreshIcon } from '../../components/icons.tsx';
import { PromptDialog } from '../../components/prompt-dialog.tsx';
import {
  type ChangeGroup,
  type ChangeRow,
  GROUP_TITLES,
  groupChanges,
  LETTER_NAMES,
  syncLabel,
} from './git-changes.ts';
import type { GitStore } from './git-store.ts';
import './source-control.css';

export interface SourceControlViewProps {
  store: GitStore;
  /** Stage, commit, switch and discard: `workspaces:use`. */
  canWrite: boolean;
  /** Fetch, pull and push go with the owner's Git host token: the owner only. */
  canSync: boolean;
  mac: boolean;
}

const ORDER: ChangeGroup[] = ['conflicted', 'staged', 'unstaged', 'untracked'];

/** The Source Control view of the side bar, as VS Code's: branch, commit box, changes by group. */
export function SourceControlView(props: SourceControlViewProps) {
  const s = props.store;
  const [message, setMessage] = createSignal('');
  const [discarding, setDiscarding] = createSignal<ChangeRow>();
  const [creating, setCreating] = createSignal(false);
  const groups = () => groupChanges(s.status());
  onMount(() => {
    void s.refresh();
    void s.loadBranches();
  });

  async function commit(): Promise<void> {
    const text = message();
    if (!text.trim() || s.busy()) return;
    if (await s.commit(text)) setMessage('');
  }

  const localBranches = () => (s.branches()?.branches ?? []).filter((b) => !b.remote);

  return (
    <section class="scm" aria-label="Source control">
      <div class="sidebar-heading">
        <h2 class="sidebar-title">Source control</h2>
        <div class="tree-toolbar">
          <IconButton
            label="Refresh source control"
            onClick={() => {
              void s.refresh();
              void s.loadBranches();
            }}
          >
            <RefreshIcon />
          </IconButton>
        </div>
      </div>
      <div class="scm-branch">
        <label class="scm-label" for="scm-branch-select">
          Branch
        </label>
        <select
          id="scm-branch-select"
          class="scm-select"
          disabled={!props.canWrite || s.busy() !== undefined}
          value={s.status()?.branch ?? ''}
          onFocus={() => void s.loadBranches()}
          onChange={(event) => {
            const name = event.currentTarget.value;
            if (name && name !== s.status()?.branch) void s.switchBranch(name).then(() => s.loadBranches());
          }}
        >
          <Show when={!s.status()?.branch}>
            <option value="">{s.status() ? '(detached HEAD)' : '…'}</option>
          </Show>
          <For each={localBranches()}>{(b) => <option value={b.name}>{b.name}</option>}</For>
          <Show when={s.status()?.branch && !localBranches().some((b) => b.name === s.status()?.branch)}>
            <option value={s.status()?.branch ?? ''}>{s.status()?.branch}</option>
          </Show>
        </select>
        <Show when={props.canWrite}>
          <Button size="small" variant="secondary" onClick={() => setCreating(true)}>
            New branch
          </Button>
        </Show>
      </div>
      <p class="scm-sync">{syncLabel(s.status())}</p>
      <Show when={props.canSync}>
        <div class="scm-sync-buttons">
          <Button
            size="small"
            variant="secondary"
            pending={s.busy() === 'Fetching…'}
            pendingLabel="Fetching…"
            disabled={s.busy() !== undefined}
            onClick={() => void s.fetch()}
          >
            Fetch
          </Button>
          <Button
            size="small"
            variant="secondary"
            pending={s.busy() === 'Pulling…'}
            pendingLabel="Pulling…"
            disabled={s.busy() !== undefined}
            onClick={() => void s.pull()}
          >
            Pull
          </Button>
          <Button
            size="small"
            variant="secondary"
            pending={s.busy() === 'Pushing…'}
            pendingLabel="Pushing…"
            disabled={s.busy() !== undefined}
            onClick={() => void s.push()}
          >
            Push
          </Button>
        </div>
      </Show>
      <div class="scm-status" role="status" aria-live="polite">
        <Show when={s.busy()}>
          {(label) => (
            <p>
              <span class="spinner spinner-small" aria-hidden="true" /> {label()}
            </p>
          )}
        </Show>
        <Show when={!s.busy() && s.notice()}>{(said) => <p class="scm-notice">{said()}</p>}</Show>
      </div>
      <Show when={s.error() ?? s.statusError()}>
        {(said) => (
          <div class="alert alert-error scm-error" role="alert">
            <p>{said()}</p>
            <button type="button" class="link-button" onClick={() => s.dismiss()}>
              Dismiss
            </button>
          </div>
        )}
      </Show>
      <Show when={props.canWrite}>
        <div class="scm-commit">
          <textarea
            class="scm-message"
            aria-label="Commit message"
            placeholder={`Message (${props.mac ? '⌘' : 'Ctrl'}+Enter to commit)`}
            rows={3}
            maxLength={16000}
            value={message()}
            onInput={(event) => setMessage(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                event.stopPropagation();
                void commit();
              }
            }}
          />
          <Button
            size="small"
            pending={s.busy() === 'Committing…'}
            pendingLabel="Committing…"
            disabled={!message().trim() || s.busy() !== undefined || groups().staged.length === 0}
            title={groups().staged.length === 0 ? 'Stage changes to commit them' : undefined}
            onClick={() => void commit()}
          >
            Commit
          </Button>
        </div>
      </Show>
      <div class="scm-groups">
        <Show when={s.status() && s.status()!.files.length === 0}>
          <p class="scm-empty">No changes.</p>
        </Show>
        <For each={ORDER.filter((g) => groups()[g].length > 0)}>
          {(group) => (
            <section class="scm-group" aria-label={GROUP_TITLES[group]}>
              <div class="scm-group-heading">
                <h3>
                  {GROUP_TITLES[group]} <span class="scm-count">{groups()[group].length}</span>
                </h3>
                <Show when={props.canWrite && group !== 'conflicted'}>
                  <button
                    type="button"
                    class="link-button"
                    onClick={() => {
                      const paths = groups()[group].map((r) => r.path);
                      void (group === 'staged' ? s.unstage(paths) : s.stage(paths));
                    }}
                  >
                    {group === 'staged' ? 'Unstage all' : 'Stage all'}
                  </button>
                </Show>
              </div>
              <ul class="scm-files">
                <For each={groups()[group]}>
                  {(row) => (
                    <li
                      class="scm-file"
                      classList={{
                        'scm-file-open':
                          s.openDiff()?.path === row.path && s.openDiff()?.staged === (group === 'staged'),
                      }}
                    >
                      <button
                        type="button"
                        class="scm-file-name"
                        title={row.origPath ? `${row.origPath} → ${row.path}` : row.path}
                        onClick={() => void s.showDiff(row.path, group === 'staged')}
                      >
                        <span class="scm-file-base">{row.path.split('/').pop()}</span>
                        <span class="scm-file-dir">{row.path.split('/').slice(0, -1).join('/')}</span>
                      </button>
                      <Show when={props.canWrite}>
                        <span class="scm-file-actions">
                          <Show when={group === 'unstaged' || group === 'untracked'}>
                            <button
                              type="button"
                              class="scm-action"
                              aria-label={`Discard changes to ${row.path}`}
                              title="Discard changes"
                              onClick={() => setDiscarding(row)}
                            >
                              ↺
                            </button>
                          </Show>
                          <Show
                            when={group === 'staged'}
                            fallback={
                              <button
                                type="button"
                                class="scm-action"
                                aria-label={`Stage ${row.path}`}
                                title="Stage"
                                onClick={() => void s.stage([row.path])}
                              >
                                +
                              </button>
                            }
                          >
                            <button
                              type="button"
                              class="scm-action"
                              aria-label={`Unstage ${row.path}`}
                              title="Unstage"
                              onClick={() => void s.unstage([row.path])}
                            >
                              −
                            </button>
                          </Show>
                        </span>
                      </Show>
                      <span
                        class={`scm-letter scm-letter-${row.letter === '?' ? 'untracked' : row.letter}`}
                        title={LETTER_NAMES[row.letter] ?? row.letter}
                        aria-hidden="true"
                      >
                        {row.letter === '?' ? 'U' : row.letter}
                      </span>
                      <span class="visually-hidden">{LETTER_NAMES[row.letter] ?? row.letter}</span>
                    </li>
                  )}
                </For>
              </ul>
            </section>
          )}
        </For>
      </div>
      <Show when={discarding()}>
        {(row) => (
          <ConfirmDialog
            open
            danger
            title={
              row().group === 'untracked' ? `Delete ${row().path}?` : `Discard changes to ${row().path}?`
            }
            confirmLabel={row().group === 'untracked' ? 'Delete file' : 'Discard changes'}
            pendingLabel="Discarding…"
            onConfirm={async () => {
              await s.discard([row().path]);
              setDiscarding(undefined);
            }}
            onCancel={() => setDiscarding(undefined)}
          >
            <p>
              {row().group === 'untracked'
                ? 'The file is not in Git: deleting it cannot be undone.'
                : 'Its unstaged changes are lost; this cannot be undone.'}
            </p>
          </ConfirmDialog>
        )}
      </Show>
      <PromptDialog
        open={creating()}
        title="Create a branch"
        label="Branch name"
        hint="Created from the commit checked out, and switched to; your changes come along."
        submitLabel="Create branch"
        pendingLabel="Creating…"
        validate={(value) => (isBranchName(value.trim()) ? undefined : 'Not a valid branch name')}
        onSubmit={async (value) => {
          await s.createBranch(value.trim());
          await s.loadBranches();
          setCreating(false);
        }}
        onCancel={() => setCreating(false)}
      />
    </section>
  );
}
