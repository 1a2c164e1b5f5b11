import { createAiApi } from '../api/ai-api.ts';
import { createApiClient } from '../api/client.ts';
import { createExecutionsApi } from '../api/executions-api.ts';
import { createFilesApi } from '../api/files-api.ts';
import { createFleetApi } from '../api/fleet-api.ts';
import { createInstallApi } from '../api/install-api.ts';
import { createPatchApi } from '../api/patch-api.ts';
import { createRunnersApi } from '../api/runners-api.ts';
import { createServersApi } from '../api/servers-api.ts';
import { createWorkspacesApi } from '../api/workspaces-api.ts';
import { createAccountApi } from '../settings/account-api.ts';
import { createFakeFetch, type Responder } from './fake-fetch.ts';
import { createFakeTimers } from './fake-timers.ts';

/** The real client and API modules over a scripted fetch, so stores are tested against the wire format. */
export function createTestApis(...script: Responder[]) {
  const { fetch, calls } = createFakeFetch(...script);
  const client = createApiClient({
    fetch,
    readCookie: (name) => (name === 'keel_csrf' ? 'csrf-cookie' : undefined),
    timers: createFakeTimers().timers,
  });
  return {
    client,
    calls,
    paths: () => calls.map((call) => `${call.method} ${call.path}`),
    workspaces: createWorkspacesApi(client),
    files: createFilesApi(client),
    executions: createExecutionsApi(client),
    ai: createAiApi(client),
    patch: createPatchApi(client),
    install: createInstallApi(client),
    servers: createServersApi(client),
    runners: createRunnersApi(client),
    fleet: createFleetApi(client),
    account: createAccountApi(client),
  };
}
