import type { Context } from 'hono';
import type { WSEvents } from 'hono/ws';

/**
 * Turns a request into a WebSocket served by `events`: Hono's helper for the runtime at hand
 * (@hono/node-server on Node, the workerd one in workerd), handed to the app by its entry.
 */
export type SocketUpgrade = (c: Context, events: WSEvents<unknown>) => Promise<Response>;
