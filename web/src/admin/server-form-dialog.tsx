import type { RunnerView } from '@keel/contract/runners';
import type { ServerKind, ServerView } from '@keel/contract/servers';
import { createSignal, Match, onMount, Show, Switch } from 'solid-js';
import { ApiError } from '../api/api-error.ts';
import type { NewServer, ServerChange } from '../api/servers-api.ts';
import { Button } from '../components/button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { textValue } from '../forms/form-action.ts';
import { ChoiceGroup, InputField, SecretField, SelectField } from './form-fields.tsx';
import {
  buildChangeRequest,
  buildCreateRequest,
  emptyServerForm,
  type FieldErrors,
  fieldForPath,
  SECRET_FIELDS,
  type ServerFormValues,
  serverFormFrom,
} from './server-form.ts';
import { KIND_LABELS } from './server-words.ts';

/** The largest secret file read (a kubeconfig may be 256 KiB; keys and certificates far less). */
const MAX_SECRET_BYTES = 256 * 1024;

export interface ServerFormDialogProps {
  open: boolean;
  /** Absent: a new server. */
  server?: ServerView | undefined;
  runners: RunnerView[];
  onCreate: (input: NewServer) => Promise<ServerView>;
  onUpdate: (id: string, change: ServerChange) => Promise<ServerView>;
  onDone: (server: ServerView | undefined) => void;
  onCancel: () => void;
}

export function ServerFormDialog(props: ServerFormDialogProps) {
  return (
    <Dialog
      open={props.open}
      title={props.server ? `Edit ${props.server.name}` : 'Add a server'}
      size="wide"
      onClose={props.onCancel}
    >
      <ServerForm {...props} />
    </Dialog>
  );
}

const KIND_CHOICES: ReadonlyArray<{ value: ServerKind; title: string; hint: string }> = [
  { value: 'ssh', title: KIND_LABELS.ssh, hint: 'A Docker host reached over SSH with a private key.' },
  {
    value: 'docker-tls',
    title: KIND_LABELS['docker-tls'],
    hint: 'A Docker engine’s TCP port with mutual TLS.',
  },
  { value: 'kubernetes', title: KIND_LABELS.kubernetes, hint: 'An API server, with a kubeconfig.' },
];

/** Every value of the form, secrets read from their file when one was chosen (else what was pasted). */
async function readValues(data: FormData, kind: ServerKind, errors: FieldErrors): Promise<ServerFormValues> {
  const values = emptyServerForm(kind);
  for (const key of Object.keys(values) as (keyof ServerFormValues)[]) {
    if (key !== 'kind') (values as unknown as Record<string, string>)[key] = textValue(data, key);
  }
  values.kind = kind;
  values.assignment = (values.assignment || 'none') as ServerFormValues['assignment'];
  values.storageKind = (values.storageKind || 'volume') as ServerFormValues['storageKind'];
  for (const name of SECRET_FIELDS) {
    const file = data.get(`${name}File`);
    if (!(file instanceof File) || file.size === 0) continue;
    if (file.size > MAX_SECRET_BYTES) errors[name] = 'This file is too large to be a key or a kubeconfig.';
    else values[name] = await file.text();
  }
  return values;
}

function ServerForm(props: ServerFormDialogProps) {
  const initial = props.server ? serverFormFrom(props.server) : emptyServerForm();
  const editing = props.server !== undefined;
  const [kind, setKind] = createSignal<ServerKind>(initial.kind);
  const [assignment, setAssignment] = createSignal(initial.assignment);
  const [storageKind, setStorageKind] = createSignal(initial.storageKind);
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const [fields, setFields] = createSignal<FieldErrors>({});
  const [unchanged, setUnchanged] = createSignal(false);
  const id = editing ? 'edit-server' : 'new-server';
  const err = (name: keyof FieldErrors) => fields()[name];
  let form: HTMLFormElement | undefined;
  onMount(() => form?.querySelector<HTMLInputElement>('input[name="name"]')?.focus());

  async function submit(event: SubmitEvent & { currentTarget: HTMLFormElement }): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    setPending(true);
    setError(undefined);
    setUnchanged(false);
    try {
      const fileErrors: FieldErrors = {};
      const values = await readValues(new FormData(event.currentTarget), kind(), fileErrors);
      const built = props.server ? buildChangeRequest(props.server, values) : buildCreateRequest(values);
      const problems = { ...(built.ok ? {} : built.fields), ...fileErrors };
      setFields(problems);
      if (!built.ok || Object.keys(problems).length > 0) {
        setError({ message: built.ok ? 'Check the highlighted fields.' : built.message, fields: {} });
        return;
      }
      if (built.request === undefined) {
        setUnchanged(true);
        return;
      }
      const saved = props.server
        ? await props.onUpdate(props.server.id, built.request as ServerChange)
        : await props.onCreate(built.request as NewServer);
      props.onDone(saved);
    } catch (failure) {
      const described = describeError(failure, []);
      const placed: FieldErrors = {};
      if (failure instanceof ApiError)
        for (const issue of failure.issues) {
          const field = fieldForPath(issue.path);
          if (field) placed[field] ??= issue.message;
        }
      setFields(placed);
      setError(described);
    } finally {
      setPending(false);
    }
  }

  const runnerOptions = () => [
    { value: '', label: 'Choose a runner' },
    ...props.runners
      .filter((r) => r.status !== 'revoked')
      .map((r) => ({ value: r.id, label: `${r.name} (${r.status})` })),
  ];

  return (
    <form
      ref={form}
      class="form"
      onSubmit={(event) => void submit(event)}
      aria-label={editing ? 'Edit server' : 'Add a server'}
      novalidate
    >
      <FormAlert error={error()} />
      <Show when={!editing}>
        <ChoiceGroup legend="Kind" name="kind" value={kind()} choices={KIND_CHOICES} onChange={setKind} />
      </Show>
      <div class="form-grid">
        <InputField
          formId={id}
          name="name"
          label="Name"
          required
          value={initial.name}
          maxLength={64}
          hint="Letters, digits, . _ -"
          error={err('name')}
        />
        <InputField
          formId={id}
          name="region"
          label="Region"
          value={initial.region}
          maxLength={63}
          hint="Lower-case letters, digits and -, e.g. eu-west"
          error={err('region')}
        />
      </div>
      <InputField
        formId={id}
        name="labels"
        label="Labels"
        value={initial.labels}
        hint="key=value, separated by commas: zone=eu, gpu=a100"
        error={err('labels')}
      />

      <Switch>
        <Match when={kind() === 'kubernetes'}>
          <SecretField
            formId={id}
            name="kubeconfig"
            label="Kubeconfig"
            required={!editing}
            replacing={editing}
            accept=".yaml,.yml,.json,.conf,text/*"
            rows={6}
            hint="Its current context’s cluster and user are used (a client certificate or a bearer token)."
            error={err('kubeconfig')}
          />
          <div class="form-grid">
            <InputField
              formId={id}
              name="namespacePrefix"
              label="Namespace prefix"
              required
              value={initial.namespacePrefix}
              hint="Each organization gets the namespace <prefix>-<organization id>."
              error={err('namespacePrefix')}
            />
            <InputField
              formId={id}
              name="storageClass"
              label="Storage class"
              value={initial.storageClass}
              hint="Empty: the cluster’s default."
              error={err('storageClass')}
            />
            <InputField
              formId={id}
              name="sizeGb"
              label="Workspace disk (GB)"
              required
              type="number"
              min={1}
              value={initial.sizeGb}
              hint="A claim of this size per workspace, kept while it is stopped."
              error={err('sizeGb')}
            />
          </div>
        </Match>
        <Match when={kind() !== 'kubernetes'}>
          <div class="form-grid">
            <InputField
              formId={id}
              name="host"
              label="Host"
              required
              value={initial.host}
              maxLength={253}
              hint="A host name or an IP address."
              error={err('host')}
            />
            <InputField
              formId={id}
              name="port"
              label="Port"
              required
              type="number"
              min={1}
              max={65535}
              value={initial.kind === kind() ? initial.port : kind() === 'docker-tls' ? '2376' : '22'}
              error={err('port')}
            />
          </div>
          <Show
            when={kind() === 'ssh'}
            fallback={
              <>
                <SecretField
                  formId={id}
                  name="ca"
                  label="CA certificate"
                  required={!editing}
                  replacing={editing}
                  accept=".pem,.crt"
                  hint="PEM; signs the engine’s certificate."
                  error={err('ca')}
                />
                <SecretField
                  formId={id}
                  name="cert"
                  label="Client certificate"
                  required={!editing}
                  replacing={editing}
                  accept=".pem,.crt"
                  error={err('cert')}
                />
                <SecretField
                  formId={id}
                  name="key"
                  label="Client key"
                  required={!editing}
                  replacing={editing}
                  accept=".pem,.key"
                  error={err('key')}
                />
              </>
            }
          >
            <InputField
              formId={id}
              name="user"
              label="User"
              required
              value={initial.user}
              maxLength={32}
              hint="A user on the host that may use Docker."
              error={err('user')}
            />
            <SecretField
              formId={id}
              name="privateKey"
              label="Private key"
              required={!editing}
              replacing={editing}
              hint="PEM or OpenSSH form. Sealed when saved and never shown again: only its fingerprint is."
              error={err('privateKey')}
            />
            <InputField
              formId={id}
              name="passphrase"
              label="Passphrase"
              type="password"
              autocomplete="new-password"
              hint={editing ? 'Only with a new private key.' : 'If the key has one.'}
              error={err('passphrase')}
            />
            <div class="field">
              <label class="field-label" for={`${id}-hostKey`}>
                Host key<span class="field-optional"> (optional)</span>
              </label>
              <textarea
                id={`${id}-hostKey`}
                name="hostKey"
                class="field-input field-mono"
                rows={2}
                autocomplete="off"
                spellcheck={false}
                aria-describedby={`${id}-hostKey-hint`}
                aria-invalid={err('hostKey') ? 'true' : undefined}
              />
              <p id={`${id}-hostKey-hint`} class="field-hint">
                {editing
                  ? `Pinned now: ${props.server?.endpoint.hostKeyFingerprint ?? 'none'}. A key given here replaces it.`
                  : 'The host’s public key line (ssh-ed25519 AAAA…). Empty: the first test offers the host’s key for you to confirm.'}
              </p>
              <Show when={err('hostKey')}>
                <p class="field-error">{err('hostKey')}</p>
              </Show>
            </div>
          </Show>
          <ChoiceGroup
            legend="Workspace storage"
            name="storageKind"
            value={storageKind()}
            onChange={setStorageKind}
            choices={[
              { value: 'volume', title: 'Docker volumes', hint: 'A named volume per workspace.' },
              {
                value: 'hostDir',
                title: 'A folder on the host',
                hint: 'Each workspace in <folder>/<workspace id>.',
              },
            ]}
          />
          <Show when={storageKind() === 'hostDir'}>
            <InputField
              formId={id}
              name="storagePath"
              label="Host folder"
              required
              value={initial.storagePath}
              placeholder="/srv/keel/workspaces"
              hint="An absolute path of plain names."
              error={err('storagePath')}
            />
          </Show>
        </Match>
      </Switch>

      <fieldset class="field-group">
        <legend class="field-label">Capacity</legend>
        <div class="form-grid">
          <InputField
            formId={id}
            name="capacityWorkspaces"
            label="Workspaces"
            required
            type="number"
            min={1}
            value={initial.capacityWorkspaces}
            error={err('capacityWorkspaces')}
          />
          <InputField
            formId={id}
            name="capacityCpus"
            label="CPUs"
            type="number"
            step="any"
            value={initial.capacityCpus}
            error={err('capacityCpus')}
          />
          <InputField
            formId={id}
            name="capacityMemoryMb"
            label="Memory (MB)"
            type="number"
            min={64}
            value={initial.capacityMemoryMb}
            error={err('capacityMemoryMb')}
          />
        </div>
      </fieldset>

      <ChoiceGroup
        legend="Assigned to"
        name="assignment"
        value={assignment()}
        onChange={setAssignment}
        choices={[
          {
            value: 'none',
            title: 'No runner yet',
            hint: 'It cannot be tested or used until it is assigned.',
          },
          {
            value: 'runner',
            title: 'A runner',
            hint: 'One runner in the server’s network tests it and runs its workspaces.',
          },
          {
            value: 'labels',
            title: 'Runners with labels',
            hint: 'Any online runner carrying every label given.',
          },
        ]}
      />
      <Show when={assignment() === 'runner'}>
        <SelectField
          formId={id}
          name="runnerId"
          label="Runner"
          value={initial.runnerId}
          options={runnerOptions()}
          error={err('runnerId')}
        />
      </Show>
      <Show when={assignment() === 'labels'}>
        <InputField
          formId={id}
          name="runnerLabels"
          label="Runner labels"
          required
          value={initial.runnerLabels}
          hint="key=value, separated by commas."
          error={err('runnerLabels')}
        />
      </Show>

      <Show when={unchanged()}>
        <p role="status" class="field-hint">
          Nothing changed.
        </p>
      </Show>
      <div class="dialog-footer dialog-footer-inline">
        <Button variant="secondary" onClick={props.onCancel}>
          Cancel
        </Button>
        <Button type="submit" pending={pending()} pendingLabel={editing ? 'Saving…' : 'Adding…'}>
          {editing ? 'Save changes' : 'Add server'}
        </Button>
      </div>
    </form>
  );
}
