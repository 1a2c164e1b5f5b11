import { Navigate, Route } from '@solidjs/router';
import { type ParentProps, Show } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { useSession } from '../session/session-context.ts';
import { PasswordPage } from './password-page.tsx';
import { ProfilePage } from './profile-page.tsx';
import { ResetPasswordPage } from './reset-password-page.tsx';
import { SessionsPage } from './sessions-page.tsx';
import { SettingsLayout } from './settings-layout.tsx';
import { TokensPage } from './tokens-page.tsx';

function useSignedIn() {
  const session = useSession();
  return () => {
    const current = session.state();
    return current.status === 'signedIn' ? current : undefined;
  };
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
          return (
            <Show when={signedIn()}>{(s) => <ProfilePage api={useApis().account} signedIn={s()} />}</Show>
          );
        }}
      />
      <Route path="/password" component={() => <PasswordPage api={useApis().account} />} />
      <Route path="/sessions" component={() => <SessionsPage api={useApis().account} />} />
      <Route
        path="/tokens"
        component={() => {
          const signedIn = useSignedIn();
          return (
            <Show when={signedIn()}>{(s) => <TokensPage api={useApis().account} signedIn={s()} />}</Show>
          );
        }}
      />
      <Route path="*" component={() => <Navigate href="/settings/profile" />} />
    </Route>
  );
}

/** The reset link's page; shown whether or not someone is signed in (see the app's session gate). */
export function ResetPasswordRoute() {
  return <ResetPasswordPage api={useApis().account} />;
}

export const RESET_PASSWORD_PATH = '/reset-password';
