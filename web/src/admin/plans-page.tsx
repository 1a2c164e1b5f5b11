import { PLAN_LIMIT_NAMES, type PlanLimits, type PlanResponse, RateLimitScope } from '@keel/contract/plans';
import { createResource, createSignal, For, Match, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { errorMessage } from '../forms/error-message.ts';
import { can } from '../session/permissions.ts';
import { useSession } from '../session/session-context.ts';
import { InputField } from './form-fields.tsx';
import { formatLimit, LIMIT_WORDS, limitText, planFromForm } from './plans-form.ts';
import { Fact } from './test-result.tsx';

const SCOPE_WORDS: Record<RateLimitScope, string> = {
  ip: 'Requests from one address',
  person: 'Requests from one person',
  plan: 'The plan’s requests a minute',
  ai: 'AI tokens a day',
  workspaces: 'Workspaces at once',
  commands: 'Commands at once',
};

/** Admin › Plans and limits: the organization's plan, what it uses now and what was refused today. */
export default function PlansPage() {
  usePageTitle('Plans and limits');
  const api = useApis().plans;
  const session = useSession();
  const [answer, { mutate, refetch }] = createResource(() => api.get());
  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Plans and limits</h1>
      </div>
      <p class="page-intro muted">
        What the organization may use at once and per day, and how many requests Keel takes a minute. A
        request past a limit is answered “too many requests” and counted below.
      </p>
      <Switch>
        <Match when={answer.error}>
          <div class="alert alert-error" role="alert">
            <p>Could not load the plan. {errorMessage(answer.error)}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void refetch()}>
                Try again
              </Button>
            </p>
          </div>
        </Match>
        <Match when={answer()}>
          {(current) => (
            <>
              <PlanSummary current={current()} />
              <Show
                when={can(session.state(), 'signin:manage')}
                fallback={
                  <p class="muted" id="plan-read-only">
                    Only a super admin can change the plan.
                  </p>
                }
              >
                <PlanForm current={current()} onSaved={(saved) => mutate(saved)} />
              </Show>
            </>
          )}
        </Match>
        <Match when={true}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading the plan…" />
          </div>
        </Match>
      </Switch>
    </>
  );
}

function PlanSummary(props: { current: PlanResponse }) {
  const c = () => props.current;
  const used: Record<keyof PlanLimits, () => string> = {
    apiRequestsPerMinute: () => '—',
    concurrentWorkspaces: () => formatLimit(c().usage.workspacesRunning),
    concurrentCommands: () => formatLimit(c().usage.commandsRunning),
    aiTokensPerDay: () => formatLimit(c().usage.aiTokensToday),
  };
  const refusals = () =>
    RateLimitScope.options.reduce((sum, s) => sum + (c().usage.refusalsToday[s] ?? 0), 0);
  return (
    <>
      <section class="card" aria-labelledby="plan-now-heading">
        <h2 id="plan-now-heading" class="card-title">
          {c().plan.name}
          <span class="muted">
            {' '}
            · {c().source === 'organization' ? 'this organization’s plan' : 'the install’s default plan'}
          </span>
        </h2>
        <table class="data-table">
          <caption class="visually-hidden">The plan’s limits and what is in use now</caption>
          <thead>
            <tr>
              <th scope="col">Limit</th>
              <th scope="col">Plan</th>
              <th scope="col">In use now</th>
              <th scope="col">Install maximum</th>
            </tr>
          </thead>
          <tbody>
            <For each={PLAN_LIMIT_NAMES}>
              {(key) => (
                <tr>
                  <th scope="row">{LIMIT_WORDS[key].label}</th>
                  <td>{formatLimit(c().plan.limits[key])}</td>
                  <td>{used[key]()}</td>
                  <td>{c().maximums[key] === null ? 'None' : formatLimit(c().maximums[key])}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
        <dl class="facts facts-compact">
          <Fact term="Requests a minute from one address">
            {formatLimit(c().requestLimits.perAddressPerMinute)}
          </Fact>
          <Fact term="Requests a minute from one person">
            {formatLimit(c().requestLimits.perPersonPerMinute)}
          </Fact>
        </dl>
      </section>
      <section class="card" aria-labelledby="plan-refusals-heading">
        <h2 id="plan-refusals-heading" class="card-title">
          Refused today (UTC)
        </h2>
        <Show when={refusals() > 0} fallback={<p class="muted">Nothing was refused today.</p>}>
          <dl class="facts facts-compact">
            <For each={RateLimitScope.options.filter((s) => (c().usage.refusalsToday[s] ?? 0) > 0)}>
              {(scope) => (
                <Fact term={SCOPE_WORDS[scope]}>{formatLimit(c().usage.refusalsToday[scope] ?? 0)}</Fact>
              )}
            </For>
          </dl>
        </Show>
      </section>
    </>
  );
}

function PlanForm(props: { current: PlanResponse; onSaved: (saved: PlanResponse) => void }) {
  const api = useApis().plans;
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const [saved, setSaved] = createSignal<string>();

  async function save(plan: Parameters<typeof api.set>[0]) {
    setPending(true);
    try {
      const answer = await api.set(plan);
      props.onSaved(answer);
      setSaved(
        plan === null
          ? 'The install’s default plan applies again.'
          : 'Saved. The new limits apply within seconds.',
      );
    } catch (failure) {
      setError(describeError(failure, ['name', ...PLAN_LIMIT_NAMES]));
    } finally {
      setPending(false);
    }
  }

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    setSaved(undefined);
    setError(undefined);
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(data.get(name) ?? '');
    const built = planFromForm(
      text('name'),
      Object.fromEntries(PLAN_LIMIT_NAMES.map((k) => [k, text(k)])) as Record<keyof PlanLimits, string>,
      props.current.maximums,
    );
    if (!built.ok) return void setError({ message: built.message, fields: built.fields });
    await save(built.plan);
  }

  return (
    <section class="card" aria-labelledby="plan-edit-heading">
      <h2 id="plan-edit-heading" class="card-title">
        Change the plan
      </h2>
      <form class="form" aria-labelledby="plan-edit-heading" onSubmit={(e) => void submit(e)} novalidate>
        <FormAlert error={error()} />
        <Show when={saved()}>
          {(message) => (
            <p class="alert alert-info" role="status">
              {message()}
            </p>
          )}
        </Show>
        <InputField
          formId="plan"
          name="name"
          label="Name"
          required
          value={props.current.plan.name}
          maxLength={80}
          error={error()?.fields.name}
        />
        <For each={PLAN_LIMIT_NAMES}>
          {(key) => (
            <InputField
              formId="plan"
              name={key}
              label={LIMIT_WORDS[key].label}
              inputMode="numeric"
              value={limitText(props.current.plan.limits[key])}
              hint={`${LIMIT_WORDS[key].unit}. ${
                props.current.maximums[key] === null
                  ? 'Empty for unlimited.'
                  : `At most ${formatLimit(props.current.maximums[key])}.`
              }`}
              error={error()?.fields[key]}
            />
          )}
        </For>
        <div class="dialog-footer dialog-footer-inline">
          <Show when={props.current.source === 'organization'}>
            <Button type="button" variant="secondary" disabled={pending()} onClick={() => void save(null)}>
              Use the install’s default
            </Button>
          </Show>
          <Button type="submit" pending={pending()} pendingLabel="Saving…">
            Save plan
          </Button>
        </div>
      </form>
    </section>
  );
}
