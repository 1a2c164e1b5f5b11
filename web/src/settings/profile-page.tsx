import type { Role } from '@keel/contract/auth';
import { createSignal, Show } from 'solid-js';
import { Button } from '../components/button.tsx';
import { FormAlert, Notice } from '../components/form-alert.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { TextField } from '../components/text-field.tsx';
import { createFormAction, textValue } from '../forms/form-action.ts';
import type { SignedInState } from '../session/session-store.ts';
import type { AccountApi } from './account-api.ts';

const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer',
  developer: 'Developer',
  admin: 'Admin',
  super_admin: 'Super admin',
};

/** Settings › Profile: who I am here, and my display name. */
export function ProfilePage(props: { api: AccountApi; signedIn: SignedInState }) {
  usePageTitle('Profile');
  const [name, setName] = createSignal(props.signedIn.user.name);
  const [saved, setSaved] = createSignal(false);
  const save = createFormAction(
    async (data) => {
      setSaved(false);
      const user = await props.api.updateName(textValue(data, 'name'));
      setName(user.name);
      setSaved(true);
    },
    ['name'],
  );

  return (
    <>
      <h1 class="page-title">Profile</h1>
      <section class="card" aria-labelledby="profile-facts">
        <h2 id="profile-facts" class="card-title">
          {name()}
        </h2>
        <dl class="facts">
          <div>
            <dt>Email</dt>
            <dd>{props.signedIn.user.email}</dd>
          </div>
          <div>
            <dt>Organization</dt>
            <dd>{props.signedIn.organization.name}</dd>
          </div>
          <div>
            <dt>Role</dt>
            <dd>
              <span class={`role role-${props.signedIn.role}`}>{ROLE_LABELS[props.signedIn.role]}</span>
            </dd>
          </div>
        </dl>
      </section>
      <section class="card" aria-labelledby="profile-name-heading">
        <h2 id="profile-name-heading" class="card-title">
          Name
        </h2>
        <form class="form" onSubmit={save.onSubmit} aria-labelledby="profile-name-heading" novalidate>
          <FormAlert error={save.error()} />
          <Show when={saved()}>
            <Notice message="Your name is saved." />
          </Show>
          <TextField
            formId="profile"
            name="name"
            label="Display name"
            autocomplete="name"
            required
            maxLength={100}
            error={save.fieldError('name')}
            ref={(el) => {
              el.value = name();
            }}
          />
          <div class="card-actions">
            <Button type="submit" pending={save.pending()} pendingLabel="Saving…">
              Save
            </Button>
          </div>
        </form>
      </section>
    </>
  );
}
