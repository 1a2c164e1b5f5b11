import { Navigate, Route, Router, useLocation, useNavigate, useParams } from '@solidjs/router';
import { createEffect, lazy, Match, type ParentProps, Show, Suspense, Switch } from 'solid-js';
import { canManageRunners, isInstallAdmin, isOrgAdmin } from './admin/admin-access.ts';
import { AdminLayout, NotAllowedPage } from './admin/admin-layout.tsx';
import { ApiContext, type Apis } from './api/api-context.ts';
import { LoadingIndicator } from './components/loading-indicator.tsx';
import { LoadingScreen } from './components/loading-screen.tsx';
import { InstallPage } from './pages/install/install-page.tsx';
import { NotFoundPage } from './pages/not-found/not-found-page.tsx';
import { SignInPage } from './pages/sign-in/sign-in-page.tsx';
import { SignUpPage } from './pages/sign-up/sign-up-page.tsx';
import { WorkspacesPage } from './pages/workspaces/workspaces-page.tsx';
import { SessionContext, useSession } from './session/session-context.ts';
import type { SessionStore } from './session/session-store.ts';
import { RESET_PASSWORD_PATH, ResetPasswordRoute, SettingsRoutes } from './settings/settings-routes.tsx';
import { ThemeContext } from './theme/theme-context.ts';
import type { ThemeStore } from './theme/theme-store.ts';

// Its own chunk, with Monaco and xterm behind it: fetched when a workspace is opened, never for sign-in.
const IdePage = lazy(() => import('./pages/ide/ide-page.tsx'));
// The admin pages are a chunk of their own too: most people never open them.
const ServersPage = lazy(() => import('./admin/servers-page.tsx'));
const RunnersPage = lazy(() => import('./admin/runners-page.tsx'));
const PlacementPage = lazy(() => import('./admin/placement-page.tsx'));
const SnapshotsSettingsPage = lazy(() => import('./admin/snapshots-settings-page.tsx'));
const MembersPage = lazy(() => import('./admin/members-page.tsx'));
const InvitationsPage = lazy(() => import('./admin/invitations-page.tsx'));
const SignInSettingsPage = lazy(() => import('./admin/sign-in-page.tsx'));
const AuditPage = lazy(() => import('./admin/audit-page.tsx'));
const UsagePage = lazy(() => import('./admin/usage-page.tsx'));
const AnalyticsPage = lazy(() => import('./admin/analytics-page.tsx'));
const PlansPage = lazy(() => import('./admin/plans-page.tsx'));
const HealthPage = lazy(() => import('./admin/health-page.tsx'));

const AUTH_PATHS: ReadonlySet<string> = new Set(['/sign-in', '/sign-up']);

export interface AppProps {
  session: SessionStore;
  apis: Apis;
  theme: ThemeStore;
}

/**
 * Real paths on the History API rather than `#/` hashes, because the server falls back to index.html for
 * unknown paths and invitation links read better as `/sign-up?invite=…`.
 */
export function App(props: AppProps) {
  const root = (page: ParentProps) => (
    <SessionContext.Provider value={props.session}>
      <ApiContext.Provider value={props.apis}>
        <ThemeContext.Provider value={props.theme}>
          <SessionGate>{page.children}</SessionGate>
        </ThemeContext.Provider>
      </ApiContext.Provider>
    </SessionContext.Provider>
  );
  return (
    <Router root={root}>
      <Route path={['/', ...AUTH_PATHS]} component={WorkspacesPage} />
      {/* The account page became Settings › Profile; old links land there. */}
      <Route path="/account" component={() => <Navigate href="/settings/profile" />} />
      <SettingsRoutes />
      <Route path={RESET_PASSWORD_PATH} component={ResetPasswordRoute} />
      <Route path="/install" component={InstallRoute} />
      <Route path="/workspaces/:id" component={WorkspaceRoute} />
      <Route path="/admin" component={AdminRoute}>
        <Route path="/" component={() => <Navigate href="/admin/servers" />} />
        <Route path="/servers" component={ServersPage} />
        <Route path="/runners" component={RunnersPage} />
        <Route path="/placement" component={PlacementPage} />
        <Route path="/snapshots" component={SnapshotsRoute} />
        <Route path="/members" component={MembersPage} />
        <Route path="/invitations" component={InvitationsPage} />
        <Route path="/sign-in" component={SignInSettingsPage} />
        <Route path="/audit" component={AuditPage} />
        <Route path="/usage" component={UsagePage} />
        <Route path="/analytics" component={AnalyticsPage} />
        <Route path="/plan" component={PlansPage} />
        <Route path="/health" component={HealthRoute} />
        <Route path="*" component={AdminNotFound} />
      </Route>
      <Route path="*" component={NotFoundPage} />
    </Router>
  );
}

/**
 * The session decides what is on screen; the path only picks among the pages of that state. A signed-out
 * visitor to any deep link gets the sign-in form at that same URL, so signing in lands where they meant to go.
 */
function SessionGate(props: ParentProps) {
  const session = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const state = () => session.state();
  const signedOut = () => {
    const current = state();
    return current.status === 'signedOut' ? current : undefined;
  };
  // An invitation link opens sign-up, except on /sign-in: someone with an account accepts it there.
  const wantsSignUp = () =>
    location.pathname === '/sign-up' ||
    (location.pathname !== '/sign-in' && new URLSearchParams(location.search).has('invite'));

  createEffect(() => {
    if (state().status === 'signedIn' && AUTH_PATHS.has(location.pathname)) navigate('/', { replace: true });
  });

  return (
    <Switch>
      <Match when={location.pathname === RESET_PASSWORD_PATH}>{props.children}</Match>
      <Match when={state().status === 'loading'}>
        <LoadingScreen />
      </Match>
      <Match when={state().status === 'signedIn'}>{props.children}</Match>
      <Match when={signedOut()}>
        {(current) => (
          <Switch fallback={<SignInPage notice={current().notice} />}>
            <Match when={wantsSignUp()}>
              <SignUpPage />
            </Match>
          </Switch>
        )}
      </Match>
    </Switch>
  );
}

/** The signed-in state, for the pages that only exist behind the gate above. */
function useSignedIn() {
  const session = useSession();
  return () => {
    const current = session.state();
    return current.status === 'signedIn' ? current : undefined;
  };
}

/** Install settings are for install administrators; to anyone else the page does not exist. */
function InstallRoute() {
  const signedIn = useSignedIn();
  return (
    <Show when={signedIn()?.installAdmin} fallback={<NotFoundPage />}>
      <InstallPage />
    </Show>
  );
}

/** The organization's admins get the admin area; anyone else a page that says it is not for them. */
function AdminRoute(props: ParentProps) {
  const session = useSession();
  return (
    <Show when={isOrgAdmin(session.state())} fallback={<NotAllowedPage />}>
      <AdminLayout>
        <Suspense fallback={<LoadingIndicator label="Loading…" />}>{props.children}</Suspense>
      </AdminLayout>
    </Show>
  );
}

/** The snapshot store is the install's: to an organization's admin who is not an install administrator, no page. */
function SnapshotsRoute() {
  const session = useSession();
  return (
    <Show when={isInstallAdmin(session.state())} fallback={<AdminNotFound />}>
      <SnapshotsSettingsPage />
    </Show>
  );
}

/** The Health page is for those who manage the organization's runners; to anyone else, no page. */
function HealthRoute() {
  const session = useSession();
  return (
    <Show when={canManageRunners(session.state())} fallback={<AdminNotFound />}>
      <HealthPage />
    </Show>
  );
}

function AdminNotFound() {
  return (
    <>
      <h1 class="page-title">Page not found</h1>
      <p class="muted">There is nothing at this address.</p>
    </>
  );
}

function WorkspaceRoute() {
  const params = useParams<{ id: string }>();
  const workspaceId = () => {
    try {
      return decodeURIComponent(params.id);
    } catch {
      // Not valid percent-encoding: no workspace has such an id, so it is "not found" like any other.
      return undefined;
    }
  };
  return (
    <Show when={workspaceId()} keyed fallback={<NotFoundPage />}>
      {(id) => (
        <Suspense fallback={<LoadingScreen label="Opening the workspace…" />}>
          <IdePage workspaceId={id} />
        </Suspense>
      )}
    </Show>
  );
}
