import type { Role } from '@keel/contract/auth';
import { createSignal, For, type JSX, Show } from 'solid-js';
import { createStore } from 'solid-js/store';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { CopyField } from './copy-field.tsx';
import { ChoiceGroup } from './form-fields.tsx';
import { GroupRoleRows, ROLES } from './group-role-rows.tsx';
import { ROLE_LABELS } from './members-api.ts';
import {
  buildSsoRequest,
  emptySsoForm,
  expectedCallbackUrl,
  SSO_KIND_LABELS,
  type SsoForm,
  type SsoKind,
  type SsoView,
  ssoFieldForPath,
  ssoFormFrom,
} from './sso-form.ts';

const KIND_CHOICES: ReadonlyArray<{ value: SsoKind; title: string; hint: string }> = [
  {
    value: 'google',
    title: 'Google',
    hint: 'Google accounts, optionally only those of your Workspace domains',
  },
  { value: 'entra', title: 'Microsoft Entra ID', hint: 'Accounts of one Microsoft tenant, with its groups' },
  {
    value: 'github',
    title: 'GitHub',
    hint: 'GitHub accounts (or GitHub Enterprise), by organization and team',
  },
  { value: 'oidc', title: 'Other OpenID Connect', hint: 'Keycloak, Okta, Authentik, Dex…' },
];

/** The single sign-on providers: one card each, and the editor that adds or changes one. */
export function SsoProviders(props: {
  providers: readonly SsoView[];
  editing: { form: SsoForm; callbackUrl: string | null } | undefined;
  onEdit: (editing: { form: SsoForm; callbackUrl: string | null } | undefined) => void;
  onRemove: (provider: SsoView) => void;
  onSaved: () => void;
}) {
  return (
    <>
      <Show when={props.editing}>
        {(editing) => (
          <SsoEditor
            initial={editing().form}
            callbackUrl={editing().callbackUrl}
            onCancel={() => props.onEdit(undefined)}
            onSaved={() => {
              props.onEdit(undefined);
              props.onSaved();
            }}
          />
        )}
      </Show>
      <Show
        when={props.providers.length > 0}
        fallback={
          <Show when={!props.editing}>
            <EmptyState title="No single sign-on provider yet">
              <p>Add Google, Microsoft Entra ID, GitHub or another OpenID Connect provider.</p>
            </EmptyState>
          </Show>
        }
      >
        <ul class="card-list" aria-label="Single sign-on providers">
          <For each={props.providers}>
            {(p) => (
              <li class="card" aria-labelledby={`sso-${p.id}-title`}>
                <h3 class="card-title" id={`sso-${p.id}-title`}>
                  {p.name}
                </h3>
                <p class="muted">
                  {SSO_KIND_LABELS[p.kind]} · sign-in name <code>{p.slug}</code> · client secret{' '}
                  {p.config.hasClientSecret ? 'set' : 'missing'}
                  {p.enabled ? '' : ' · disabled'}
                  <Show when={p.config.insecure}>
                    {' '}
                    · <strong>codes and tokens travel unencrypted</strong>
                  </Show>
                </p>
                <Show when={p.callbackUrl}>
                  {(url) => (
                    <CopyField
                      id={`sso-${p.id}-callback`}
                      label="Callback URL"
                      value={url()}
                      hint="Register it with the provider as the redirect (callback) URL."
                    />
                  )}
                </Show>
                <div class="card-actions">
                  <Button
                    variant="secondary"
                    size="small"
                    ariaLabel={`Edit ${p.name}`}
                    onClick={() => props.onEdit({ form: ssoFormFrom(p), callbackUrl: p.callbackUrl })}
                  >
                    Edit
                  </Button>
                  <Button
                    variant="danger"
                    size="small"
                    ariaLabel={`Remove ${p.name}`}
                    onClick={() => props.onRemove(p)}
                  >
                    Remove
                  </Button>
                </div>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </>
  );
}

function SsoEditor(props: {
  initial: SsoForm;
  callbackUrl: string | null;
  onCancel: () => void;
  onSaved: () => void;
}) {
  const api = useApis().identity;
  const [form, setForm] = createStore<SsoForm>(structuredClone(props.initial));
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const adding = props.initial.id === undefined;
  const fid = 'sso';
  const fieldError = (name: string) => error()?.fields[name];

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    const built = buildSsoRequest(form);
    if (!built.ok) {
      setError({ message: built.message, fields: built.fields });
      return;
    }
    setPending(true);
    setError(undefined);
    try {
      await api.save(built.request);
      props.onSaved();
    } catch (err) {
      const described = describeError(err, []);
      // Issues the edge names by contract path land under the field that holds them.
      const issues = (err as { issues?: Array<{ path: string; message: string }> }).issues ?? [];
      for (const issue of issues)
        described.fields[ssoFieldForPath(issue.path.split('.'), form.kind)] ??= issue.message;
      setError(described);
    } finally {
      setPending(false);
    }
  }

  const text = (
    name: keyof SsoForm & string,
    label: string,
    extra: {
      hint?: string;
      required?: boolean;
      type?: string;
      placeholder?: string;
      multiline?: boolean;
    } = {},
  ): JSX.Element => {
    const id = `${fid}-${name}`;
    const describedBy = () =>
      [extra.hint ? `${id}-hint` : '', fieldError(name) ? `${id}-error` : ''].filter(Boolean).join(' ') ||
      undefined;
    return (
      <div class="field">
        <label class="field-label" for={id}>
          {label}
          <Show when={!extra.required}>
            <span class="field-optional"> (optional)</span>
          </Show>
        </label>
        <input
          id={id}
          name={name}
          type={extra.type ?? 'text'}
          class="field-input"
          required={extra.required}
          placeholder={extra.placeholder}
          autocomplete={extra.type === 'password' ? 'new-password' : 'off'}
          autocapitalize="none"
          spellcheck={false}
          value={String(form[name] ?? '')}
          onInput={(e) => setForm(name as 'name', e.currentTarget.value)}
          aria-invalid={fieldError(name) ? 'true' : undefined}
          aria-describedby={describedBy()}
        />
        <Show when={extra.hint}>
          <p id={`${id}-hint`} class="field-hint">
            {extra.hint}
          </p>
        </Show>
        <Show when={fieldError(name)}>
          <p id={`${id}-error`} class="field-error">
            {fieldError(name)}
          </p>
        </Show>
      </div>
    );
  };

  const check = (name: 'trustEmail' | 'enabled' | 'insecure', title: string, hint?: string) => (
    <label class="choice">
      <input type="checkbox" checked={form[name]} onChange={(e) => setForm(name, e.currentTarget.checked)} />
      <span>
        <span class="choice-title">{title}</span>
        <Show when={hint}>
          <span class="choice-hint">{hint}</span>
        </Show>
      </span>
    </label>
  );

  const chooseKind = (kind: SsoKind) => {
    // A new preset brings its own defaults; what was typed for the client stays.
    setForm({ ...emptySsoForm(kind), clientId: form.clientId, clientSecret: form.clientSecret });
    setError(undefined);
  };

  const callback = () => props.callbackUrl ?? expectedCallbackUrl(window.location.origin, form.slug);

  return (
    <section class="card" aria-labelledby={`${fid}-title`}>
      <h3 class="card-title" id={`${fid}-title`}>
        {adding ? 'Add a single sign-on provider' : `Edit ${props.initial.name}`}
      </h3>
      <form class="form" onSubmit={submit} aria-label="Single sign-on provider" novalidate>
        <FormAlert error={error()} />
        <Show
          when={adding}
          fallback={<p class="muted">{SSO_KIND_LABELS[form.kind]} (the kind of a provider cannot change)</p>}
        >
          <ChoiceGroup
            legend="Provider"
            name="sso-kind"
            value={form.kind}
            choices={KIND_CHOICES}
            onChange={chooseKind}
          />
        </Show>
        {text('name', 'Name', { required: true, hint: 'Shown on the sign-in page: “Sign in with …”' })}
        {text('slug', 'Sign-in name', {
          required: true,
          hint: 'Lowercase letters, digits and hyphens; part of the callback URL',
        })}
        <CopyField
          id={`${fid}-callback`}
          label="Callback URL"
          value={callback()}
          hint={
            props.callbackUrl
              ? 'Register it with the provider as the redirect (callback) URL.'
              : 'Register it with the provider as the redirect (callback) URL; confirmed once saved.'
          }
        />
        <Show when={form.kind === 'entra'}>
          {text('tenantId', 'Directory (tenant) ID', {
            required: true,
            hint: 'From the app registration’s overview; the issuer becomes https://login.microsoftonline.com/<tenant>/v2.0',
          })}
        </Show>
        <Show when={form.kind === 'oidc'}>
          {text('issuer', 'Issuer URL', {
            required: true,
            hint: 'Keel reads <issuer>/.well-known/openid-configuration',
            placeholder: 'https://sso.example.com/realms/main',
          })}
        </Show>
        {text('clientId', form.kind === 'entra' ? 'Application (client) ID' : 'Client ID', {
          required: true,
        })}
        {text('clientSecret', 'Client secret', {
          required: !form.hasClientSecret,
          type: 'password',
          hint: form.hasClientSecret
            ? 'A secret is set (never shown). Type a new one to replace it, or leave it empty to keep it.'
            : 'Sealed when saved and never shown again.',
        })}
        <Show when={form.kind === 'google'}>
          {text('allowedDomains', 'Allowed Workspace domains', {
            hint: 'Only accounts of these domains (separated by commas); empty: any Google account',
            placeholder: 'example.com',
          })}
        </Show>
        <Show when={form.kind === 'oidc'}>
          {text('scopes', 'Scopes', { required: true, hint: 'Separated by spaces' })}
        </Show>
        <Show when={form.kind === 'oidc' || form.kind === 'entra'}>
          {text('groupsClaim', 'Groups claim', {
            required: true,
            hint: 'The ID-token claim that lists a person’s groups',
          })}
        </Show>
        <Show when={form.kind === 'github'}>
          {text('requiredOrganizations', 'Required organizations', {
            hint: 'People must belong to one of these (logins separated by commas); empty: anyone with GitHub',
          })}
          {text('webUrl', 'GitHub Enterprise Server URL', {
            hint: 'Empty: github.com',
            placeholder: 'https://github.example.com',
          })}
          {text('apiUrl', 'GitHub Enterprise API URL', { hint: 'Empty: <server URL>/api/v3' })}
        </Show>
        <Show when={form.kind !== 'google'}>
          <GroupRoleRows
            legend={form.kind === 'github' ? 'Team → role' : 'Group → role'}
            hint={
              form.kind === 'github'
                ? 'Teams as organization/team-slug; the highest role among the person’s mapped teams wins.'
                : form.kind === 'entra'
                  ? 'Groups by object ID, as Entra ID lists them; the highest mapped role wins.'
                  : 'Values of the groups claim; the highest mapped role wins.'
            }
            itemLabel={form.kind === 'github' ? 'Team' : 'Group'}
            placeholder={form.kind === 'github' ? 'my-org/platform' : 'engineering'}
            idPrefix={`${fid}-groups`}
            rows={form.groupRoles}
            error={fieldError('groupRoles')}
            onChange={(rows) => setForm('groupRoles', rows)}
          />
        </Show>
        <div class="field">
          <label class="field-label" for={`${fid}-defaultRole`}>
            {form.kind === 'google' ? 'Role of people it signs in' : 'Role when nothing maps'}
          </label>
          <select
            id={`${fid}-defaultRole`}
            class="field-input"
            onChange={(e) => setForm('defaultRole', e.currentTarget.value as SsoForm['defaultRole'])}
          >
            <option value="organization" selected={form.defaultRole === 'organization'}>
              The organization’s default (Settings above)
            </option>
            <For each={ROLES}>
              {(role: Role) => (
                <option value={role} selected={form.defaultRole === role}>
                  {ROLE_LABELS[role]}
                </option>
              )}
            </For>
            <option value="refuse" selected={form.defaultRole === 'refuse'}>
              Nobody: refuse sign-in
            </option>
          </select>
        </div>
        {check(
          'trustEmail',
          'Trust its e-mail addresses',
          form.kind === 'entra'
            ? 'Entra ID does not say whether an address is verified: trust it to link existing accounts by e-mail.'
            : 'Link a first sign-in to an existing account with the same e-mail even when the provider does not mark it verified.',
        )}
        <Show when={form.kind === 'oidc' || form.kind === 'github'}>
          {check(
            'insecure',
            'Allow http:// addresses',
            'Codes and tokens then cross the network in the clear: test labs only.',
          )}
        </Show>
        {check('enabled', 'Offer it on the sign-in page')}
        <div class="card-actions">
          <Button variant="secondary" onClick={props.onCancel}>
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
