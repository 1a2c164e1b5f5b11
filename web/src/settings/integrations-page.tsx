import type { GitCredential, PutGitCredentialResponse } from '@keel/contract/integrations';
import { createSignal, For, onMount, Show } from 'solid-js';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { TextField } from '../components/text-field.tsx';
import { relativeTime } from '../format/relative-time.ts';
import { createFormAction, textValue } from '../forms/form-action.ts';
import { can } from '../session/permissions.ts';
import { useSession } from '../session/session-context.ts';
import type { AccountApi } from './account-api.ts';
import { createListResource } from './list-resource.ts';
import { ListStates } from './list-states.tsx';

/**
 * Settings › Integrations: tokens for Git hosts, one per host. Keel keeps them sealed and never
 * shows them again; a workspace created from a repository on that host clones with it, and a push
 * from one's own workspace sends it.
 */
export function IntegrationsPage(props: { api: AccountApi }) {
  usePageTitle('Integrations');
  const session = useSession();
  const mayAdd = () => can(session.state(), 'workspaces:create');
  const list = createListResource(() => props.api.gitCredentials());
  const [saved, setSaved] = createSignal<PutGitCredentialResponse>();
  const [deleting, setDeleting] = createSignal<GitCredential>();
  const [announcement, setAnnouncement] = createSignal('');
  onMount(() => void list.load());
  let form: HTMLFormElement | undefined;
  let hostInput: HTMLInputElement | undefined;
  let tokenInput: HTMLInputElement | undefined;

  const save = createFormAction(
    async (data) => {
      const username = textValue(data, 'username').trim();
      const label = textValue(data, 'label').trim();
      const answer = await props.api.putGitCredential({
        host: textValue(data, 'host'),
        token: textValue(data, 'token'),
        ...(username ? { username } : {}),
        ...(label ? { label } : {}),
      });
      setSaved(answer);
      setAnnouncement(
        `${answer.replaced ? 'Replaced the token for' : 'Kept a token for'} ${answer.credential.host}.`,
      );
      form?.reset();
      await list.load();
    },
    ['host', 'username', 'token', 'label'],
  );

  /** Replace: the form takes the row's host, and the token field the focus. */
  const replace = (credential: GitCredential) => {
    if (hostInput) hostInput.value = credential.host;
    const username = form?.elements.namedItem('username');
    if (username instanceof HTMLInputElement)
      username.value = credential.usernameIsDefault ? '' : credential.username;
    const label = form?.elements.namedItem('label');
    if (label instanceof HTMLInputElement) label.value = credential.label ?? '';
    tokenInput?.focus();
  };

  return (
    <>
      <h1 class="page-title">Integrations</h1>
      <p class="page-intro muted">
        A token for a Git host (GitHub, GitLab, your company’s own) lets your workspaces clone your private
        repositories and push your branches. Keel keeps it encrypted, sends it only to that host, never writes
        it into a workspace and never shows it again.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement()}
      </p>

      <Show
        when={mayAdd()}
        fallback={
          <p class="alert alert-info" role="note">
            Your role does not create workspaces, so you cannot add tokens. You can still remove the ones you
            kept.
          </p>
        }
      >
        <section class="card" aria-labelledby="git-token-heading">
          <h2 id="git-token-heading" class="card-title">
            Add or replace a Git host token
          </h2>
          <form
            ref={form}
            class="form"
            onSubmit={save.onSubmit}
            aria-labelledby="git-token-heading"
            novalidate
          >
            <FormAlert error={save.error()} />
            <Show when={saved()}>
              {(answer) => (
                <p class="alert alert-info">
                  {answer().replaced ? 'Replaced the token for' : 'Kept a token for'}{' '}
                  <strong>{answer().credential.host}</strong>.
                </p>
              )}
            </Show>
            <TextField
              formId="git"
              name="host"
              label="Host"
              hint="The host name only, e.g. github.com or git.example.com:8443 (no https://, no path)."
              autocomplete="off"
              required
              maxLength={260}
              ref={(el) => {
                hostInput = el;
              }}
              error={save.fieldError('host')}
            />
            <TextField
              formId="git"
              name="username"
              label="User name"
              hint="Leave empty for the host’s usual one (x-access-token for GitHub, oauth2 for GitLab)."
              autocomplete="off"
              maxLength={100}
              error={save.fieldError('username')}
            />
            <TextField
              formId="git"
              name="token"
              type="password"
              label="Token"
              hint="A personal access token or app token with read access (and write access to push)."
              autocomplete="new-password"
              required
              minLength={8}
              maxLength={1000}
              ref={(el) => {
                tokenInput = el;
              }}
              error={save.fieldError('token')}
            />
            <TextField
              formId="git"
              name="label"
              label="Label"
              hint="To tell your tokens apart, e.g. “work account”."
              autocomplete="off"
              maxLength={100}
              error={save.fieldError('label')}
            />
            <div class="card-actions">
              <Button type="submit" pending={save.pending()} pendingLabel="Saving…">
                Save token
              </Button>
            </div>
          </form>
        </section>
      </Show>

      <h2 class="card-title">Your Git host tokens</h2>
      <ListStates
        list={list}
        what="your Git host tokens"
        loading="Loading Git host tokens…"
        emptyTitle="No Git host tokens yet"
        empty=<p>Add one above to clone private repositories and to push.</p>
      >
        {(items) => (
          <div class="table-scroll">
            <table class="data-table" aria-label="Your Git host tokens">
              <thead>
                <tr>
                  <th scope="col">Host</th>
                  <th scope="col">User name</th>
                  <th scope="col">Label</th>
                  <th scope="col">Added</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={items()}>
                  {(credential) => (
                    <tr>
                      <td>
                        <code>{credential.host}</code>
                      </td>
                      <td>
                        {credential.username}
                        <Show when={credential.usernameIsDefault}>
                          <span class="muted"> (default)</span>
                        </Show>
                      </td>
                      <td>{credential.label ?? '—'}</td>
                      <td>
                        <time datetime={credential.createdAt}>{relativeTime(credential.createdAt)}</time>
                      </td>
                      <td>
                        <Show when={credential.lastUsedAt} fallback="Never">
                          {(at) => <time datetime={at()}>{relativeTime(at())}</time>}
                        </Show>
                      </td>
                      <td>
                        <Show when={mayAdd()}>
                          <Button
                            variant="secondary"
                            size="small"
                            ariaLabel={`Replace the token for ${credential.host}`}
                            onClick={() => replace(credential)}
                          >
                            Replace
                          </Button>{' '}
                        </Show>
                        <Button
                          variant="secondary"
                          size="small"
                          ariaLabel={`Delete the token for ${credential.host}`}
                          onClick={() => setDeleting(credential)}
                        >
                          Delete
                        </Button>
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
        open={deleting() !== undefined}
        title="Delete this token?"
        confirmLabel="Delete"
        pendingLabel="Deleting…"
        danger
        onCancel={() => setDeleting(undefined)}
        onConfirm={async () => {
          const credential = deleting();
          if (!credential) return;
          await props.api.deleteGitCredential(credential.id);
          setDeleting(undefined);
          setAnnouncement(`The token for ${credential.host} is deleted.`);
          await list.load();
        }}
      >
        <p class="dialog-text">
          Workspaces will no longer clone from or push to {deleting()?.host} as you. Keel forgets the token;
          revoke it at the host too if it may have leaked.
        </p>
      </ConfirmDialog>
    </>
  );
}
