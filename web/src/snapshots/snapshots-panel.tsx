import type { SnapshotView } from '@keel/contract/snapshots';
import { useNavigate } from '@solidjs/router';
import { createSignal, For, Match, onMount, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { PromptDialog } from '../components/prompt-dialog.tsx';
import { relativeTime } from '../format/relative-time.ts';
import { errorMessage } from '../forms/error-message.ts';
import type { SnapshotListStore } from './snapshot-list-store.ts';
import { describeSnapshotSize, REASON_LABELS, SNAPSHOT_STATUS_LABELS } from './snapshot-words.ts';

/**
 * A workspace's snapshots: when, why, how big and what each wrote, its state, and Restore (which
 * replaces the files, so it asks first), New workspace from it, and Delete.
 */
export function SnapshotsPanel(props: {
  store: SnapshotListStore;
  workspaceName: string;
  /** Called once a restore is accepted: the workspace is stopped and started again around it. */
  onRestoring: () => void;
}) {
  const apis = useApis();
  const navigate = useNavigate();
  const [restoring, setRestoring] = createSignal<SnapshotView>();
  const [deleting, setDeleting] = createSignal<SnapshotView>();
  const [copying, setCopying] = createSignal<SnapshotView>();
  const [message, setMessage] = createSignal('');
  const [error, setError] = createSignal<string>();
  onMount(() => void props.store.load());

  async function take(): Promise<void> {
    setError(undefined);
    try {
      await props.store.take();
      setMessage('Saving a snapshot…');
    } catch (failure) {
      setError(`Could not take a snapshot: ${errorMessage(failure)}`);
    }
  }

  return (
    <div class="side-panel">
      <div class="page-heading">
        <Button
          size="small"
          pending={props.store.taking()}
          pendingLabel="Asking…"
          onClick={() => void take()}
        >
          Take a snapshot
        </Button>
        <Button size="small" variant="secondary" onClick={() => void props.store.load()}>
          Refresh
        </Button>
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">
        {message()}
      </p>
      <Show when={error()}>
        {(text) => (
          <div class="alert alert-error" role="alert">
            <p>{text()}</p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={props.store.loadError() && props.store.snapshots() === undefined}>
          <div class="alert alert-error" role="alert">
            <p>Could not load the snapshots. {errorMessage(props.store.loadError())}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void props.store.load()}>
                Try again
              </Button>
            </p>
          </div>
        </Match>
        <Match when={props.store.snapshots() === undefined}>
          <LoadingIndicator label="Loading snapshots…" />
        </Match>
        <Match when={props.store.snapshots()?.length === 0}>
          <EmptyState title="No snapshots yet">
            <p>A snapshot saves this workspace’s files, to restore later or to start a new workspace from.</p>
          </EmptyState>
        </Match>
        <Match when={props.store.snapshots()}>
          {(list) => (
            <table class="data-table" aria-label="Snapshots">
              <thead>
                <tr>
                  <th scope="col">Taken</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Size</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={list()}>
                  {(snapshot) => {
                    const when = () => snapshot.takenAt ?? snapshot.createdAt;
                    const label = () => relativeTime(when());
                    return (
                      <tr>
                        <td>
                          <time datetime={when()}>{label()}</time>
                          <Show when={snapshot.pinned}> · pinned</Show>
                        </td>
                        <td>{REASON_LABELS[snapshot.reason]}</td>
                        <td>{describeSnapshotSize(snapshot)}</td>
                        <td>
                          {SNAPSHOT_STATUS_LABELS[snapshot.status]}
                          <Show when={snapshot.error}>{(why) => <>: {why()}</>}</Show>
                        </td>
                        <td>
                          <div class="snapshot-actions">
                            <Show when={snapshot.status === 'ready'}>
                              <Button
                                size="small"
                                variant="secondary"
                                ariaLabel={`Restore the snapshot of ${label()}`}
                                pending={props.store.pending(snapshot.id) === 'restore'}
                                pendingLabel="Restoring…"
                                onClick={() => setRestoring(snapshot)}
                              >
                                Restore
                              </Button>
                              <Button
                                size="small"
                                variant="secondary"
                                ariaLabel={`New workspace from the snapshot of ${label()}`}
                                onClick={() => setCopying(snapshot)}
                              >
                                New workspace
                              </Button>
                            </Show>
                            <Button
                              size="small"
                              variant="ghost"
                              ariaLabel={`Delete the snapshot of ${label()}`}
                              pending={props.store.pending(snapshot.id) === 'delete'}
                              pendingLabel="Deleting…"
                              onClick={() => setDeleting(snapshot)}
                            >
                              Delete
                            </Button>
                          </div>
                        </td>
                      </tr>
                    );
                  }}
                </For>
              </tbody>
            </table>
          )}
        </Match>
      </Switch>

      <Show when={restoring()}>
        {(snapshot) => (
          <ConfirmDialog
            open
            danger
            title="Restore this snapshot?"
            confirmLabel="Replace the files"
            pendingLabel="Restoring…"
            onConfirm={async () => {
              await props.store.restore(snapshot().id);
              setMessage('Restoring the snapshot…');
              setRestoring(undefined);
              props.onRestoring();
            }}
            onCancel={() => setRestoring(undefined)}
          >
            <p>
              Every file of <strong>{props.workspaceName}</strong> is replaced by the snapshot’s, from{' '}
              {relativeTime(snapshot().takenAt ?? snapshot().createdAt)}. Files made since are lost. The
              workspace is stopped for it and started again if it was running.
            </p>
          </ConfirmDialog>
        )}
      </Show>

      <Show when={deleting()}>
        {(snapshot) => (
          <ConfirmDialog
            open
            danger
            title="Delete this snapshot?"
            confirmLabel="Delete snapshot"
            pendingLabel="Deleting…"
            onConfirm={async () => {
              await props.store.remove(snapshot().id);
              setMessage('The snapshot is deleted.');
              setDeleting(undefined);
            }}
            onCancel={() => setDeleting(undefined)}
          >
            <p>It cannot be restored afterwards. The workspace itself is not touched.</p>
          </ConfirmDialog>
        )}
      </Show>

      <PromptDialog
        open={copying() !== undefined}
        title="New workspace from this snapshot"
        label="Name"
        initialValue={`${props.workspaceName} copy`.slice(0, 64)}
        hint="It starts with the snapshot’s files."
        submitLabel="Create workspace"
        pendingLabel="Creating…"
        validate={(value) =>
          /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(value.trim())
            ? undefined
            : 'Letters, digits, spaces, dots, dashes and underscores (up to 64).'
        }
        onSubmit={async (name) => {
          const snapshot = copying();
          if (!snapshot) return;
          const created = await apis.workspaces.create({
            name: name.trim(),
            source: { type: 'snapshot', snapshotId: snapshot.id },
          });
          setCopying(undefined);
          navigate(`/workspaces/${created.id}`);
        }}
        onCancel={() => setCopying(undefined)}
      />
    </div>
  );
}
