import { systemRoutes } from '@keel/contract/api/system';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { describedRoutes } from './http/described-routes.ts';
import { notFound, onError } from './http/error-handler.ts';
import { inSequence } from './http/middleware-sequence.ts';
import { openApiDocument } from './http/openapi-document.ts';
import { RememberedRoutes } from './http/remembered-routes.ts';
import type { DirectoryLoader } from './ldap/ldap-runtime.ts';
import { requestLimits } from './middleware/rate-limits.ts';
import { type RequestObserver, requestId } from './middleware/request-id.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { accountRoutes } from './routes/account.ts';
import { adminAuditRoutes } from './routes/admin-audit.ts';
import { adminHealthRoutes } from './routes/admin-health.ts';
import { adminMemberRoutes } from './routes/admin-members.ts';
import { adminPasswordResetRoutes } from './routes/admin-password-reset.ts';
import { adminPlanRoutes } from './routes/admin-plan.ts';
import { adminRunnerRoutes } from './routes/admin-runners.ts';
import { adminServerRoutes } from './routes/admin-servers.ts';
import { adminUsageRoutes } from './routes/admin-usage.ts';
import { aiRoutes } from './routes/ai.ts';
import { authRoutes, type ClientIp } from './routes/auth.ts';
import { directoryAuthRoutes } from './routes/auth-directory.ts';
import { ssoAuthRoutes } from './routes/auth-sso.ts';
import { fleetApiRoutes } from './routes/fleet.ts';
import { healthRoutes } from './routes/health.ts';
import { installRoutes } from './routes/install.ts';
import { installSnapshotStoreRoutes } from './routes/install-snapshot-store.ts';
import { gitCredentialRoutes, gitPushRoutes } from './routes/integrations.ts';
import { myUsageRoutes } from './routes/me-usage.ts';
import { invitationRoutes } from './routes/orgs-invitations.ts';
import { patchRoutes } from './routes/patch.ts';
import { placementApiRoutes } from './routes/placement.ts';
import { runnerApiRoutes } from './routes/runners.ts';
import { aiReportRoutes } from './routes/runners-ai-reports.ts';
import { runnerGitCredentialRoutes } from './routes/runners-git-credentials.ts';
import { runnerServerRoutes } from './routes/runners-servers.ts';
import { runnerSnapshotRoutes } from './routes/runners-snapshots.ts';
import { usageReportRoutes } from './routes/runners-usage-reports.ts';
import { placeableServerRoutes } from './routes/servers.ts';
import { signInProviderRoutes } from './routes/sign-in-providers.ts';
import { workspaceRoutes } from './routes/workspaces.ts';
import { executionRoutes } from './routes/workspaces-executions.ts';
import { workspaceFileOpRoutes } from './routes/workspaces-file-ops.ts';
import { workspaceFileRoutes } from './routes/workspaces-files.ts';
import { workspaceGitRoutes } from './routes/workspaces-git.ts';
import { lspRoutes } from './routes/workspaces-lsp.ts';
import { previewApiRoutes, previewHostMiddleware, previewPathRoutes } from './routes/workspaces-preview.ts';
import { workspaceSearchRoutes } from './routes/workspaces-search.ts';
import { workspaceSnapshotRoutes } from './routes/workspaces-snapshots.ts';
import { terminalRoutes } from './routes/workspaces-terminal.ts';
import type { SocketUpgrade } from './terminal/socket-upgrade.ts';

export interface AppOptions {
  /** Puts `services` on the context: one object per process on Node, one per request in workerd. */
  provideServices: MiddlewareHandler<AppEnv>;
  clientIp: ClientIp;
  /** Serves the web app for paths outside the API (static files with an index.html fallback). */
  serveWeb?: MiddlewareHandler<AppEnv>;
  /** WebSockets of the runtime at hand (the terminal); without it the terminal answers 503. */
  upgradeWebSocket?: SocketUpgrade;
  /** The directory (LDAP) client, loaded on first use; Node only. Without it directory routes answer 501. */
  directory?: DirectoryLoader;
  /**
   * Told of every answered request, its status and time, by the outermost middleware: the
   * metrics endpoint's recorder (Node with KEEL_METRICS_PORT) and the per-minute figures every
   * edge shares in Redis (KEEL_EDGE_STATS). One hook for all of them, not a middleware each: a
   * middleware layer is an async frame and a closure on every request's path.
   */
  observers?: RequestObserver[];
}

/** The whole HTTP surface. Both entries (Node and workerd) serve exactly this app. */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ router: new RememberedRoutes() });

  // Every request's middlewares, run as one (see http/middleware-sequence.ts for why).
  app.use(
    '*',
    inSequence(
      [
        // First, so its time covers every other middleware, and its status is the one sent.
        requestId(options.observers ?? []),
        securityHeaders({ trustProxy: () => false }),
        options.provideServices,
        (c, next) => {
          c.set('clientIp', options.clientIp);
          return next();
        },
        // Before everything else that answers: the preview host serves previews and nothing of Keel's.
        previewHostMiddleware({ upgrade: options.upgradeWebSocket }),
        requestLimits(),
      ],
      onError,
    ),
  );

  app.route('/', healthRoutes());
  const on = describedRoutes(app, '');
  on(systemRoutes.jwks, async (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(await c.get('services').keys.jwks());
  });
  on(systemRoutes.openapi, (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(openApiDocument() as object);
  });
  const { clientIp, directory } = options;
  app.route('/api/auth', authRoutes({ clientIp, ...(directory ? { directory } : {}) }));
  app.route('/api/auth', directoryAuthRoutes({ clientIp, ...(directory ? { directory } : {}) }));
  app.route('/api/auth', ssoAuthRoutes({ clientIp }));
  app.route('/api/admin/sign-in', signInProviderRoutes(directory ? { directory } : {}));
  app.route('/api/account/git-credentials', gitCredentialRoutes());
  app.route('/api/account', accountRoutes({ clientIp }));
  app.route('/api/admin/members', adminPasswordResetRoutes());
  app.route('/api/orgs', invitationRoutes());
  app.route('/', fleetApiRoutes());
  app.route('/api/admin/audit', adminAuditRoutes());
  app.route('/api/admin/members', adminMemberRoutes());
  app.route('/api/admin/servers', adminServerRoutes());
  app.route('/api/admin', adminRunnerRoutes());
  app.route('/api/install', installRoutes());
  app.route('/api/install', installSnapshotStoreRoutes());
  app.route('/api/runners', runnerApiRoutes());
  app.route('/api/runners', aiReportRoutes());
  app.route('/api/runners', runnerServerRoutes());
  app.route('/api/runners', runnerSnapshotRoutes());
  app.route('/api/runners', runnerGitCredentialRoutes());
  app.route('/api/runners', usageReportRoutes());
  app.route('/api/servers', placeableServerRoutes());
  app.route('/api/admin/usage', adminUsageRoutes());
  app.route('/api/admin/health', adminHealthRoutes());
  app.route('/api/me/usage', myUsageRoutes());
  app.route('/api/admin/plan', adminPlanRoutes());
  app.route('/api/ai', aiRoutes());
  app.route('/api/workspaces', workspaceRoutes());
  app.route('/api/workspaces', workspaceFileRoutes());
  app.route('/api/workspaces', workspaceSearchRoutes());
  app.route('/api/workspaces', workspaceFileOpRoutes());
  app.route('/api/workspaces', workspaceSnapshotRoutes());
  app.route('/api/workspaces', executionRoutes());
  app.route('/api/workspaces', gitPushRoutes());
  app.route('/api/workspaces', workspaceGitRoutes());
  app.route('/api/workspaces', terminalRoutes({ upgrade: options.upgradeWebSocket }));
  app.route('/api/workspaces', previewApiRoutes());
  app.route('/api/workspaces', lspRoutes({ upgrade: options.upgradeWebSocket }));
  app.route('/api/patch', patchRoutes());
  app.route('/api', placementApiRoutes());
  app.all('/api/*', notFound);
  app.route('/', previewPathRoutes({ upgrade: options.upgradeWebSocket }));

  if (options.serveWeb) app.get('*', options.serveWeb);

  app.notFound(notFound);
  app.onError(onError);
  return app;
}
