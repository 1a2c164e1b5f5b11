import { workspaceRoutes } from '@keel/contract/api/workspaces';
import { runnerKeys } from '@keel/contract/keys';
import { LspQuery, lspKeys, lspWorkspaceConnectionsKey } from '@keel/contract/lsp';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { isOwnOrigin } from '../auth/csrf.ts';
import { REVOKED_MARKER } from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readParams, readQuery } from '../http/validate.ts';
import { openLspConnection } from '../lsp/lsp-connections.ts';
import { lspRelay } from '../lsp/lsp-relay.ts';
import { countedSocket } from '../metrics/counted-socket.ts';
import { sessionCacheKey } from '../redis-keys.ts';
import type { SocketUpgrade } from '../terminal/socket-upgrade.ts';
import { liveStatuses, loadWorkspace } from '../workspaces/access.ts';

/**
 * `GET /api/workspaces/:id/lsp?language=…`: the WebSocket of @keel/contract/lsp. Like the terminal,
 * everything is checked before the upgrade (a refusal is an ordinary error response), and it needs
 * `workspaces:use`: a viewer is refused (403), since a language server reads and rewrites the code
 * (rename, format) and runs the workspace's toolchain.
 */
export function lspRoutes(options: { upgrade: SocketUpgrade | undefined }) {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(workspaceRoutes.lsp, async (c) => {
    const services = c.get('services');
    const principal = c.get('principal');
    // A browser cannot add the CSRF header to a WebSocket handshake, but it always sends an Origin.
    if (principal.via === 'cookie') {
      const origin = c.req.header('origin');
      if (!origin || !isOwnOrigin(c, origin)) {
        throw new ApiError('csrf_failed', 'Language server connections from other sites are refused');
      }
    }
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const query = readQuery(c, LspQuery);
    const live = (await liveStatuses(services, [row])).get(row.id);
    if (live?.status === 'unavailable') {
      throw new ApiError('runner_unavailable', `The workspace is unavailable: ${live.reason}`);
    }
    if ((live?.status ?? row.status) !== 'running') {
      throw new ApiError('workspace_not_running', 'The workspace is not running; start it first');
    }
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError(
        'upgrade_required',
        'The language server is a WebSocket: connect with Upgrade: websocket',
      );
    }
    if (!options.upgrade) throw new ApiError('not_ready', 'This server does not offer language servers');

    const { connectionId, runnerId } = await openLspConnection(services, row, query.language, jobTraceOf(c));
    const keys = runnerKeys(services.config.redisPrefix, runnerId);
    const own = lspKeys(keys, connectionId);
    return options.upgrade(
      c,
      countedSocket(
        services.metrics,
        lspRelay({
          redisUrl: services.config.redisUrl,
          readers: services.readers,
          writer: services.socketWrites?.(),
          keys: {
            ...own,
            connections: lspWorkspaceConnectionsKey(keys, row.id),
            connectionId,
            runnerHeartbeat: keys.heartbeat,
            authSession: sessionCacheKey(services, principal.sessionId),
            revokedMarker: REVOKED_MARKER,
          },
        }),
      ),
    );
  });

  return app;
}
