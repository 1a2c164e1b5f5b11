import { createEffect, Match, Switch } from 'solid-js';
import { LoadingScreen } from './components/loading-screen.tsx';
import { HomePage } from './pages/home/home-page.tsx';
import { NotFoundPage } from './pages/not-found/not-found-page.tsx';
import { SignInPage } from './pages/sign-in/sign-in-page.tsx';
import { SignUpPage } from './pages/sign-up/sign-up-page.tsx';
import type { Router } from './router/router.ts';
import { RouterContext } from './router/router-context.ts';
import { SessionContext } from './session/session-context.ts';
import type { SessionStore } from './session/session-store.ts';

const AUTH_PATHS: ReadonlySet<string> = new Set(['/sign-in', '/sign-up']);

/**
 * The session decides what is on screen; the path only picks among the pages of that state. A signed-out
 * visitor to any deep link gets the sign-in form at that same URL, so signing in lands where they meant to go.
 */
export function App(props: { session: SessionStore; router: Router }) {
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

  createEffect(() => {
    if (signedIn() && AUTH_PATHS.has(path())) props.router.navigate('/', { replace: true });
  });

  return (
    <RouterContext.Provider value={props.router}>
      <SessionContext.Provider value={props.session}>
        <Switch>
          <Match when={state().status === 'loading'}>
            <LoadingScreen />
          </Match>
          <Match when={signedIn()}>
            {(current) => (
              <Switch fallback={<NotFoundPage />}>
                <Match when={path() === '/' || AUTH_PATHS.has(path())}>
                  <HomePage signedIn={current()} />
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
      </SessionContext.Provider>
    </RouterContext.Provider>
  );
}
