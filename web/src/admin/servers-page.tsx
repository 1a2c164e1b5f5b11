import type { RunnerView } from '@keel/contract/runners';
import type { ServerView } from '@keel/contract/servers';
import { createResource, createSignal, For, Match, onCleanup, onMount, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { ApiError } from '../api/api-error.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { errorMessage } from '../forms/error-message.ts';
import { DrainConfirm } from './drain.tsx';
import { offeredHostKey, ServerCard } from './server-card.tsx';
import { ServerFormDialog } from './server-form-dialog.tsx';
import { createServerListStore } from './server-list-store.ts';
import { testOutcome } from './server-words.ts';

type Editing = { server?: ServerView };

/** Admin › Servers: the organization's infrastructure servers, their tests and live resources. */
export default function ServersPage() {
  usePageTitle('Servers');
  const apis = useApis();
  const store = createServerListStore({
    api: apis.servers,
    drain: (id, drain) => apis.fleet.drainServer(id, drain),
    isVisible: () => document.visibilityState === 'visible',
  });
  // For the assignment choice and names; the page works without it (ids are shown instead).
  const [runners] = createResource<RunnerView[]>(() => apis.runners.list().catch(() => []), {
    initialValue: [],
  });
  const [editing, setEditing] = createSignal<Editing>();
  const [deleting, setDeleting] = createSignal<ServerView>();
  const [draining, setDraining] = createSignal<ServerView>();
  const [confirmingKey, setConfirmingKey] = createSignal<ServerView>();
  const [actionError, setActionError] = createSignal<string>();
  const [announcement, setAnnouncement] = createSignal('');

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

  const current = (id: string) => store.servers()?.find((s) => s.id === id);

  async function test(server: ServerView): Promise<void> {
    setActionError(undefined);
    try {
      const result = await store.test(server.id);
      setAnnouncement(`${server.name}: ${result.ok ? 'test passed' : `test failed. ${testOutcome(result)}`}`);
      // A key to confirm is the next thing to do: ask at once, with the fingerprint to compare.
      if (result.code === 'host_key_unconfirmed' && result.hostKey)
        setConfirmingKey(current(server.id) ?? server);
    } catch (error) {
      setActionError(`Could not test ${server.name}: ${errorMessage(error)}`);
    }
  }

  async function toggle(server: ServerView): Promise<void> {
    setActionError(undefined);
    const disable = server.status !== 'disabled';
    try {
      await store.setDisabled(server.id, disable);
      setAnnouncement(`${server.name} is ${disable ? 'disabled' : 'enabled'}.`);
    } catch (error) {
      setActionError(`Could not ${disable ? 'disable' : 'enable'} ${server.name}: ${errorMessage(error)}`);
    }
  }

  const addButton = () => <Button onClick={() => setEditing({})}>Add server</Button>;

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Servers</h1>
        <Show when={(store.servers()?.length ?? 0) > 0}>{addButton()}</Show>
      </div>
      <p class="page-intro muted">
        Docker hosts and Kubernetes clusters where workspaces run. Each is reached by a runner in its network;
        its credentials are sealed and only their fingerprints are shown.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement()}
      </p>
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
            <p>Could not load the servers. {errorMessage(error())}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void store.load()}>
                Try again
              </Button>
            </p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={store.servers() === undefined && !store.loadError()}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading servers…" />
          </div>
        </Match>
        <Match when={store.servers()?.length === 0}>
          <EmptyState title="No servers yet" action={addButton()}>
            <p>
              Add a Docker host reached over SSH or TLS, or a Kubernetes cluster, and assign it to a runner in
              its network. Until then, workspaces run on the runners’ own hosts.
            </p>
          </EmptyState>
        </Match>
        <Match when={store.servers()}>
          {(list) => (
            <ul class="server-list" aria-label="Servers">
              <For each={list()}>
                {(server) => (
                  <ServerCard
                    server={server}
                    runners={runners()}
                    pending={store.pending(server.id)}
                    fresh={store.testResult(server.id)}
                    onTest={() => void test(server)}
                    onConfirmHostKey={() => setConfirmingKey(server)}
                    onEdit={() => setEditing({ server })}
                    onToggleDisabled={() => void toggle(server)}
                    onDelete={() => setDeleting(server)}
                    onDrain={() => setDraining(server)}
                  />
                )}
              </For>
            </ul>
          )}
        </Match>
      </Switch>

      <ServerFormDialog
        open={editing() !== undefined}
        server={editing()?.server}
        runners={runners()}
        onCreate={(input) => store.create(input)}
        onUpdate={(id, change) => store.update(id, change)}
        onDone={(server) => {
          setEditing(undefined);
          if (server) setAnnouncement(`${server.name} is saved.`);
        }}
        onCancel={() => setEditing(undefined)}
      />

      <Show when={draining()}>
        {(server) => (
          <DrainConfirm
            name={server().name}
            kind="server"
            draining={server().drain?.draining ?? false}
            onConfirm={async () => {
              const on = !(server().drain?.draining ?? false);
              await store.drain(server().id, on);
              setAnnouncement(
                on
                  ? `${server().name} is draining: its workspaces move away.`
                  : `${server().name} is no longer draining.`,
              );
              setDraining(undefined);
            }}
            onCancel={() => setDraining(undefined)}
          />
        )}
      </Show>

      <Show when={deleting()}>
        {(server) => (
          <ConfirmDialog
            open
            title={`Delete ${server().name}?`}
            confirmLabel="Delete server"
            pendingLabel="Deleting…"
            danger
            onConfirm={async () => {
              try {
                await store.remove(server().id);
              } catch (error) {
                throw error instanceof ApiError && error.code === 'conflict'
                  ? new ApiError({
                      status: 409,
                      code: 'conflict',
                      message:
                        'Workspaces still live on this server, so it cannot be deleted. Delete them first, or disable the server so that no new ones are placed on it',
                      requestId: error.requestId,
                    })
                  : error;
              }
              setAnnouncement(`${server().name} is deleted.`);
              setDeleting(undefined);
            }}
            onCancel={() => setDeleting(undefined)}
          >
            <p>
              Keel forgets the server and its sealed credentials. Nothing on the server itself is removed. A
              server that workspaces live on cannot be deleted.
            </p>
          </ConfirmDialog>
        )}
      </Show>

      <Show when={confirmingKey()}>
        {(server) => {
          const key = () => offeredHostKey(current(server().id) ?? server(), store.testResult(server().id));
          return (
            <ConfirmDialog
              open
              title={`Trust the host key of ${server().name}?`}
              confirmLabel="Pin this host key"
              pendingLabel="Pinning…"
              onConfirm={async () => {
                const offered = key();
                if (offered) await store.confirmHostKey(server().id, offered.fingerprint);
                setAnnouncement(`The host key of ${server().name} is pinned. Test it again.`);
                setConfirmingKey(undefined);
              }}
              onCancel={() => setConfirmingKey(undefined)}
            >
              <Show
                when={key()}
                fallback={<p>No host key is waiting to be confirmed. Test the server again.</p>}
              >
                {(offered) => (
                  <>
                    <p>
                      The host presented this {offered().algorithm} key. Compare its fingerprint with the one
                      the host shows (<code>ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub</code>) before you
                      trust it: once pinned, any other key is refused.
                    </p>
                    <p>
                      <code class="fingerprint fingerprint-large">{offered().fingerprint}</code>
                    </p>
                  </>
                )}
              </Show>
            </ConfirmDialog>
          );
        }}
      </Show>
    </>
  );
}
