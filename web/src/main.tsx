import { createEffect, createRoot } from 'solid-js';
import { render } from 'solid-js/web';
import { createAuditApi } from './admin/audit-api.ts';
import { createHealthApi } from './admin/health-api.ts';
import { createMembersApi } from './admin/members-api.ts';
import { createPlansApi } from './admin/plans-api.ts';
import { createIdentityApi } from './admin/sign-in-api.ts';
import { createUsageApi } from './admin/usage-api.ts';
import { createAiApi } from './api/ai-api.ts';
import { createAuthApi } from './api/auth-api.ts';
import { createApiClient } from './api/client.ts';
import { readCookie } from './api/cookies.ts';
import { createExecutionsApi } from './api/executions-api.ts';
import { createFilesApi } from './api/files-api.ts';
import { createFleetApi } from './api/fleet-api.ts';
import { createInstallApi } from './api/install-api.ts';
import { createPatchApi } from './api/patch-api.ts';
import { withBrowserRefreshLock } from './api/refresh-lock.ts';
import { createRunnersApi } from './api/runners-api.ts';
import { createServersApi } from './api/servers-api.ts';
import { createWorkspacesApi } from './api/workspaces-api.ts';
import { App } from './app.tsx';
import { createGitApi } from './ide/git/git-api.ts';
import { createPortsApi } from './ide/ports/ports-api.ts';
import { createSearchApi } from './ide/search/search-api.ts';
import { createSessionStore } from './session/session-store.ts';
import { createAccountApi } from './settings/account-api.ts';
import { browserThemeHost, createThemeStore } from './theme/theme-store.ts';
import './styles.css';

const client = createApiClient({
  // Bound, because browsers throw "Illegal invocation" when fetch is called detached from window.
  fetch: window.fetch.bind(window),
  readCookie: (name) => readCookie(document.cookie, name),
  withRefreshLock: withBrowserRefreshLock,
});
const session = createSessionStore(createAuthApi(client));
const apis = {
  workspaces: createWorkspacesApi(client),
  files: createFilesApi(client),
  git: createGitApi(client),
  executions: createExecutionsApi(client),
  ai: createAiApi(client),
  patch: createPatchApi(client),
  install: createInstallApi(client),
  servers: createServersApi(client),
  runners: createRunnersApi(client),
  fleet: createFleetApi(client),
  members: createMembersApi(client),
  account: createAccountApi(client),
  identity: createIdentityApi(client),
  audit: createAuditApi(client),
  usage: createUsageApi(client),
  health: createHealthApi(client),
  plans: createPlansApi(client),
  search: createSearchApi(client),
  ports: createPortsApi(client),
};
const theme = createRoot(() => {
  const store = createThemeStore(browserThemeHost(window));
  // The whole page follows the chosen theme: CSS reads data-theme, and color-scheme styles form controls.
  createEffect(() => {
    document.documentElement.dataset.theme = store.theme();
  });
  return store;
});

const root = document.getElementById('app');
if (root === null) throw new Error('index.html has no #app element');
render(() => <App session={session} apis={apis} theme={theme} />, root);
void session.start();
