import { upgradeWebSocket } from '@hono/node-server';
import { LSP_MESSAGE_MAX_BYTES } from '@keel/contract/lsp';
import { SERVER_RESTART_CLOSE_CODE, TERMINAL_FRAME_MAX_BYTES } from '@keel/contract/terminal';
import { WebSocketServer } from 'ws';
import type { SocketUpgrade } from './socket-upgrade.ts';

/**
 * WebSockets for the Node edge: pass `server` to `serve({ websocket: { server } })` and `upgrade` to the
 * app. `closeAll` ends open sockets at shutdown: the HTTP server no longer tracks upgraded connections.
 */
export function nodeWebSockets(): {
  server: WebSocketServer;
  upgrade: SocketUpgrade;
  closeAll(): void;
  closeForRestart(): void;
} {
  // The largest legitimate frame is a full input frame; a bigger one is refused before it is buffered.
  // Language-server messages are larger (a whole file in a didOpen); each relay checks its own cap,
  // and twice the LSP cap lets a slightly oversized message get a clear refusal before ws closes.
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: Math.max(TERMINAL_FRAME_MAX_BYTES, 2 * LSP_MESSAGE_MAX_BYTES),
  });
  return {
    server,
    upgrade: (c, events) => upgradeWebSocket(c, events),
    closeAll() {
      for (const client of server.clients) client.terminate();
    },
    /** A graceful stop: each client is told to reconnect now (to another edge) and resumes there. */
    closeForRestart() {
      for (const client of server.clients) client.close(SERVER_RESTART_CLOSE_CODE, 'server restarting');
    },
  };
}
