import { createEffect, lazy, Match, Suspense, Switch } from 'solid-js';
import { ApiContext, type Apis } from './api/api-context.ts';
import { LoadingScreen } from './components/loading-screen.tsx';
import { AccountPage } from './pages/account/account-page.tsx';
import { InstallPage } from './pages/install/install-page.tsx';
import { NotFoundPage } from './pages/not-found/not-found-page.tsx';
import { SignInPage } from './pages/sign-in/sign-in-page.tsx';
import { SignUpPage } from './pages/sign-up/sign-up-page.tsx';
import { WorkspacesPage } from './pages/workspaces/workspaces-page.tsx';
import type { Router } from './router/router.ts';
import { RouterContext } from './router/router-context.ts';
import { SessionContext } from './session/session-context.ts';
import type { SessionStore } from './session/session-store.ts';
import { ThemeContext } from './theme/theme-context.ts';
import type { ThemeStore } from './theme/theme-store.ts';

// Its own chunk, with Monaco and xterm behind it: fetched when a workspace is opened, never for sign-in.
const IdePage = lazy(() => import('./pages/ide/ide-page.tsx'));

const AUTH_PATHS: ReadonlySet<string> = new Set(['/sign-in', '/sign-up']);
const WORKSPACE_PATH = /^\/workspaces\/([^/]+)\/?$/;

export interface AppProps {
  session: SessionStore;
  router: Router;
  apis: Apis;
  theme: ThemeStore;
}

/**
 * The session decides what is on screen; the path only picks among the pages of that state. A signed-out
 * visitor to any deep link gets the sign-in form at that same URL, so signing in lands where they meant to go.
 */
export function App(props: AppProps) {
  const state = () => props.session.state();
  const path = () => props.router.location().path;
  const signedIn = () => {
    const current = state();
    return current.status === 'signedIn' ? current : undefined;
  };
  const signedOut = () => {
    const current = state();
    return current.status === 'signedOut' ? current : undefined;
  };
  const wantsSignUp = () => path() === '/sign-up' || props.router.location().query.has('invite');
  const workspaceId = () => {
    const match = WORKSPACE_PATH.exec(path());
    if (match?.[1] === undefined) return undefined;
    try {
      return decodeURIComponent(match[1]);
    } catch {
      // Not valid percent-encoding: no workspace has such an id, so it is "not found" like any other.
      return undefined;
    }
  };

  createEffect(() => {
    if (signedIn() && AUTH_PATHS.has(path())) props.router.navigate('/', { replace: true });
  });

  return (
    <RouterContext.Provider value={props.router}>
      <SessionContext.Provider value={props.session}>
        <ApiContext.Provider value={props.apis}>
          <ThemeContext.Provider value={props.theme}>
            <Switch>
              <Match when={state().status === 'loading'}>
                <LoadingScreen />
              </Match>
              <Match when={signedIn()}>
                {(current) => (
                  <Switch fallback={<NotFoundPage />}>
                    <Match when={path() === '/' || AUTH_PATHS.has(path())}>
                      <WorkspacesPage />
                    </Match>
                    <Match when={path() === '/account'}>
                      <AccountPage signedIn={current()} />
                    </Match>
                    <Match when={path() === '/install' && current().installAdmin}>
                      <InstallPage />
                    </Match>
                    <Match when={workspaceId()} keyed>
                      {(id) => (
                        <Suspense fallback={<LoadingScreen label="Opening the workspace…" />}>
                          <IdePage workspaceId={id} />
                        </Suspense>
                      )}
                    </Match>
                  </Switch>
                )}
              </Match>
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
          </ThemeContext.Provider>
        </ApiContext.Provider>
      </SessionContext.Provider>
    </RouterContext.Provider>
  );
}
