import type { InstallSettings, WorkspaceNetworkPolicy } from '@keel/contract/install';
import type { PlacementPolicy } from '@keel/contract/placement';
import type { RunnerView } from '@keel/contract/runners';
import { createResource, createSignal, For, Show } from 'solid-js';
import { createPolicyDraft, PolicyFields } from '../../admin/policy-fields.tsx';
import { useApis } from '../../api/api-context.ts';
import { Button } from '../../components/button.tsx';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import { FormAlert } from '../../components/form-alert.tsx';
import { LoadingIndicator } from '../../components/loading-indicator.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { describeError, type FormError } from '../../forms/describe-error.ts';
import { errorMessage } from '../../forms/error-message.ts';
import { createFormAction, textValue } from '../../forms/form-action.ts';
import { AppHeader } from '../../shell/app-header.tsx';

const FIELDS = ['workspaceNetwork', 'egressAllow', 'maxCpus', 'maxMemoryMb', 'maxDiskMb'] as const;

const NETWORK_CHOICES: ReadonlyArray<{ value: WorkspaceNetworkPolicy; title: string; hint: string }> = [
  { value: 'off', title: 'Off', hint: 'No workspace gets network. Git clones still work.' },
  { value: 'on_request', title: 'On request', hint: 'A workspace gets network when its creator asks.' },
  { value: 'always', title: 'Always', hint: 'Every new workspace gets network.' },
];

/** Install settings and shared runners: what every organization shares, for install administrators. */
export function InstallPage() {
  usePageTitle('Install');
  const api = useApis().install;
  const [settings, { mutate }] = createResource(() => api.settings());
  const [sharedRunners, { refetch }] = createResource(() => api.sharedRunners());
  const [saved, setSaved] = createSignal(false);
  const [revoking, setRevoking] = createSignal<RunnerView>();
  const [newToken, setNewToken] = createSignal<string>();
  const [tokenError, setTokenError] = createSignal<unknown>();
  const makeToken = async () => {
    setTokenError(undefined);
    try {
      setNewToken((await api.createSharedRunnerToken()).token);
    } catch (err) {
      setTokenError(err);
    }
  };

  const form = createFormAction(async (data) => {
    setSaved(false);
    const update = {
      workspaceNetwork: textValue(data, 'workspaceNetwork') as WorkspaceNetworkPolicy,
      egressAllow: textValue(data, 'egressAllow')
        .split(/[\s,]+/)
        .filter((line) => line !== ''),
      maxCpus: Number(textValue(data, 'maxCpus')),
      maxMemoryMb: Number(textValue(data, 'maxMemoryMb')),
      maxDiskMb: Number(textValue(data, 'maxDiskMb')),
    };
    mutate(await api.updateSettings(update));
    setSaved(true);
  }, FIELDS);

  return (
    <div class="app-shell">
      <AppHeader />
      <main class="app-main">
        <h1 class="page-title">Install</h1>
        <section class="card" aria-labelledby="install-settings-heading">
          <h2 id="install-settings-heading" class="card-title">
            Workspaces on this install
          </h2>
          <Show when={settings.error}>
            <p role="alert">{errorMessage(settings.error)}</p>
          </Show>
          <Show when={settings()} fallback={<LoadingIndicator label="Loading settings…" />}>
            {(current) => <SettingsForm settings={current().settings} form={form} saved={saved()} />}
          </Show>
        </section>
        <section class="card" aria-labelledby="default-placement-heading">
          <h2 id="default-placement-heading" class="card-title">
            Default placement
          </h2>
          <p class="muted">
            How workspaces of organizations that set no placement policy of their own are placed on runners.
          </p>
          <Show
            when={settings()}
            fallback={
              <Show when={!settings.error}>
                <LoadingIndicator label="Loading settings…" />
              </Show>
            }
          >
            {(current) => (
              <DefaultPlacementForm
                policy={current().settings.placementPolicy}
                onSave={async (placementPolicy) => {
                  mutate(await api.updateSettings({ placementPolicy }));
                }}
              />
            )}
          </Show>
        </section>
        <section class="card" aria-labelledby="shared-runners-heading">
          <h2 id="shared-runners-heading" class="card-title">
            Shared runners
          </h2>
          <Show when={sharedRunners.error}>
            <p role="alert">{errorMessage(sharedRunners.error)}</p>
          </Show>
          <p class="card-actions">
            <Button type="button" variant="secondary" onClick={makeToken}>
              New registration token
            </Button>
          </p>
          <Show when={tokenError()}>
            <p role="alert">{errorMessage(tokenError())}</p>
          </Show>
          <Show when={newToken()}>
            {(token) => (
              <div class="token-once" role="status">
                <p>Shown once. On the new host, run:</p>
                <pre>
                  <code>{`KEEL_URL=${location.origin} KEEL_RUNNER_TOKEN=${token()} REDIS_URL=redis://… npx keel-runner`}</code>
                </pre>
              </div>
            )}
          </Show>
          <Show when={sharedRunners()} fallback={<LoadingIndicator label="Loading runners…" />}>
            {(list) => (
              <Show when={list().length > 0} fallback={<p class="list-placeholder">No shared runners.</p>}>
                <ul class="runner-list">
                  <For each={list()}>
                    {(runner) => <RunnerRow runner={runner} onRevoke={() => setRevoking(runner)} />}
                  </For>
                </ul>
              </Show>
            )}
          </Show>
        </section>
      </main>
      <ConfirmDialog
        open={revoking() !== undefined}
        title="Revoke this shared runner?"
        confirmLabel="Revoke runner"
        pendingLabel="Revoking…"
        danger
        onConfirm={async () => {
          const runner = revoking();
          if (runner) await api.revokeSharedRunner(runner.id);
          setRevoking(undefined);
          await refetch();
        }}
        onCancel={() => setRevoking(undefined)}
      >
        <p>
          It serves every organization: their workspaces on it become unavailable, and it stops taking work at
          once. This cannot be undone; the host must register again.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function SettingsForm(props: {
  settings: InstallSettings;
  form: ReturnType<typeof createFormAction>;
  saved: boolean;
}) {
  // The lowest values the settings' schema takes (edge/contract/src/install.ts).
  const numberField = (
    name: 'maxCpus' | 'maxMemoryMb' | 'maxDiskMb',
    label: string,
    step: string,
    min: string,
  ) => (
    <div class="field">
      <label class="field-label" for={`install-${name}`}>
        {label}
      </label>
      <input
        id={`install-${name}`}
        name={name}
        type="number"
        class="field-input"
        min={min}
        step={step}
        required
        value={props.settings[name]}
        aria-invalid={props.form.fieldError(name) ? 'true' : undefined}
      />
      <Show when={props.form.fieldError(name)}>
        <p class="field-error">{props.form.fieldError(name)}</p>
      </Show>
    </div>
  );

  return (
    <form class="form" onSubmit={props.form.onSubmit} aria-label="Install settings">
      <FormAlert error={props.form.error()} />
      <fieldset class="choice-group">
        <legend class="field-label">Workspace network</legend>
        <For each={NETWORK_CHOICES}>
          {(choice) => (
            <label class="choice">
              <input
                type="radio"
                name="workspaceNetwork"
                value={choice.value}
                checked={props.settings.workspaceNetwork === choice.value}
              />
              <span>
                <span class="choice-title">{choice.title}</span>
                <span class="choice-hint">{choice.hint}</span>
              </span>
            </label>
          )}
        </For>
      </fieldset>
      <div class="field">
        <label class="field-label" for="install-egressAllow">
          Private destinations workspaces may reach
        </label>
        <textarea
          id="install-egressAllow"
          name="egressAllow"
          class="field-input"
          rows="4"
          aria-describedby="install-egressAllow-hint"
          aria-invalid={props.form.fieldError('egressAllow') ? 'true' : undefined}
          value={props.settings.egressAllow.join('\n')}
        />
        <p id="install-egressAllow-hint" class="field-hint">
          One IPv4 address or CIDR a line, with an optional port: 10.0.0.0/8, 192.168.1.5:5432. At most 64.
        </p>
        <Show when={props.form.fieldError('egressAllow')}>
          <p class="field-error">{props.form.fieldError('egressAllow')}</p>
        </Show>
      </div>
      {numberField('maxCpus', 'Most CPUs a workspace may ask for', '0.5', '0.5')}
      {numberField('maxMemoryMb', 'Most memory (MB)', '1', '128')}
      {numberField('maxDiskMb', 'Most disk (MB)', '1', '64')}
      <div class="dialog-footer dialog-footer-inline">
        <Show when={props.saved}>
          <p role="status">Saved.</p>
        </Show>
        <Button type="submit" pending={props.form.pending()} pendingLabel="Saving…">
          Save settings
        </Button>
      </div>
    </form>
  );
}

function RunnerRow(props: { runner: RunnerView; onRevoke: () => void }) {
  const stats = () => props.runner.stats;
  return (
    <li class="runner-row">
      <div>
        <strong>{props.runner.name}</strong> <span class="runner-status">{props.runner.status}</span>
        <Show when={stats()}>
          {(s) => (
            <p class="field-hint">
              {s().driver} · {s().cpus} CPUs · {Math.round(s().memory.freeMb)} of{' '}
              {Math.round(s().memory.totalMb)} MB free · {s().workspacesRunning} of{' '}
              {props.runner.capacity.workspaces} workspaces running
            </p>
          )}
        </Show>
      </div>
      <Show when={props.runner.status !== 'revoked'}>
        <Button
          variant="danger"
          size="small"
          onClick={props.onRevoke}
          ariaLabel={`Revoke ${props.runner.name}`}
        >
          Revoke
        </Button>
      </Show>
    </li>
  );
}

/** The install's default placement policy, saved on its own (only `placementPolicy` is sent). */
function DefaultPlacementForm(props: {
  policy: PlacementPolicy;
  onSave: (policy: PlacementPolicy) => Promise<void>;
}) {
  const draft = createPolicyDraft(props.policy);
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const [saved, setSaved] = createSignal(false);
  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    setSaved(false);
    setError(undefined);
    const built = draft.build();
    if (!built.ok) return void setError({ message: built.message, fields: {} });
    setPending(true);
    try {
      await props.onSave(built.policy);
      setSaved(true);
    } catch (failure) {
      setError(describeError(failure, []));
    } finally {
      setPending(false);
    }
  }
  return (
    <form
      class="form"
      aria-labelledby="default-placement-heading"
      onSubmit={(e) => void submit(e)}
      novalidate
    >
      <FormAlert error={error()} />
      <Show when={saved()}>
        <p class="alert alert-info" role="status">
          Saved. Organizations without a policy of their own follow it for new placements.
        </p>
      </Show>
      <PolicyFields draft={draft} idPrefix="install-placement" />
      <div class="dialog-footer dialog-footer-inline">
        <Button type="submit" pending={pending()} pendingLabel="Saving…">
          Save default placement
        </Button>
      </div>
    </form>
  );
}
