import type { Workspace, WorkspaceSource } from '@keel/contract/workspaces';
import { createResource, createSignal, onMount, Show } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import type { NewWorkspace } from '../api/workspaces-api.ts';
import { Button } from '../components/button.tsx';
import { Dialog } from '../components/dialog.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { TextField } from '../components/text-field.tsx';
import { createFormAction, textValue } from '../forms/form-action.ts';

const FIELDS = ['name', 'source', 'network'] as const;

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
  const [policy] = createResource(() => useApis().install.workspacePolicy());
  const form = createFormAction(async (data) => {
    const ref = textValue(data, 'ref').trim();
    const source: WorkspaceSource =
      kind() === 'git'
        ? { type: 'git', url: textValue(data, 'url').trim(), ...(ref === '' ? {} : { ref }) }
        : { type: 'empty' };
    const network = policy()?.workspaceNetwork === 'on_request' && data.get('network') === 'on';
    props.onCreated(
      await props.onCreate({
        name: textValue(data, 'name').trim(),
        source,
        ...(network ? { network: true } : {}),
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
