import { render } from 'solid-js/web';
import { createAuthApi } from './api/auth-api.ts';
import { createApiClient } from './api/client.ts';
import { readCookie } from './api/cookies.ts';
import { withBrowserRefreshLock } from './api/refresh-lock.ts';
import { App } from './app.tsx';
import { createBrowserRouter } from './router/router.ts';
import { createSessionStore } from './session/session-store.ts';
import './styles.css';

const client = createApiClient({
  // Bound, because browsers throw "Illegal invocation" when fetch is called detached from window.
  fetch: window.fetch.bind(window),
  readCookie: (name) => readCookie(document.cookie, name),
  withRefreshLock: withBrowserRefreshLock,
});
const session = createSessionStore(createAuthApi(client));
const router = createBrowserRouter(window);

const root = document.getElementById('app');
if (root === null) throw new Error('index.html has no #app element');
render(() => <App session={session} router={router} />, root);
void session.start();
