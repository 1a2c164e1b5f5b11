import { workspaceRoutes } from '@keel/contract/api/workspaces';
import { runnerKeys } from '@keel/contract/keys';
import { TerminalQuery } from '@keel/contract/terminal';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { isOwnOrigin } from '../auth/csrf.ts';
import { REVOKED_MARKER } from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readParams, readQuery } from '../http/validate.ts';
import { countedSocket } from '../metrics/counted-socket.ts';
import { sessionCacheKey, terminalSessionKey } from '../redis-keys.ts';
import type { SocketUpgrade } from '../terminal/socket-upgrade.ts';
import { terminalRelay } from '../terminal/terminal-relay.ts';
import { findTerminalSession, openTerminalSession } from '../terminal/terminal-sessions.ts';
import { liveStatuses, loadWorkspace } from '../workspaces/access.ts';

/**
 * `GET /api/workspaces/:id/terminal`: the WebSocket of @keel/contract/terminal. Everything is checked
 * before the upgrade, so a refused connection gets an ordinary error response (Node sends its status
 * only; a plain GET gets the body too).
 */
export function terminalRoutes(options: { upgrade: SocketUpgrade | undefined }) {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(workspaceRoutes.terminal, async (c) => {
    const services = c.get('services');
    const principal = c.get('principal');
    // A browser cannot add the CSRF header to a WebSocket handshake, but it always sends an Origin
    // that a page cannot forge: cookie-authenticated sockets must come from Keel's own pages.
    if (principal.via === 'cookie') {
      const origin = c.req.header('origin');
      if (!origin || !isOwnOrigin(c, origin)) {
        throw new ApiError('csrf_failed', 'Terminal connections from other sites are refused');
      }
    }
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const query = readQuery(c, TerminalQuery);
    const record = query.session
      ? await findTerminalSession(services, row, principal, query.session)
      : undefined;
    if (!record) {
      const live = (await liveStatuses(services, [row])).get(row.id);
      if (live?.status === 'unavailable') {
        throw new ApiError('runner_unavailable', `The workspace is unavailable: ${live.reason}`);
      }
      if ((live?.status ?? row.status) !== 'running') {
        throw new ApiError('workspace_not_running', 'The workspace is not running; start it first');
      }
    }
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError('upgrade_required', 'The terminal is a WebSocket: connect with Upgrade: websocket');
    }
    if (!options.upgrade) throw new ApiError('not_ready', 'This server does not offer terminals');

    let sessionId: string;
    let runnerId: string;
    if (query.session && record) {
      sessionId = query.session;
      runnerId = record.runnerId;
    } else {
      const opened = await openTerminalSession(services, row, principal, query, jobTraceOf(c));
      sessionId = opened.sessionId;
      runnerId = opened.record.runnerId;
      await appendAudit(services, {
        action: 'terminal.open',
        outcome: 'success',
        actorId: principal.userId,
        organizationId: row.organizationId,
        workspaceId: row.id,
        targetId: sessionId,
      });
    }

    const keys = runnerKeys(services.config.redisPrefix, runnerId);
    return options.upgrade(
      c,
      countedSocket(
        services.metrics,
        terminalRelay({
          redisUrl: services.config.redisUrl,
          readers: services.readers,
          writer: services.socketWrites?.(),
          sessionId,
          // A reattaching socket replays after what it has, and may come from a window of another size.
          cursor: record ? (query.lastSeq ?? '0-0') : '0-0',
          ...(record ? { resize: { cols: query.cols, rows: query.rows } } : {}),
          keys: {
            output: keys.terminalOutput(sessionId),
            input: keys.terminalInput(sessionId),
            attached: keys.terminalAttached(sessionId),
            record: terminalSessionKey(services, sessionId),
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
