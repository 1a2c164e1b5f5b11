import type { AccessToken, CreateAccessTokenResponse } from '@keel/contract/account';
import { type Permission, ROLE_PERMISSIONS } from '@keel/contract/permissions';
import { createSignal, For, onMount, Show } from 'solid-js';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { TextField } from '../components/text-field.tsx';
import { relativeTime } from '../format/relative-time.ts';
import { createFormAction, textValue } from '../forms/form-action.ts';
import type { SignedInState } from '../session/session-store.ts';
import type { AccountApi } from './account-api.ts';
import { createListResource } from './list-resource.ts';
import { ListStates } from './list-states.tsx';
import { fieldError } from './password-page.tsx';

export const PERMISSION_LABELS: Record<Permission, string> = {
  'workspaces:read': 'Read workspaces, files and logs',
  'workspaces:create': 'Create workspaces',
  'workspaces:use': 'Work in my workspaces (write, run, terminal)',
  'workspaces:admin': 'Work in others’ workspaces',
  'ai:use': 'Ask the AI assistant',
  'members:manage': 'Manage members',
  'runners:manage': 'Manage runners',
  'servers:manage': 'Manage servers',
  'audit:read': 'Read the audit trail',
  'usage:read': 'Read usage',
  'settings:manage': 'Manage organization settings',
  'signin:manage': 'Manage sign-in settings',
};
const EXPIRY_DAYS = [7, 30, 90, 365] as const;

/** Settings › Access tokens: tokens for scripts and the API, shown once, listed with their last use. */
export function TokensPage(props: { api: AccountApi; signedIn: SignedInState }) {
  usePageTitle('Access tokens');
  const list = createListResource(() => props.api.tokens());
  const [made, setMade] = createSignal<CreateAccessTokenResponse>();
  const [copied, setCopied] = createSignal(false);
  const [revoking, setRevoking] = createSignal<AccessToken>();
  const [announcement, setAnnouncement] = createSignal('');
  onMount(() => void list.load());
  const permissions = () => [...ROLE_PERMISSIONS[props.signedIn.role]];
  let form: HTMLFormElement | undefined;

  const create = createFormAction(
    async (data) => {
      const chosen = data.getAll('permissions').filter((p): p is Permission => typeof p === 'string');
      if (chosen.length === 0) throw fieldError('permissions', 'choose at least one permission');
      const answer = await props.api.createToken({
        name: textValue(data, 'name'),
        permissions: chosen,
        expiresInDays: Number(textValue(data, 'expiresInDays')),
      });
      setCopied(false);
      setMade(answer);
      form?.reset();
      await list.load();
    },
    ['name', 'permissions', 'expiresInDays'],
  );

  const copy = async (token: string) => {
    await navigator.clipboard.writeText(token);
    setCopied(true);
  };

  return (
    <>
      <h1 class="page-title">Access tokens</h1>
      <p class="page-intro muted">
        A personal access token lets a script call Keel’s API as you (<code>Authorization: Bearer …</code>),
        with only the permissions you choose, never more than your role allows. It cannot make tokens or
        change your account.
      </p>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement()}
      </p>

      <Show when={made()}>
        {(answer) => (
          <section class="token-once" aria-labelledby="token-once-heading">
            <h2 id="token-once-heading" class="card-title">
              Your new token “{answer().record.name}”
            </h2>
            <p>
              <strong>Shown once.</strong> Copy it now: Keel keeps only its hash.
            </p>
            <label class="field-label" for="new-token-value">
              Token
            </label>
            <input
              id="new-token-value"
              class="field-input field-mono"
              readOnly
              value={answer().token}
              onFocus={(event) => event.currentTarget.select()}
            />
            <div class="card-actions">
              <Button onClick={() => void copy(answer().token)}>{copied() ? 'Copied' : 'Copy token'}</Button>
              <Button variant="secondary" onClick={() => setMade(undefined)}>
                Done
              </Button>
            </div>
            <p class="visually-hidden" role="status">
              {copied() ? 'The token is copied to the clipboard.' : ''}
            </p>
          </section>
        )}
      </Show>

      <section class="card" aria-labelledby="new-token-heading">
        <h2 id="new-token-heading" class="card-title">
          New token
        </h2>
        <form
          ref={form}
          class="form"
          onSubmit={create.onSubmit}
          aria-labelledby="new-token-heading"
          novalidate
        >
          <FormAlert error={create.error()} />
          <TextField
            formId="token"
            name="name"
            label="Name"
            hint="What it is for, e.g. “CI deploys”."
            autocomplete="off"
            required
            maxLength={100}
            error={create.fieldError('name')}
          />
          <div class="field">
            <label class="field-label" for="token-expiresInDays">
              Expires in
            </label>
            <select id="token-expiresInDays" name="expiresInDays" class="field-input">
              <For each={EXPIRY_DAYS}>
                {(days) => (
                  <option value={days} selected={days === 30}>
                    {days} days
                  </option>
                )}
              </For>
            </select>
          </div>
          <fieldset
            class="choice-group"
            aria-describedby={create.fieldError('permissions') ? 'token-permissions-error' : undefined}
          >
            <legend class="field-label">Permissions</legend>
            <For each={permissions()}>
              {(permission) => (
                <label class="choice">
                  <input
                    type="checkbox"
                    name="permissions"
                    value={permission}
                    checked={permission === 'workspaces:read'}
                  />
                  <span>
                    <span class="choice-title">{PERMISSION_LABELS[permission]}</span>
                    <span class="choice-hint">{permission}</span>
                  </span>
                </label>
              )}
            </For>
            <Show when={create.fieldError('permissions')}>
              {(message) => (
                <p id="token-permissions-error" class="field-error">
                  {message()}
                </p>
              )}
            </Show>
          </fieldset>
          <div class="card-actions">
            <Button type="submit" pending={create.pending()} pendingLabel="Making…">
              Make token
            </Button>
          </div>
        </form>
      </section>

      <h2 class="card-title">Your tokens</h2>
      <ListStates
        list={list}
        what="your tokens"
        loading="Loading tokens…"
        emptyTitle="No tokens yet"
        empty=<p>Make one above when a script needs to call Keel.</p>
      >
        {(items) => (
          <div class="table-scroll">
            <table class="data-table" aria-label="Your tokens">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Token</th>
                  <th scope="col">Permissions</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={items()}>
                  {(token) => (
                    <tr>
                      <td>{token.name}</td>
                      <td>
                        <code>{token.prefix}…</code>
                      </td>
                      <td>{token.permissions.join(', ')}</td>
                      <td>
                        <Show when={!token.expired} fallback={<strong>Expired</strong>}>
                          <time datetime={token.expiresAt}>{relativeTime(token.expiresAt)}</time>
                        </Show>
                      </td>
                      <td>
                        <Show when={token.lastUsedAt} fallback="Never">
                          {(at) => (
                            <>
                              <time datetime={at()}>{relativeTime(at())}</time>
                              <Show when={token.lastUsedAddress}>{(address) => ` from ${address()}`}</Show>
                            </>
                          )}
                        </Show>
                      </td>
                      <td>
                        <Button
                          variant="secondary"
                          size="small"
                          ariaLabel={`Revoke ${token.name}`}
                          onClick={() => setRevoking(token)}
                        >
                          Revoke
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
        open={revoking() !== undefined}
        title="Revoke this token?"
        confirmLabel="Revoke"
        pendingLabel="Revoking…"
        danger
        onCancel={() => setRevoking(undefined)}
        onConfirm={async () => {
          const token = revoking();
          if (!token) return;
          await props.api.revokeToken(token.id);
          setRevoking(undefined);
          setAnnouncement(`${token.name} is revoked.`);
          await list.load();
        }}
      >
        <p class="dialog-text">Scripts using “{revoking()?.name}” are refused from their next request.</p>
      </ConfirmDialog>
    </>
  );
}
