import type { CreateRunnerTokenResponse, RunnerView } from '@keel/contract/runners';
import { createSignal, createUniqueId, For, Match, onCleanup, onMount, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { Dialog } from '../components/dialog.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { relativeTime } from '../format/relative-time.ts';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { errorMessage } from '../forms/error-message.ts';
import { textValue } from '../forms/form-action.ts';
import { useSession } from '../session/session-context.ts';
import { DrainConfirm, DrainProgressView, drainButtonLabel } from './drain.tsx';
import { InputField, SelectField } from './form-fields.tsx';
import { createRunnerListStore, isDrainUnderWay, type RunnerListStore } from './runner-list-store.ts';
import {
  buildTokenRequest,
  EXPIRY_CHOICES,
  type RunnerTokenField,
  runnerCommand,
} from './runner-token-form.ts';
import { formatLabels, formatMb } from './server-words.ts';
import { Fact } from './test-result.tsx';

const RUNNER_STATUS: Record<RunnerView['status'], string> = {
  online: 'Online',
  offline: 'Offline',
  revoked: 'Revoked',
};

/** Admin › Runners: the daemons that run workspaces, their live load, registration tokens, revocation. */
export default function RunnersPage() {
  usePageTitle('Runners');
  const apis = useApis();
  const session = useSession();
  const installAdmin = () => {
    const state = session.state();
    return state.status === 'signedIn' && state.installAdmin;
  };
  const store = createRunnerListStore({
    api: apis.runners,
    drain: (id, drain, shared) => apis.fleet.drainRunner(id, drain, shared),
    isVisible: () => document.visibilityState === 'visible',
  });
  const [making, setMaking] = createSignal(false);
  const [revoking, setRevoking] = createSignal<RunnerView>();
  const [draining, setDraining] = createSignal<RunnerView>();
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

  const tokenButton = () => <Button onClick={() => setMaking(true)}>New registration token</Button>;

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Runners</h1>
        <Show when={(store.runners()?.length ?? 0) > 0}>{tokenButton()}</Show>
      </div>
      <p class="page-intro muted">
        A runner is a daemon on a host that runs workspaces there, and on the servers assigned to it. It
        registers itself with a token made here.
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
            <p>Could not load the runners. {errorMessage(error())}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void store.load()}>
                Try again
              </Button>
            </p>
          </div>
        )}
      </Show>
      <Switch>
        <Match when={store.runners() === undefined && !store.loadError()}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading runners…" />
          </div>
        </Match>
        <Match when={store.runners()?.length === 0}>
          <EmptyState title="No runners yet" action={tokenButton()}>
            <p>Make a registration token, then run the command it comes with on the host.</p>
          </EmptyState>
        </Match>
        <Match when={store.runners()}>
          {(list) => (
            <ul class="server-list" aria-label="Runners">
              <For each={list()}>
                {(runner) => (
                  <RunnerCard
                    runner={runner}
                    revoking={store.revoking(runner.id)}
                    onRevoke={() => setRevoking(runner)}
                    canDrain={!runner.shared || installAdmin()}
                    drainPending={store.draining(runner.id)}
                    onDrain={() => setDraining(runner)}
                  />
                )}
              </For>
            </ul>
          )}
        </Match>
      </Switch>

      <Show when={draining()}>
        {(runner) => (
          <DrainConfirm
            name={runner().name}
            kind="runner"
            draining={runner().drain?.draining ?? false}
            onConfirm={async () => {
              const on = !(runner().drain?.draining ?? false);
              setActionError(undefined);
              await store.drain(runner().id, on);
              setAnnouncement(
                on
                  ? `${runner().name} is draining: its workspaces move away.`
                  : `${runner().name} is no longer draining.`,
              );
              setDraining(undefined);
            }}
            onCancel={() => setDraining(undefined)}
          />
        )}
      </Show>

      <Dialog open={making()} title="New registration token" onClose={() => setMaking(false)}>
        <TokenForm store={store} onClose={() => setMaking(false)} />
      </Dialog>

      <Show when={revoking()}>
        {(runner) => (
          <ConfirmDialog
            open
            title={`Revoke ${runner().name}?`}
            confirmLabel="Revoke runner"
            pendingLabel="Revoking…"
            danger
            onConfirm={async () => {
              await store.revoke(runner().id);
              setAnnouncement(`${runner().name} is revoked.`);
              setRevoking(undefined);
            }}
            onCancel={() => setRevoking(undefined)}
          >
            <p>
              It gets no new work, its calls are refused at once and it stops itself; its workspaces become
              unavailable. This cannot be undone: the host must register again with a new token.
            </p>
          </ConfirmDialog>
        )}
      </Show>
    </>
  );
}

function RunnerCard(props: {
  runner: RunnerView;
  revoking: boolean;
  onRevoke: () => void;
  canDrain: boolean;
  drainPending: boolean;
  onDrain: () => void;
}) {
  const headingId = createUniqueId();
  const r = () => props.runner;
  return (
    <li class="server-card" aria-labelledby={headingId}>
      <div class="server-card-head">
        <div>
          <h2 id={headingId} class="server-name">
            {r().name}
          </h2>
          <p class="workspace-source">
            {r().drivers.join(', ')}
            {r().shared ? ' · shared by every organization' : ''}
          </p>
        </div>
        <div class="workspace-meta">
          <Show
            when={r().lost && r().status !== 'revoked'}
            fallback={
              <span class={`status runner-status-${r().status}`}>
                <span class="status-dot" aria-hidden="true" />
                {RUNNER_STATUS[r().status]}
              </span>
            }
          >
            <span class="status runner-status-lost" title="Its heartbeat is gone: its workspaces moved">
              <span class="status-dot" aria-hidden="true" />
              Lost
            </span>
          </Show>
          <Show when={r().drain?.draining}>
            <span class="status runner-status-draining">
              <Show when={isDrainUnderWay(r())} fallback={<span class="status-dot" aria-hidden="true" />}>
                <span class="spinner spinner-small" aria-hidden="true" />
              </Show>
              Draining
            </span>
          </Show>
        </div>
      </div>
      <Show when={r().drain}>{(drain) => <DrainProgressView drain={drain()} />}</Show>
      <dl class="facts facts-compact">
        <Fact term="Labels">{formatLabels(r().labels) || '—'}</Fact>
        <Show
          when={r().stats}
          fallback={
            <Fact term="Resources">
              {r().status === 'revoked'
                ? `Revoked ${r().revokedAt ? relativeTime(r().revokedAt!) : ''}`
                : r().shared
                  ? 'Shown to install administrators only'
                  : 'No heartbeat: offline'}
            </Fact>
          }
        >
          {(stats) => (
            <>
              <Fact term="CPU">
                {stats().cpus} CPUs · load{' '}
                {stats()
                  .load.map((l) => l.toFixed(2))
                  .join(' ')}
              </Fact>
              <Fact term="Memory">
                {formatMb(stats().memory.freeMb)} free of {formatMb(stats().memory.totalMb)}
              </Fact>
              <Fact term="Disk">
                {formatMb(stats().disk.freeMb)} free of {formatMb(stats().disk.totalMb)}
              </Fact>
              <Fact term="GPUs">
                {stats().gpus.length === 0
                  ? 'None'
                  : stats()
                      .gpus.map(
                        (g) =>
                          `${g.name}: ${g.utilizationPercent}% busy, ${formatMb(g.memoryTotalMb - g.memoryUsedMb)} free`,
                      )
                      .join(' · ')}
              </Fact>
              <Fact term="Workspaces">
                {stats().workspacesRunning} running of {r().capacity.workspaces}
              </Fact>
              <Fact term="Heartbeat">
                {relativeTime(stats().at)} · version {stats().version} · driving {stats().driver}
              </Fact>
            </>
          )}
        </Show>
      </dl>
      <Show when={r().status !== 'revoked' && (props.canDrain || !r().shared)}>
        <div class="workspace-actions">
          <Show when={props.canDrain}>
            <Button
              size="small"
              variant="secondary"
              onClick={props.onDrain}
              pending={props.drainPending}
              pendingLabel="Asking…"
              ariaLabel={`${drainButtonLabel(r().drain?.draining ?? false)} ${r().name}`}
            >
              {drainButtonLabel(r().drain?.draining ?? false)}
            </Button>
          </Show>
          <Show when={!r().shared}>
            <Button
              size="small"
              variant="danger"
              onClick={props.onRevoke}
              pending={props.revoking}
              pendingLabel="Revoking…"
              ariaLabel={`Revoke ${r().name}`}
            >
              Revoke
            </Button>
          </Show>
        </div>
      </Show>
    </li>
  );
}

const TOKEN_FIELDS = ['name', 'labels', 'expiresInSeconds', 'maxUses'] as const;

/** The token's form; once made, the same place shows the token and its command, this one time only. */
function TokenForm(props: { store: RunnerListStore; onClose: () => void }) {
  const [made, setMade] = createSignal<CreateRunnerTokenResponse>();
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const [fields, setFields] = createSignal<Partial<Record<RunnerTokenField, string>>>({});
  const id = 'runner-token';

  async function submit(event: SubmitEvent & { currentTarget: HTMLFormElement }): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    const data = new FormData(event.currentTarget);
    const built = buildTokenRequest({
      name: textValue(data, 'name'),
      labels: textValue(data, 'labels'),
      expiresInSeconds: textValue(data, 'expiresInSeconds'),
      maxUses: textValue(data, 'maxUses'),
    });
    if (!built.ok) {
      setFields(built.fields);
      setError({ message: built.message, fields: {} });
      return;
    }
    setPending(true);
    setError(undefined);
    setFields({});
    try {
      setMade(await props.store.createToken(built.request));
    } catch (failure) {
      const described = describeError(failure, TOKEN_FIELDS);
      setFields(described.fields);
      setError(described);
    } finally {
      setPending(false);
    }
  }

  return (
    <Show
      when={made()}
      fallback={
        <form
          class="form"
          onSubmit={(event) => void submit(event)}
          aria-label="New registration token"
          novalidate
        >
          <FormAlert error={error()} />
          <InputField
            formId={id}
            name="name"
            label="Runner name"
            maxLength={64}
            hint="Letters, digits, . _ -. Empty: the runner names itself."
            error={fields().name}
          />
          <InputField
            formId={id}
            name="labels"
            label="Labels"
            hint="key=value, separated by commas: the runner registers with them."
            error={fields().labels}
          />
          <SelectField
            formId={id}
            name="expiresInSeconds"
            label="Valid for"
            value={String(24 * 3600)}
            options={EXPIRY_CHOICES.map((c) => ({ value: String(c.seconds), label: c.label }))}
            error={fields().expiresInSeconds}
          />
          <InputField
            formId={id}
            name="maxUses"
            label="Registrations"
            type="number"
            min={1}
            max={10000}
            value="1"
            required
            hint="How many runners may register with it."
            error={fields().maxUses}
          />
          <div class="dialog-footer dialog-footer-inline">
            <Button variant="secondary" onClick={props.onClose}>
              Cancel
            </Button>
            <Button type="submit" pending={pending()} pendingLabel="Making…">
              Make token
            </Button>
          </div>
        </form>
      }
    >
      {(answer) => (
        <>
          <div class="token-once" role="status">
            <p>
              <strong>Shown once.</strong> On the new host, run this (fill in the Redis address the runner
              reaches). It expires {relativeTime(answer().runnerToken.expiresAt)} and registers{' '}
              {answer().runnerToken.maxUses === 1
                ? 'one runner'
                : `up to ${answer().runnerToken.maxUses} runners`}
              .
            </p>
            <pre>
              <code>{runnerCommand(location.origin, answer().token)}</code>
            </pre>
          </div>
          <div class="dialog-footer dialog-footer-inline">
            <Button onClick={props.onClose}>Done</Button>
          </div>
        </>
      )}
    </Show>
  );
}
