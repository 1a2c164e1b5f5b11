import type { Role } from '@keel/contract/auth';
import type { SignInSettings } from '@keel/contract/identity';
import { createResource, createSignal, For, Match, Switch } from 'solid-js';
import { createStore } from 'solid-js/store';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { FormAlert } from '../components/form-alert.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { describeError, type FormError } from '../forms/describe-error.ts';
import { errorMessage } from '../forms/error-message.ts';
import { ROLES } from './group-role-rows.tsx';
import { ROLE_LABELS } from './members-api.ts';

/** Admin › Sign-in › Settings: password sign-in, requiring single sign-on, the role of new people. */
export function SignInSettingsCard() {
  const api = useApis().identity;
  const [settings, { refetch, mutate }] = createResource(() => api.settings());
  return (
    <section class="card" aria-labelledby="sign-in-settings-title">
      <h2 class="card-title" id="sign-in-settings-title">
        Settings
      </h2>
      <Switch>
        <Match when={settings.error}>
          <div class="alert alert-error" role="alert">
            <p>Could not load the sign-in settings. {errorMessage(settings.error)}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void refetch()}>
                Try again
              </Button>
            </p>
          </div>
        </Match>
        <Match when={settings()}>{(current) => <SettingsForm initial={current()} onSaved={mutate} />}</Match>
        <Match when={true}>
          <LoadingIndicator label="Loading the sign-in settings…" />
        </Match>
      </Switch>
    </section>
  );
}

function SettingsForm(props: { initial: SignInSettings; onSaved: (saved: SignInSettings) => void }) {
  const api = useApis().identity;
  const [form, setForm] = createStore<SignInSettings>({ ...props.initial });
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const [saved, setSaved] = createSignal(false);

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    setPending(true);
    setError(undefined);
    setSaved(false);
    try {
      const answer = await api.saveSettings({ ...form });
      setForm({ ...answer });
      props.onSaved(answer);
      setSaved(true);
    } catch (err) {
      setError(describeError(err, ['passwordEnabled', 'requireSso', 'defaultRole']));
    } finally {
      setPending(false);
    }
  }

  const change = <K extends keyof SignInSettings>(key: K, value: SignInSettings[K]) => {
    setSaved(false);
    setForm(key, value);
  };

  return (
    <form class="form" onSubmit={submit} aria-label="Sign-in settings" novalidate>
      <FormAlert error={error()} />
      <label class="choice">
        <input
          type="checkbox"
          checked={form.passwordEnabled}
          onChange={(e) => change('passwordEnabled', e.currentTarget.checked)}
        />
        <span>
          <span class="choice-title">Allow password sign-in</span>
          <span class="choice-hint">
            Off, people sign in through a provider; the last super admin keeps their password as a way in.
          </span>
        </span>
      </label>
      <label class="choice">
        <input
          type="checkbox"
          checked={form.requireSso}
          onChange={(e) => change('requireSso', e.currentTarget.checked)}
        />
        <span>
          <span class="choice-title">Require single sign-on</span>
          <span class="choice-hint">
            Only the providers below sign people in (needs an enabled single sign-on provider).
          </span>
        </span>
      </label>
      <div class="field">
        <label class="field-label" for="sign-in-settings-defaultRole">
          Role of people new to Keel
        </label>
        <select
          id="sign-in-settings-defaultRole"
          class="field-input"
          aria-describedby="sign-in-settings-defaultRole-hint"
          onChange={(e) => change('defaultRole', e.currentTarget.value as Role)}
        >
          <For each={ROLES}>
            {(role) => (
              <option value={role} selected={form.defaultRole === role}>
                {ROLE_LABELS[role]}
              </option>
            )}
          </For>
        </select>
        <p class="field-hint" id="sign-in-settings-defaultRole-hint">
          Given at their first sign-in through a provider when none of its groups or teams maps to a role.
        </p>
      </div>
      <div class="card-actions">
        <Button type="submit" pending={pending()} pendingLabel="Saving…">
          Save settings
        </Button>
        <span role="status" class="muted">
          {saved() ? 'Saved.' : ''}
        </span>
      </div>
    </form>
  );
}
