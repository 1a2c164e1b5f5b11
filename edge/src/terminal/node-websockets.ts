import { upgradeWebSocket } from '@hono/node-server';
import { TERMINAL_FRAME_MAX_BYTES } from '@keel/contract/terminal';
import { WebSocketServer } from 'ws';
import type { SocketUpgrade } from './socket-upgrade.ts';

/**
 * WebSockets for the Node edge: pass `server` to `serve({ websocket: { server } })` and `upgrade` to the
 * app. `closeAll` ends open sockets at shutdown: the HTTP server no longer tracks upgraded connections.
 */
export function nodeWebSockets(): { server: WebSocketServer; upgrade: SocketUpgrade; closeAll(): void } {
  // The largest legitimate frame is a full input frame; a bigger one is refused before it is buffered.
  const server = new WebSocketServer({ noServer: true, maxPayload: TERMINAL_FRAME_MAX_BYTES });
  return {
    server,
    upgrade: (c, events) => upgradeWebSocket(c, events),
    closeAll() {
      for (const client of server.clients) client.terminate();
    },
  };
}
