import { Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { notFound, onError } from './http/error-handler.ts';
import { requestId } from './middleware/request-id.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { authRoutes, type ClientIp } from './routes/auth.ts';
import { executionRoutes } from './routes/executions.ts';
import { healthRoutes } from './routes/health.ts';
import { invitationRoutes } from './routes/invitations.ts';
import { adminRunnerRoutes, runnerApiRoutes } from './routes/runners.ts';
import { workspaceFileRoutes } from './routes/workspace-files.ts';
import { workspaceRoutes } from './routes/workspaces.ts';

export interface AppOptions {
  /** Puts `services` on the context: one object per process on Node, one per request in workerd. */
  provideServices: MiddlewareHandler<AppEnv>;
  clientIp: ClientIp;
  /** Serves the web app for paths outside the API (static files with an index.html fallback). */
  serveWeb?: MiddlewareHandler<AppEnv>;
}

/** The whole HTTP surface. Both entries (Node and workerd) serve exactly this app. */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use('*', requestId());
  app.use('*', securityHeaders({ trustProxy: () => false }));
  app.use('*', options.provideServices);

  app.route('/', healthRoutes());
  app.get('/.well-known/jwks.json', async (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(await c.get('services').keys.jwks());
  });
  app.route('/api/auth', authRoutes({ clientIp: options.clientIp }));
  app.route('/api/orgs', invitationRoutes());
  app.route('/api/admin', adminRunnerRoutes());
  app.route('/api/runners', runnerApiRoutes());
  app.route('/api/workspaces', workspaceRoutes());
  app.route('/api/workspaces', workspaceFileRoutes());
  app.route('/api/workspaces', executionRoutes());
  app.all('/api/*', notFound);

  if (options.serveWeb) app.get('*', options.serveWeb);

  app.notFound(notFound);
  app.onError(onError);
  return app;
}
