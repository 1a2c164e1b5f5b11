import { previewRoutes } from '../preview.ts';
import { accountRoutes } from './account.ts';
import { adminRoutes } from './admin.ts';
import { aiRoutes } from './ai.ts';
import { authRoutes } from './auth.ts';
import type { ApiRoute } from './describe.ts';
import { fleetRoutes } from './fleet.ts';
import { gitRoutes } from './git.ts';
import { identityRoutes } from './identity.ts';
import { installRoutes } from './install.ts';
import { integrationRoutes } from './integrations.ts';
import { memberRoutes } from './members.ts';
import { patchRoutes } from './patch.ts';
import { placementRoutes } from './placement.ts';
import { planRoutes } from './plans.ts';
import { runnerRoutes } from './runners.ts';
import { searchRoutes } from './search.ts';
import { serverRoutes } from './servers.ts';
import { snapshotRoutes } from './snapshots.ts';
import { systemRoutes } from './system.ts';
import { workspaceRoutes } from './workspaces.ts';

/** Every route of the HTTP API, by name: what `/openapi.json` publishes and the web's client calls. */
export const api = {
  ...systemRoutes,
  ...authRoutes,
  ...workspaceRoutes,
  ...patchRoutes,
  ...adminRoutes,
  ...installRoutes,
  ...runnerRoutes,
  ...serverRoutes,
  ...aiRoutes,
  ...snapshotRoutes,
  ...placementRoutes,
  ...fleetRoutes,
  ...memberRoutes,
  ...accountRoutes,
  ...identityRoutes,
  ...planRoutes,
  ...integrationRoutes,
  ...gitRoutes,
  ...searchRoutes,
  ...previewRoutes,
} as const satisfies Record<string, ApiRoute>;

export type ApiRouteName = keyof typeof api;
export const apiRoutes: readonly ApiRoute[] = Object.values(api);
