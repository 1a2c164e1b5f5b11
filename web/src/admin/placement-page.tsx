import type { PlacementPolicy } from '@keel/contract/placement';
import { createResource, createSignal, Match, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import type { OrgPlacementPolicy } from '../api/fleet-api.ts';
import { Button } from '../components/button.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { errorMessage } from '../forms/error-message.ts';
import { formatPolicyLabels } from './label-rows.ts';
import { createPolicyDraft, PolicyFields, STRATEGY_NAMES } from './policy-fields.tsx';
import { Fact } from './test-result.tsx';

/** Admin › Placement: how the organization's workspaces are placed on runners, or the install's default. */
export default function PlacementPage() {
  usePageTitle('Placement');
  const api = useApis().fleet;
  const [answer, { mutate, refetch }] = createResource(() => api.placementPolicy());
  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Placement</h1>
      </div>
      <p class="page-intro muted">
        Where new workspaces run, and where workspaces go when their runner is drained or lost. Labels narrow
        the runners (required) or order them (preferred); <code>region</code> is a label like any other.
      </p>
      <Switch>
        <Match when={answer.error}>
          <div class="alert alert-error" role="alert">
            <p>Could not load the placement policy. {errorMessage(answer.error)}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void refetch()}>
                Try again
              </Button>
            </p>
          </div>
        </Match>
        <Match when={answer()}>
          {(current) => <PolicyForm current={current()} onSaved={(saved) => mutate(saved)} />}
        </Match>
        <Match when={true}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading the placement policy…" />
          </div>
        </Match>
      </Switch>
    </>
  );
}

function PolicyForm(props: { current: OrgPlacementPolicy; onSaved: (saved: OrgPlacementPolicy) => void }) {
  const api = useApis().fleet;
  const draft = createPolicyDraft(props.current.policy ?? props.current.installDefault);
  const [useDefault, setUseDefault] = createSignal(props.current.policy === null);
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const [saved, setSaved] = createSignal(false);

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    setSaved(false);
    setError(undefined);
    let policy: PlacementPolicy | null = null;
    if (!useDefault()) {
      const built = draft.build();
      if (!built.ok) return void setError({ message: built.message, fields: {} });
      policy = built.policy;
    }
    setPending(true);
    try {
      props.onSaved(await api.setPlacementPolicy(policy));
      setSaved(true);
    } catch (failure) {
      setError(describeError(failure, []));
    } finally {
      setPending(false);
    }
  }

  return (
    <>
      <section class="card" aria-labelledby="placement-effective-heading">
        <h2 id="placement-effective-heading" class="card-title">
          What applies now
        </h2>
        <dl class="facts facts-compact">
          <Fact term="Source">
            {props.current.policy === null ? 'The install’s default' : 'This organization’s policy'}
          </Fact>
          <Fact term="Strategy">{STRATEGY_NAMES[props.current.effective.strategy]}</Fact>
          <Fact term="Required labels">{formatPolicyLabels(props.current.effective.requiredLabels)}</Fact>
          <Fact term="Preferred labels">{formatPolicyLabels(props.current.effective.preferredLabels)}</Fact>
        </dl>
      </section>
      <section class="card" aria-labelledby="placement-policy-heading">
        <h2 id="placement-policy-heading" class="card-title">
          The organization’s policy
        </h2>
        <form
          class="form"
          aria-labelledby="placement-policy-heading"
          onSubmit={(e) => void submit(e)}
          novalidate
        >
          <FormAlert error={error()} />
          <Show when={saved()}>
            <p class="alert alert-info" role="status">
              Saved. New placements follow it; running workspaces stay where they are.
            </p>
          </Show>
          <label class="choice">
            <input
              type="checkbox"
              name="useDefault"
              checked={useDefault()}
              onChange={(event) => setUseDefault(event.currentTarget.checked)}
            />
            <span>
              <span class="choice-title">Use the install’s default</span>
              <span class="choice-hint">
                {STRATEGY_NAMES[props.current.installDefault.strategy]}; required labels{' '}
                {formatPolicyLabels(props.current.installDefault.requiredLabels)}; preferred{' '}
                {formatPolicyLabels(props.current.installDefault.preferredLabels)}.
              </span>
            </span>
          </label>
          <Show when={!useDefault()}>
            <PolicyFields draft={draft} idPrefix="placement" />
          </Show>
          <div class="dialog-footer dialog-footer-inline">
            <Button type="submit" pending={pending()} pendingLabel="Saving…">
              Save policy
            </Button>
          </div>
        </form>
      </section>
    </>
  );
}
