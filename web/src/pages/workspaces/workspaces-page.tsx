import type { Workspace } from '@keel/contract/workspaces';
import { createEffect, createSignal, For, Match, on, onCleanup, onMount, Show, Switch } from 'solid-js';
import { useApis } from '../../api/api-context.ts';
import type { WorkspaceAction } from '../../api/workspaces-api.ts';
import { Button } from '../../components/button.tsx';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import { EmptyState } from '../../components/empty-state.tsx';
import { LoadingIndicator } from '../../components/loading-indicator.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { errorMessage } from '../../forms/error-message.ts';
import { can } from '../../session/permissions.ts';
import { useSession } from '../../session/session-context.ts';
import { AppHeader } from '../../shell/app-header.tsx';
import { CreateWorkspaceDialog } from '../../workspaces/create-workspace-dialog.tsx';
import { WorkspaceCard } from '../../workspaces/workspace-card.tsx';
import { createWorkspaceListStore } from '../../workspaces/workspace-list-store.ts';
import { STATUS_LABELS } from '../../workspaces/workspace-status.ts';

/** An action waiting for the person to confirm it. */
type Confirmation = { workspace: Workspace; action: WorkspaceAction | 'delete' };

const CONFIRM_TEXT: Record<
  'stop' | 'restart' | 'delete',
  { title: string; body: string; label: string; pending: string }
> = {
  stop: {
    title: 'Stop this workspace?',
    body: 'Running commands and terminals in it end. Its files are kept, and you can start it again later.',
    label: 'Stop workspace',
    pending: 'Stopping…',
  },
  restart: {
    title: 'Restart this workspace?',
    body: 'Running commands and terminals in it end; its files are kept.',
    label: 'Restart workspace',
    pending: 'Restarting…',
  },
  delete: {
    title: 'Delete this workspace?',
    body: 'Its container and every file in it are removed from the server. This cannot be undone.',
    label: 'Delete workspace',
    pending: 'Deleting…',
  },
};

/** The workspace selector: every workspace with its live status, and the way to create, run and open them. */
export function WorkspacesPage() {
  usePageTitle('Workspaces');
  const store = createWorkspaceListStore({
    api: useApis().workspaces,
    isVisible: () => document.visibilityState === 'visible',
  });
  const [creating, setCreating] = createSignal(false);
  const [confirming, setConfirming] = createSignal<Confirmation>();
  const [actionError, setActionError] = createSignal<string>();
  const [justCreated, setJustCreated] = createSignal<string>();
  const [announcement, setAnnouncement] = createSignal('');
  const [info, setInfo] = createSignal<string>();
  const [snapshotting, setSnapshotting] = createSignal<ReadonlySet<string>>(new Set());
  const apis = useApis();
  const lastStatus = new Map<string, string>();

  const onVisible = () => {
    if (document.visibilityState === 'visible') store.resume();
  };
  onMount(() => {
    void store.load();
    document.addEventListener('visibilitychange', onVisible);
  });
  onCleanup(() => {
    document.removeEventListener('visibilitychange', onVisible);
    store.dispose();
  });

  // One polite live region says when a status changes, instead of every badge announcing itself.
  createEffect(
    on(store.workspaces, (list) => {
      for (const workspace of list ?? []) {
        const before = lastStatus.get(workspace.id);
        if (before !== undefined && before !== workspace.status)
          setAnnouncement(`${workspace.name} is now ${STATUS_LABELS[workspace.status].toLowerCase()}.`);
        lastStatus.set(workspace.id, workspace.status);
      }
    }),
  );
  const workspaces = store.workspaces;

  async function run(workspace: Workspace, action: WorkspaceAction | 'delete'): Promise<void> {
    setActionError(undefined);
    try {
      if (action === 'delete') await store.remove(workspace.id);
      else await store.act(workspace.id, action);
    } catch (error) {
      setActionError(`Could not ${action} ${workspace.name}: ${errorMessage(error)}`);
    }
  }

  async function snapshot(workspace: Workspace): Promise<void> {
    setActionError(undefined);
    setInfo(undefined);
    setSnapshotting((current) => new Set(current).add(workspace.id));
    try {
      await apis.fleet.snapshot(workspace.id);
      setInfo(`A snapshot of ${workspace.name} is being saved. Its snapshots are listed in the IDE.`);
    } catch (error) {
      setActionError(`Could not snapshot ${workspace.name}: ${errorMessage(error)}`);
    } finally {
      setSnapshotting((current) => {
        const next = new Set(current);
        next.delete(workspace.id);
        return next;
      });
    }
  }

  function request(workspace: Workspace, action: WorkspaceAction | 'delete'): void {
    if (action === 'start') void run(workspace, action);
    else setConfirming({ workspace, action });
  }

  const session = useSession();
  const mayCreate = () => can(session.state(), 'workspaces:create');
  const mayWork = () => can(session.state(), 'workspaces:use');
  const newButton = () => (
    <Show when={mayCreate()}>
      <Button onClick={() => setCreating(true)}>New workspace</Button>
    </Show>
  );

  return (
    <div class="app-shell">
      <AppHeader />
      <main class="app-main app-main-wide">
        <div class="page-heading">
          <h1 class="page-title">Workspaces</h1>
          <Show when={(store.workspaces()?.length ?? 0) > 0}>{newButton()}</Show>
        </div>
        <p class="visually-hidden" role="status" aria-live="polite">
          {announcement()}
        </p>
        <Show when={info()}>
          {(message) => (
            <div class="alert alert-info" role="status">
              <p>{message()}</p>
            </div>
          )}
        </Show>
        <Show when={actionError()}>
          {(message) => (
            <div class="alert alert-error" role="alert">
              <p>{message()}</p>
            </div>
          )}
        </Show>
        <Show when={store.loadError()}>
          {(error) => (
            <div class="alert alert-error" role="alert">
              <p>Could not load your workspaces. {errorMessage(error())}</p>
              <p>
                <Button variant="secondary" size="small" onClick={() => void store.load()}>
                  Try again
                </Button>
              </p>
            </div>
          )}
        </Show>
        <Switch>
          <Match when={workspaces() === undefined && !store.loadError()}>
            <div class="list-placeholder">
              <LoadingIndicator label="Loading workspaces…" />
            </div>
          </Match>
          <Match when={workspaces()?.length === 0}>
            <EmptyState title="No workspaces yet" action={newButton()}>
              <p>
                A workspace is an isolated container with your files, a terminal and the commands you run.
                Start with an empty one, or clone a Git repository into it.
              </p>
            </EmptyState>
          </Match>
          <Match when={workspaces()}>
            {(list) => (
              <ul class="workspace-list" aria-label="Your workspaces">
                <For each={list()}>
                  {(workspace) => (
                    <WorkspaceCard
                      workspace={workspace}
                      pending={store.pending(workspace.id)}
                      showProgress={justCreated() === workspace.id}
                      onAction={(action) => request(workspace, action)}
                      onDelete={() => request(workspace, 'delete')}
                      snapshotPending={snapshotting().has(workspace.id)}
                      onSnapshot={() => void snapshot(workspace)}
                      readOnly={!mayWork()}
                    />
                  )}
                </For>
              </ul>
            )}
          </Match>
        </Switch>
      </main>
      <CreateWorkspaceDialog
        open={creating()}
        onCreate={(input) => store.create(input)}
        onCreated={(workspace) => {
          setJustCreated(workspace.id);
          setCreating(false);
        }}
        onCancel={() => setCreating(false)}
      />
      <Show when={confirming()}>
        {(current) => {
          const text = () => CONFIRM_TEXT[current().action as 'stop' | 'restart' | 'delete'];
          return (
            <ConfirmDialog
              open
              title={text().title}
              confirmLabel={text().label}
              pendingLabel={text().pending}
              danger={current().action !== 'restart'}
              onConfirm={async () => {
                await run(current().workspace, current().action);
                setConfirming(undefined);
              }}
              onCancel={() => setConfirming(undefined)}
            >
              <p>
                <strong>{current().workspace.name}</strong>: {text().body}
              </p>
            </ConfirmDialog>
          );
        }}
      </Show>
    </div>
  );
}
