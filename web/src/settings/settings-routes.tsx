import { Navigate, Route } from '@solidjs/router';
import { lazy, type ParentProps, Show } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { useSession } from '../session/session-context.ts';
import { IntegrationsPage } from './integrations-page.tsx';
import { PasswordPage } from './password-page.tsx';
import { ProfilePage } from './profile-page.tsx';
import { ResetPasswordPage } from './reset-password-page.tsx';
import { SessionsPage } from './sessions-page.tsx';
import { SettingsLayout } from './settings-layout.tsx';
import { TokensPage } from './tokens-page.tsx';

// Charts and their library load with this page only: most visits to settings never open it.
const MyUsagePage = lazy(() => import('./my-usage-page.tsx'));

function useSignedIn() {
  const session = useSession();
  return () => {
    const current = session.state();
    return current.status === 'signedIn' ? current : undefined;
  };
}

/** Read once while the component is made: a JSX prop is a getter, and context is gone by the time an event handler reads it. */
function useAccountApi() {
  return useApis().account;
}

function Layout(props: ParentProps) {
  return <SettingsLayout>{props.children}</SettingsLayout>;
}

/** `/settings/*`: one `<SettingsRoutes />` in the app's router. */
export function SettingsRoutes() {
  return (
    <Route path="/settings" component={Layout}>
      <Route path="/" component={() => <Navigate href="/settings/profile" />} />
      <Route
        path="/profile"
        component={() => {
          const signedIn = useSignedIn();
          const api = useAccountApi();
          return <Show when={signedIn()}>{(s) => <ProfilePage api={api} signedIn={s()} />}</Show>;
        }}
      />
      <Route
        path="/password"
        component={() => {
          const api = useAccountApi();
          return <PasswordPage api={api} />;
        }}
      />
      <Route
        path="/sessions"
        component={() => {
          const api = useAccountApi();
          return <SessionsPage api={api} />;
        }}
      />
      <Route
        path="/tokens"
        component={() => {
          const signedIn = useSignedIn();
          const api = useAccountApi();
          return <Show when={signedIn()}>{(s) => <TokensPage api={api} signedIn={s()} />}</Show>;
        }}
      />
      <Route
        path="/integrations"
        component={() => {
          const api = useAccountApi();
          return <IntegrationsPage api={api} />;
        }}
      />
      <Route
        path="/usage"
        component={() => {
          const api = useApis().usage;
          return <MyUsagePage api={api} />;
        }}
      />
      <Route path="*" component={() => <Navigate href="/settings/profile" />} />
    </Route>
  );
}

/** The reset link's page; shown whether or not someone is signed in (see the app's session gate). */
export function ResetPasswordRoute() {
  const api = useAccountApi();
  return <ResetPasswordPage api={api} />;
}

export const RESET_PASSWORD_PATH = '/reset-password';
