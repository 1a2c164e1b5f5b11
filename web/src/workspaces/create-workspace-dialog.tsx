import type { Workspace, WorkspaceSource } from '@keel/contract/workspaces';
import { createResource, createSignal, For, onMount, Show } from 'solid-js';
import { InputField } from '../admin/form-fields.tsx';
import { useApis } from '../api/api-context.ts';
import { ApiError } from '../api/api-error.ts';
import type { NewWorkspace } from '../api/workspaces-api.ts';
import { Button } from '../components/button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { TextField } from '../components/text-field.tsx';
import { createFormAction, textValue } from '../forms/form-action.ts';

/** A problem with one field found before sending, shown under that field like the server's own. */
function fieldProblem(field: string, message: string): ApiError {
  return new ApiError({
    status: 400,
    code: 'validation_failed',
    message: 'Check the highlighted fields.',
    issues: [{ path: field, message }],
  });
}

const FIELDS = ['name', 'source', 'network', 'serverId', 'placement', 'resources'] as const;

export interface CreateWorkspaceDialogProps {
  open: boolean;
  onCreate: (input: NewWorkspace) => Promise<Workspace>;
  onCreated: (workspace: Workspace) => void;
  onCancel: () => void;
}

export function CreateWorkspaceDialog(props: CreateWorkspaceDialogProps) {
  return (
    <Dialog open={props.open} title="New workspace" onClose={props.onCancel}>
      <CreateWorkspaceForm {...props} />
    </Dialog>
  );
}

function CreateWorkspaceForm(props: CreateWorkspaceDialogProps) {
  const [kind, setKind] = createSignal<'empty' | 'git'>('empty');
  // The install decides whether workspaces may have network; the form offers only what it allows.
  const apis = useApis();
  const [policy] = createResource(() => apis.install.workspacePolicy());
  // Where it may run: offered only when the organization has servers a workspace may be placed on.
  const [servers] = createResource(() => apis.servers.placeable().catch(() => []), { initialValue: [] });
  const form = createFormAction(async (data) => {
    const ref = textValue(data, 'ref').trim();
    const source: WorkspaceSource =
      kind() === 'git'
        ? { type: 'git', url: textValue(data, 'url').trim(), ...(ref === '' ? {} : { ref }) }
        : { type: 'empty' };
    const network = policy()?.workspaceNetwork === 'on_request' && data.get('network') === 'on';
    const serverId = textValue(data, 'serverId');
    const region = textValue(data, 'region').trim();
    const gpuText = textValue(data, 'gpus').trim();
    const gpus = gpuText === '' ? undefined : Number(gpuText);
    if (gpus !== undefined && !(Number.isInteger(gpus) && gpus >= 1 && gpus <= 16))
      throw fieldProblem('resources', 'A whole number of GPUs, 1 to 16; empty for none.');
    if (region.length > 64) throw fieldProblem('placement', 'Up to 64 characters.');
    props.onCreated(
      await props.onCreate({
        name: textValue(data, 'name').trim(),
        source,
        ...(network ? { network: true } : {}),
        ...(serverId === '' ? {} : { serverId }),
        ...(region === '' ? {} : { placement: { region } }),
        ...(gpus === undefined ? {} : { resources: { gpus } }),
      }),
    );
  }, FIELDS);
  let nameInput: HTMLInputElement | undefined;
  onMount(() => nameInput?.focus());

  return (
    <form class="form" onSubmit={form.onSubmit} aria-label="New workspace">
      <FormAlert error={form.error()} />
      <TextField
        ref={(element) => {
          nameInput = element;
        }}
        formId="new-workspace"
        name="name"
        label="Name"
        autocomplete="off"
        required
        maxLength={64}
        hint="Letters, digits, spaces, dots, dashes and underscores."
        error={form.fieldError('name')}
      />
      <fieldset class="choice-group">
        <legend class="field-label">Start from</legend>
        <label class="choice">
          <input
            type="radio"
            name="source"
            value="empty"
            checked={kind() === 'empty'}
            onChange={() => setKind('empty')}
          />
          <span>
            <span class="choice-title">An empty folder</span>
            <span class="choice-hint">Start from scratch.</span>
          </span>
        </label>
        <label class="choice">
          <input
            type="radio"
            name="source"
            value="git"
            checked={kind() === 'git'}
            onChange={() => setKind('git')}
          />
          <span>
            <span class="choice-title">A Git repository</span>
            <span class="choice-hint">Clone it into the workspace; progress shows in the workspace log.</span>
          </span>
        </label>
      </fieldset>
      <Show when={kind() === 'git'}>
        <TextField
          formId="new-workspace"
          name="url"
          label="Repository URL"
          autocomplete="url"
          required
          maxLength={2048}
          hint="https://…, ssh://… or git@host:owner/repo.git"
          error={form.fieldError('source')}
        />
        <TextField
          formId="new-workspace"
          name="ref"
          label="Branch, tag or commit"
          autocomplete="off"
          maxLength={255}
          hint="Leave empty for the repository’s default branch."
        />
      </Show>
      <Show when={servers().length > 0}>
        <div class="field">
          <label class="field-label" for="new-workspace-serverId">
            Where
          </label>
          <select
            id="new-workspace-serverId"
            name="serverId"
            class="field-input"
            aria-describedby="new-workspace-serverId-hint"
            aria-invalid={form.fieldError('serverId') ? 'true' : undefined}
          >
            <option value="">Automatic</option>
            <For each={servers()}>
              {(server) => (
                <option value={server.id}>
                  {server.name}
                  {server.region ? ` (${server.region})` : ''}
                </option>
              )}
            </For>
          </select>
          <p id="new-workspace-serverId-hint" class="field-hint">
            Automatic lets Keel choose a runner with room for it.
          </p>
          <Show when={form.fieldError('serverId')}>
            <p class="field-error">{form.fieldError('serverId')}</p>
          </Show>
        </div>
      </Show>
      <InputField
        formId="new-workspace"
        name="region"
        label="Region"
        maxLength={64}
        placeholder="eu-west"
        hint="Run it only on runners labelled with this region. Empty: wherever the organization’s policy places it."
        error={form.fieldError('placement')}
      />
      <InputField
        formId="new-workspace"
        name="gpus"
        label="GPUs"
        inputMode="numeric"
        hint="It goes only where this many GPUs are free, and gets them. Empty: none."
        error={form.fieldError('resources')}
      />
      <Show when={policy()?.workspaceNetwork === 'on_request'}>
        <label class="choice">
          <input type="checkbox" name="network" />
          <span>
            <span class="choice-title">Network access</span>
            <span class="choice-hint">Let commands in the workspace reach the internet.</span>
          </span>
        </label>
      </Show>
      <Show when={policy()?.workspaceNetwork === 'always'}>
        <p class="field-hint">Workspaces on this install have network access.</p>
      </Show>
      <div class="dialog-footer dialog-footer-inline">
        <Button variant="secondary" onClick={props.onCancel}>
          Cancel
        </Button>
        <Button type="submit" pending={form.pending()} pendingLabel="Creating…">
          Create workspace
        </Button>
      </div>
    </form>
  );
}
