import type { Role } from '@keel/contract/auth';
import { usePageTitle } from '../../components/page-title.ts';
import type { SignedInState } from '../../session/session-store.ts';
import { AppHeader } from '../../shell/app-header.tsx';

const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer',
  developer: 'Developer',
  admin: 'Admin',
  super_admin: 'Super admin',
};

export function AccountPage(props: { signedIn: SignedInState }) {
  usePageTitle('Account');

  return (
    <div class="app-shell">
      <AppHeader />
      <main class="app-main">
        <h1 class="page-title">Your account</h1>
        <section class="card" aria-labelledby="account-heading">
          <h2 id="account-heading" class="card-title">
            {props.signedIn.user.name}
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
