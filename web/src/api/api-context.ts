import { createContext, useContext } from 'solid-js';
import type { AuditApi } from '../admin/audit-api.ts';
import type { HealthApi } from '../admin/health-api.ts';
import type { MembersApi } from '../admin/members-api.ts';
import type { PlansApi } from '../admin/plans-api.ts';
import type { IdentityApi } from '../admin/sign-in-api.ts';
import type { UsageApi } from '../admin/usage-api.ts';
import type { GitApi } from '../ide/git/git-api.ts';
import type { PortsApi } from '../ide/ports/ports-api.ts';
import type { SearchApi } from '../ide/search/search-api.ts';
import type { AccountApi } from '../settings/account-api.ts';
import type { AiApi } from './ai-api.ts';
import type { ExecutionsApi } from './executions-api.ts';
import type { FilesApi } from './files-api.ts';
import type { FleetApi } from './fleet-api.ts';
import type { InstallApi } from './install-api.ts';
import type { PatchApi } from './patch-api.ts';
import type { RunnersApi } from './runners-api.ts';
import type { ServersApi } from './servers-api.ts';
import type { WorkspacesApi } from './workspaces-api.ts';

/** The API modules the signed-in pages use, built once in main.tsx over the one shared client. */
export interface Apis {
  workspaces: WorkspacesApi;
  files: FilesApi;
  executions: ExecutionsApi;
  ai: AiApi;
  patch: PatchApi;
  install: InstallApi;
  servers: ServersApi;
  runners: RunnersApi;
  fleet: FleetApi;
  members: MembersApi;
  account: AccountApi;
  identity: IdentityApi;
  audit: AuditApi;
  usage: UsageApi;
  health: HealthApi;
  plans: PlansApi;
  git: GitApi;
  search: SearchApi;
  /** Listening ports and preview URLs (optional: pages built without it show no Ports tab). */
  ports?: PortsApi;
}

export const ApiContext = createContext<Apis>();

export function useApis(): Apis {
  const apis = useContext(ApiContext);
  if (apis === undefined) throw new Error('useApis() needs an <ApiContext.Provider> above it');
  return apis;
}
