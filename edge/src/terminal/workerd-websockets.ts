import { defineWebSocketHelper, WSContext, type WSReadyState } from 'hono/ws';
import type { SocketUpgrade } from './socket-upgrade.ts';

interface WorkerdSocket {
  accept(): void;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  readonly readyState: number;
  addEventListener(type: 'message' | 'close' | 'error', listener: (event: never) => void): void;
}

/**
 * Hono's WebSocket helper for workerd. The one in `hono/cloudflare-workers` never calls `onOpen`, and
 * a terminal speaks first (its `ready` frame, then output), so this one calls it once the socket is
 * accepted, still inside the request that opened it (where workerd lets its I/O objects be made).
 */
const upgradeWorkerdWebSocket = defineWebSocketHelper(async (c, events) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return;
  const Pair = (globalThis as unknown as { WebSocketPair: new () => Record<0 | 1, WorkerdSocket> })
    .WebSocketPair;
  const pair = new Pair();
  const client = pair[0];
  const server = pair[1];
  const ws = new WSContext<WorkerdSocket>({
    send: (source) => server.send(source),
    close: (code, reason) => server.close(code, reason),
    raw: server,
    get readyState() {
      return server.readyState as WSReadyState;
    },
    url: c.req.url,
  });
  server.addEventListener('message', (event: MessageEvent) => events.onMessage?.(event, ws));
  server.addEventListener('close', (event: CloseEvent) => events.onClose?.(event, ws));
  server.addEventListener('error', (event: Event) => events.onError?.(event, ws));
  server.accept();
  events.onOpen?.(new Event('open'), ws);
  return new Response(null, { status: 101, webSocket: client } as ResponseInit);
});

export const workerdUpgrade: SocketUpgrade = (c, events) => upgradeWorkerdWebSocket(c, events);
