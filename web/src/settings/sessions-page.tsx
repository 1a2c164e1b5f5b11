import type { AccountSession } from '@keel/contract/account';
import { createSignal, For, onMount, Show } from 'solid-js';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { relativeTime } from '../format/relative-time.ts';
import type { AccountApi } from './account-api.ts';
import { createListResource } from './list-resource.ts';
import { ListStates } from './list-states.tsx';

/** Settings › Sessions: where I am signed in, and ending any of it. */
export function SessionsPage(props: { api: AccountApi }) {
  usePageTitle('Sessions');
  const list = createListResource(() => props.api.sessions());
  const [ending, setEnding] = createSignal<AccountSession | 'others'>();
  const [announcement, setAnnouncement] = createSignal('');
  onMount(() => void list.load());
  const others = () => (list.items() ?? []).filter((s) => !s.current);

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Sessions</h1>
        <Show when={others().length > 0}>
          <Button variant="secondary" onClick={() => setEnding('others')}>
            End all other sessions
          </Button>
        </Show>
      </div>
      <p class="page-intro muted">
        Everywhere you are signed in. End any you do not recognise, then change your password.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement()}
      </p>
      <ListStates list={list} what="your sessions" loading="Loading sessions…" emptyTitle="No open sessions">
        {(items) => (
          <div class="table-scroll">
            <table class="data-table" aria-label="Your sessions">
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Address</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={items()}>
                  {(session) => (
                    <tr>
                      <td>
                        <span title={session.userAgent ?? undefined}>{session.device}</span>
                        <Show when={session.current}>
                          {' '}
                          <strong>(this session)</strong>
                        </Show>
                      </td>
                      <td>{session.address ?? '—'}</td>
                      <td>
                        <time datetime={session.createdAt}>{relativeTime(session.createdAt)}</time>
                      </td>
                      <td>
                        <time datetime={session.lastSeenAt}>{relativeTime(session.lastSeenAt)}</time>
                      </td>
                      <td>
                        <Show when={!session.current}>
                          <Button
                            variant="secondary"
                            size="small"
                            ariaLabel={`End session: ${session.device}, ${session.address ?? 'unknown address'}`}
                            onClick={() => setEnding(session)}
                          >
                            End
                          </Button>
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </ListStates>
      <ConfirmDialog
        open={ending() !== undefined}
        title={ending() === 'others' ? 'End all other sessions?' : 'End this session?'}
        confirmLabel="End"
        pendingLabel="Ending…"
        danger
        onCancel={() => setEnding(undefined)}
        onConfirm={async () => {
          const target = ending();
          if (target === undefined) return;
          if (target === 'others') await props.api.endOtherSessions();
          else await props.api.endSession(target.id);
          setEnding(undefined);
          setAnnouncement(
            target === 'others' ? 'Your other sessions have ended.' : `${target.device} is signed out.`,
          );
          await list.load();
        }}
      >
        <p class="dialog-text">
          {ending() === 'others'
            ? 'Every other browser and client signed in as you is signed out at its next request.'
            : 'That browser or client is signed out at its next request.'}
        </p>
      </ConfirmDialog>
    </>
  );
}
