import type { Role } from '@keel/contract/auth';
import type { ProviderView, TestProviderResponse } from '@keel/contract/identity';
import { ROLE_PERMISSIONS } from '@keel/contract/permissions';
import { createResource, createSignal, For, type JSX, Match, Show, Switch } from 'solid-js';
import { createStore } from 'solid-js/store';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { errorMessage } from '../forms/error-message.ts';
import { useSession } from '../session/session-context.ts';
import { isSuperAdmin } from './admin-access.ts';
import {
  buildDirectoryRequest,
  type DirectoryForm,
  directoryFormFrom,
  emptyDirectoryForm,
  fieldForPath,
} from './sign-in-form.ts';
import { SignInSettingsCard } from './sign-in-settings-card.tsx';
import { emptySsoForm, isSsoView, type SsoForm } from './sso-form.ts';
import { SsoProviders } from './sso-providers.tsx';

const ROLES = Object.keys(ROLE_PERMISSIONS) as Role[];
const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer',
  developer: 'Developer',
  admin: 'Admin',
  super_admin: 'Super admin',
};
const TEST_ERRORS: Record<string, string> = {
  unreachable: 'The directory could not be reached',
  tls_failed: 'TLS failed (check the CA certificate and the server’s name)',
  bind_failed: 'The service account’s bind DN or password was refused',
  not_found: 'No single entry matches this username',
  timeout: 'The directory did not answer in time',
  search_failed: 'The directory refused the search',
};

/** Admin › Sign-in (super admins): sign-in settings, single sign-on providers and directories. */
export default function SignInSettingsPage() {
  usePageTitle('Sign-in');
  const session = useSession();
  return (
    <Show
      when={isSuperAdmin(session.state())}
      fallback={
        <>
          <h1 class="page-title">Sign-in</h1>
          <p>The organization’s sign-in settings are for its super admins.</p>
        </>
      }
    >
      <SignInSettings />
    </Show>
  );
}

function SignInSettings() {
  const api = useApis().identity;
  const [providers, { refetch }] = createResource(() => api.list());
  const directories = () => providers()?.filter((p): p is DirectoryView => p.kind === 'ldap');
  const ssoProviders = () => providers()?.filter(isSsoView);
  const [editing, setEditing] = createSignal<DirectoryForm>();
  const [editingSso, setEditingSso] = createSignal<{ form: SsoForm; callbackUrl: string | null }>();
  const [removing, setRemoving] = createSignal<ProviderView>();

  /** One list feeds both sections: they share its loading and error states. */
  const listed = (render: () => JSX.Element) => (
    <Switch>
      <Match when={providers.error}>
        <div class="alert alert-error" role="alert">
          <p>Could not load the sign-in providers. {errorMessage(providers.error)}</p>
          <p>
            <Button variant="secondary" size="small" onClick={() => void refetch()}>
              Try again
            </Button>
          </p>
        </div>
      </Match>
      <Match when={providers()}>{render()}</Match>
      <Match when={true}>
        <div class="list-placeholder">
          <LoadingIndicator label="Loading the sign-in providers…" />
        </div>
      </Match>
    </Switch>
  );

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Sign-in</h1>
      </div>
      <p class="page-intro muted">
        How people sign in to the organization: with a password, through single sign-on (Google, Microsoft
        Entra ID, GitHub or another OpenID Connect provider), or with their directory (LDAP or Active
        Directory) account.
      </p>
      <SignInSettingsCard />

      <section class="sign-in-section" aria-labelledby="sso-section-title">
        <div class="page-heading">
          <h2 class="section-title" id="sso-section-title">
            Single sign-on
          </h2>
          <Show when={!editingSso()}>
            <Button onClick={() => setEditingSso({ form: emptySsoForm('google'), callbackUrl: null })}>
              Add a provider
            </Button>
          </Show>
        </div>
        <p class="muted">
          People sign in with their account at the provider. Register the callback URL shown with each
          provider in its app settings; new people get the role their groups or teams map to.
        </p>
        {listed(() => (
          <SsoProviders
            providers={ssoProviders() ?? []}
            editing={editingSso()}
            onEdit={setEditingSso}
            onRemove={setRemoving}
            onSaved={() => void refetch()}
          />
        ))}
      </section>

      <section class="sign-in-section" aria-labelledby="directories-section-title">
        <div class="page-heading">
          <h2 class="section-title" id="directories-section-title">
            Directories
          </h2>
          <Show when={!editing()}>
            <Button onClick={() => setEditing(emptyDirectoryForm())}>Add a directory</Button>
          </Show>
        </div>
        <p class="muted">
          People sign in with their directory (LDAP or Active Directory) username and password. The edge
          searches with a service account, checks the password by binding as the person, and gives them the
          role their groups map to, again at every sign-in. Directory sign-in needs the Node edge.
        </p>
        <Show when={editing()}>
          {(form) => (
            <DirectoryEditor
              initial={form()}
              onDone={() => {
                setEditing(undefined);
                void refetch();
              }}
            />
          )}
        </Show>
        {listed(() => (
          <Show
            when={(directories() ?? []).length > 0}
            fallback={
              <Show when={!editing()}>
                <EmptyState title="No directory yet">
                  <p>Add one to let people sign in with their directory account.</p>
                </EmptyState>
              </Show>
            }
          >
            <ul class="card-list" aria-label="Directories">
              <For each={directories()}>
                {(p) => (
                  <ProviderCard
                    provider={p}
                    onEdit={() => setEditing(directoryFormFrom(p))}
                    onRemove={() => setRemoving(p)}
                  />
                )}
              </For>
            </ul>
          </Show>
        ))}
      </section>
      <ConfirmDialog
        open={removing() !== undefined}
        title={`Remove ${removing()?.name ?? 'the provider'}?`}
        confirmLabel="Remove"
        pendingLabel="Removing…"
        danger
        onConfirm={async () => {
          const p = removing();
          if (p) await api.remove(p.id);
          setRemoving(undefined);
          void refetch();
        }}
        onCancel={() => setRemoving(undefined)}
      >
        <p>People can no longer sign in with it. Accounts it created stay, without a way to sign in.</p>
      </ConfirmDialog>
    </>
  );
}

type DirectoryView = Extract<ProviderView, { kind: 'ldap' }>;

function ProviderCard(props: { provider: DirectoryView; onEdit: () => void; onRemove: () => void }) {
  const api = useApis().identity;
  const [username, setUsername] = createSignal('');
  const [pending, setPending] = createSignal(false);
  const [result, setResult] = createSignal<TestProviderResponse>();
  const [error, setError] = createSignal<string>();
  const id = () => `provider-${props.provider.id}`;

  async function runTest(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (pending() || !username().trim()) return;
    setPending(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await api.test(props.provider.id, username().trim()));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setPending(false);
    }
  }

  return (
    <li class="card" aria-labelledby={`${id()}-title`}>
      <h3 class="card-title" id={`${id()}-title`}>
        {props.provider.name}
      </h3>
      <p class="muted">
        {props.provider.config.url} · sign-in name <code>{props.provider.slug}</code>
        {props.provider.enabled ? '' : ' · disabled'}
        <Show when={props.provider.config.insecure}>
          {' '}
          · <strong>passwords travel unencrypted</strong>
        </Show>
      </p>
      <form class="form-inline" onSubmit={runTest} aria-label={`Test ${props.provider.name}`}>
        <label class="field-label" for={`${id()}-username`}>
          Test with a username
        </label>
        <input
          id={`${id()}-username`}
          class="field-input"
          value={username()}
          autocomplete="off"
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
        <Button type="submit" variant="secondary" size="small" pending={pending()} pendingLabel="Testing…">
          Test
        </Button>
      </form>
      <div aria-live="polite">
        <Show when={error()}>
          <p class="alert alert-error">{error()}</p>
        </Show>
        <Show when={result()}>
          {(r) => (
            <Show
              when={r().ok ? r() : undefined}
              fallback={
                <p class="alert alert-error" role="status">
                  Test failed: {(() => {
                    const x = r();
                    return x.ok ? '' : `${TEST_ERRORS[x.error.code] ?? x.error.code} (${x.error.code})`;
                  })()}
                </p>
              }
            >
              {(ok) => {
                const user = (ok() as Extract<TestProviderResponse, { ok: true }>).user;
                return (
                  <div class="alert alert-info" role="status">
                    <p>
                      Found <code>{user.dn}</code>
                      {user.email ? ` (${user.email})` : ''}.{' '}
                      {user.disabled
                        ? 'The account is disabled: sign-in is refused.'
                        : user.role
                          ? `A sign-in would get the role ${ROLE_LABELS[user.role]}.`
                          : 'No mapped group and no default role: sign-in is refused.'}
                    </p>
                    <Show when={user.groups.length > 0}>
                      <p>Groups: {user.groups.join('; ')}</p>
                    </Show>
                  </div>
                );
              }}
            </Show>
          )}
        </Show>
      </div>
      <div class="card-actions">
        <Button
          variant="secondary"
          size="small"
          onClick={props.onEdit}
          ariaLabel={`Edit ${props.provider.name}`}
        >
          Edit
        </Button>
        <Button
          variant="danger"
          size="small"
          onClick={props.onRemove}
          ariaLabel={`Remove ${props.provider.name}`}
        >
          Remove
        </Button>
      </div>
    </li>
  );
}

function DirectoryEditor(props: { initial: DirectoryForm; onDone: () => void }) {
  const api = useApis().identity;
  const [form, setForm] = createStore<DirectoryForm>(structuredClone(props.initial));
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const editingExisting = props.initial.id !== undefined;
  const fid = 'directory';
  const fieldError = (name: string) => error()?.fields[name];

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    const built = buildDirectoryRequest(form);
    if (!built.ok) {
      setError({ message: built.message, fields: built.fields });
      return;
    }
    setPending(true);
    setError(undefined);
    try {
      await api.save(built.request);
      props.onDone();
    } catch (err) {
      const described = describeError(err, []);
      // Issues the edge names by contract path land under the field that holds them.
      const issues = (err as { issues?: Array<{ path: string; message: string }> }).issues ?? [];
      for (const issue of issues) described.fields[fieldForPath(issue.path.split('.'))] ??= issue.message;
      setError(described);
    } finally {
      setPending(false);
    }
  }

  const text = (
    name: keyof DirectoryForm & string,
    label: string,
    extra: { hint?: string; required?: boolean; type?: string; placeholder?: string } = {},
  ): JSX.Element => (
    <div class="field">
      <label class="field-label" for={`${fid}-${name}`}>
        {label}
        <Show when={!extra.required}>
          <span class="field-optional"> (optional)</span>
        </Show>
      </label>
      <input
        id={`${fid}-${name}`}
        name={name}
        type={extra.type ?? 'text'}
        class="field-input"
        required={extra.required}
        placeholder={extra.placeholder}
        autocomplete="off"
        spellcheck={false}
        value={String(form[name] ?? '')}
        onInput={(e) => setForm(name as 'name', e.currentTarget.value)}
        aria-invalid={fieldError(name) ? 'true' : undefined}
        aria-describedby={
          [extra.hint ? `${fid}-${name}-hint` : '', fieldError(name) ? `${fid}-${name}-error` : '']
            .filter(Boolean)
            .join(' ') || undefined
        }
      />
      <Show when={extra.hint}>
        <p id={`${fid}-${name}-hint`} class="field-hint">
          {extra.hint}
        </p>
      </Show>
      <Show when={fieldError(name)}>
        <p id={`${fid}-${name}-error`} class="field-error">
          {fieldError(name)}
        </p>
      </Show>
    </div>
  );

  const roleSelect = (
    id: string,
    label: string,
    value: string,
    onChange: (v: string) => void,
    none?: string,
  ) => (
    <div class="field">
      <label class="field-label" for={id}>
        {label}
      </label>
      <select id={id} class="field-input" onChange={(e) => onChange(e.currentTarget.value)}>
        <Show when={none}>
          <option value="none" selected={value === 'none'}>
            {none}
          </option>
        </Show>
        <For each={ROLES}>
          {(role) => (
            <option value={role} selected={value === role}>
              {ROLE_LABELS[role]}
            </option>
          )}
        </For>
      </select>
    </div>
  );

  return (
    <section class="card" aria-labelledby={`${fid}-title`}>
      <h3 class="card-title" id={`${fid}-title`}>
        {editingExisting ? `Edit ${props.initial.name}` : 'Add a directory'}
      </h3>
      <form class="form" onSubmit={submit} aria-label="Directory" novalidate>
        <FormAlert error={error()} />
        {text('name', 'Name', { required: true, hint: 'Shown on the sign-in page: “Sign in with …”' })}
        {text('slug', 'Sign-in name', { required: true, hint: 'Lowercase letters, digits and hyphens' })}
        {text('url', 'Server URL', { required: true, placeholder: 'ldaps://ldap.example.com' })}
        <fieldset class="choice-group">
          <legend class="field-label">Connection security</legend>
          <For
            each={
              [
                { value: 'ldaps', title: 'LDAPS (ldaps://)' },
                { value: 'starttls', title: 'StartTLS (ldap:// upgraded to TLS)' },
                { value: 'insecure', title: 'None: passwords cross the network in the clear (labs only)' },
              ] as const
            }
          >
            {(choice) => (
              <label class="choice">
                <input
                  type="radio"
                  name="transport"
                  value={choice.value}
                  checked={form.transport === choice.value}
                  onChange={() => setForm('transport', choice.value)}
                />
                <span class="choice-title">{choice.title}</span>
              </label>
            )}
          </For>
        </fieldset>
        <Show when={form.transport === 'insecure'}>
          <p class="alert alert-error" role="alert">
            Without TLS, everyone’s directory password crosses the network unencrypted. Use it only in a test
            lab.
          </p>
        </Show>
        <Show when={fieldError('transport')}>
          <p class="field-error">{fieldError('transport')}</p>
        </Show>
        <div class="field">
          <label class="field-label" for={`${fid}-caCertificate`}>
            CA certificate (PEM)<span class="field-optional"> (optional)</span>
          </label>
          <textarea
            id={`${fid}-caCertificate`}
            class="field-input field-mono"
            rows={4}
            spellcheck={false}
            value={form.caCertificate}
            onInput={(e) => setForm('caCertificate', e.currentTarget.value)}
          />
          <Show when={fieldError('caCertificate')}>
            <p class="field-error">{fieldError('caCertificate')}</p>
          </Show>
        </div>
        {text('bindDn', 'Service account DN', {
          required: true,
          placeholder: 'cn=keel,ou=system,dc=example,dc=com',
        })}
        {text('bindPassword', 'Service account password', {
          type: 'password',
          required: !editingExisting,
          ...(editingExisting ? { hint: 'Leave empty to keep the current one (it is never shown)' } : {}),
        })}
        {text('userSearchBase', 'People search base', {
          required: true,
          placeholder: 'ou=people,dc=example,dc=com',
        })}
        {text('userFilter', 'People filter', {
          required: true,
          hint: '{{username}} is replaced by what the person types, escaped. Active Directory: (sAMAccountName={{username}})',
        })}
        {text('emailAttribute', 'E-mail attribute', { required: true })}
        {text('nameAttribute', 'Name attribute', { required: true })}
        {text('subjectAttribute', 'Stable id attribute', {
          required: true,
          hint: 'entryUUID (OpenLDAP), objectGUID (AD)',
        })}
        <fieldset class="choice-group">
          <legend class="field-label">Groups</legend>
          <label class="choice">
            <input
              type="radio"
              name="groupsKind"
              checked={form.groupsKind === 'search'}
              onChange={() => setForm('groupsKind', 'search')}
            />
            <span class="choice-title">Search group entries</span>
          </label>
          <label class="choice">
            <input
              type="radio"
              name="groupsKind"
              checked={form.groupsKind === 'member_of'}
              onChange={() => setForm('groupsKind', 'member_of')}
            />
            <span class="choice-title">The person’s memberOf attribute (Active Directory)</span>
          </label>
        </fieldset>
        <Show
          when={form.groupsKind === 'search'}
          fallback={text('memberOfAttribute', 'Membership attribute', { required: true })}
        >
          {text('groupSearchBase', 'Group search base', { required: true })}
          {text('groupFilter', 'Group filter', {
            required: true,
            hint: '{{dn}} is the person’s DN, escaped',
          })}
        </Show>
        <fieldset class="field">
          <legend class="field-label">Group → role</legend>
          <p class="field-hint">The highest role among the person’s mapped groups wins.</p>
          <For each={form.groupRoles}>
            {(row, i) => (
              <div class="form-grid">
                <div class="field">
                  <label class="field-label" for={`${fid}-group-${i()}`}>
                    Group DN
                  </label>
                  <input
                    id={`${fid}-group-${i()}`}
                    class="field-input"
                    value={row.group}
                    spellcheck={false}
                    onInput={(e) => setForm('groupRoles', i(), 'group', e.currentTarget.value)}
                  />
                </div>
                {roleSelect(`${fid}-group-role-${i()}`, 'Role', row.role, (v) =>
                  setForm('groupRoles', i(), 'role', v as Role),
                )}
                <Button
                  variant="ghost"
                  size="small"
                  ariaLabel={`Remove the row for ${row.group || 'this group'}`}
                  onClick={() => setForm('groupRoles', (rows) => rows.filter((_, j) => j !== i()))}
                >
                  Remove
                </Button>
              </div>
            )}
          </For>
          <Button
            variant="secondary"
            size="small"
            onClick={() => setForm('groupRoles', (rows) => [...rows, { group: '', role: 'developer' }])}
          >
            Add a group
          </Button>
          <Show when={fieldError('groupRoles')}>
            <p class="field-error">{fieldError('groupRoles')}</p>
          </Show>
        </fieldset>
        {roleSelect(
          `${fid}-defaultRole`,
          'Role when no group maps',
          form.defaultRole,
          (v) => setForm('defaultRole', v as DirectoryForm['defaultRole']),
          'Nobody: refuse sign-in',
        )}
        <div class="field">
          <label class="field-label" for={`${fid}-disabledKind`}>
            Disabled accounts
          </label>
          <select
            id={`${fid}-disabledKind`}
            class="field-input"
            onChange={(e) => setForm('disabledKind', e.currentTarget.value as DirectoryForm['disabledKind'])}
          >
            <option value="none" selected={form.disabledKind === 'none'}>
              The directory removes people
            </option>
            <option value="active_directory" selected={form.disabledKind === 'active_directory'}>
              Active Directory (userAccountControl)
            </option>
            <option value="attribute" selected={form.disabledKind === 'attribute'}>
              An attribute (nsAccountLock, pwdAccountLockedTime…)
            </option>
          </select>
        </div>
        <Show when={form.disabledKind === 'attribute'}>
          {text('disabledAttribute', 'Attribute', { required: true })}
          {text('disabledValue', 'Value that means disabled', { hint: 'Empty: any value means disabled' })}
        </Show>
        <label class="choice">
          <input
            type="checkbox"
            checked={form.trustEmail}
            onChange={(e) => setForm('trustEmail', e.currentTarget.checked)}
          />
          <span class="choice-title">
            The directory’s e-mail addresses are verified: link them to existing accounts
          </span>
        </label>
        <label class="choice">
          <input
            type="checkbox"
            checked={form.enabled}
            onChange={(e) => setForm('enabled', e.currentTarget.checked)}
          />
          <span class="choice-title">Offer it on the sign-in page</span>
        </label>
        {text('timeoutSeconds', 'Timeout (seconds)', { required: true, type: 'number' })}
        {text('recheckMinutes', 'Re-check signed-in people every (minutes)', {
          required: true,
          type: 'number',
        })}
        <div class="card-actions">
          <Button variant="secondary" onClick={props.onDone}>
            Cancel
          </Button>
          <Button type="submit" pending={pending()} pendingLabel="Saving…">
            Save
          </Button>
        </div>
      </form>
    </section>
  );
}
