import type { Role } from '@keel/contract/auth';
import { Brand } from '../../components/brand.tsx';
import { Button } from '../../components/button.tsx';
import { FormAlert } from '../../components/form-alert.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { createFormAction } from '../../forms/form-action.ts';
import { useSession } from '../../session/session-context.ts';
import type { SignedInState } from '../../session/session-store.ts';

const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer',
  developer: 'Developer',
  admin: 'Admin',
  super_admin: 'Super admin',
};

export function HomePage(props: { signedIn: SignedInState }) {
  const session = useSession();
  const signOut = createFormAction(() => session.signOut(), []);
  usePageTitle('Home');

  return (
    <div class="app-shell">
      <header class="app-header">
        <Brand />
        <form onSubmit={signOut.onSubmit} aria-label="Sign out">
          <Button type="submit" variant="secondary" pending={signOut.pending()} pendingLabel="Signing out…">
            Sign out
          </Button>
        </form>
      </header>
      <main class="app-main">
        <h1 class="page-title">Welcome, {props.signedIn.user.name}</h1>
        <FormAlert error={signOut.error()} />
        <section class="card" aria-labelledby="account-heading">
          <h2 id="account-heading" class="card-title">
            Your account
          </h2>
          <dl class="facts">
            <div>
              <dt>Name</dt>
              <dd>{props.signedIn.user.name}</dd>
            </div>
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
      </main>
    </div>
  );
}
