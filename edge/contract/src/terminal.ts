import { z } from 'zod';

/**
 * The interactive terminal: browser ↔ edge over a WebSocket at
 * `GET /api/workspaces/:id/terminal?session=<sessionId>&cols=<n>&rows=<n>` (Upgrade: websocket).
 * A session outlives its socket: reconnecting with the same `session` (and `lastSeq`) reattaches
 * and replays what was missed. Every frame is one JSON text message.
 */
export const TerminalSessionId = z.string().regex(/^trm_[a-z2-7]{20}$/);

export const TerminalClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('input'), data: z.string().max(65_536) }),
  z.object({
    type: z.literal('resize'),
    cols: z.number().int().min(2).max(1000),
    rows: z.number().int().min(2).max(500),
  }),
  z.object({ type: z.literal('ping') }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

export const TerminalServerMessage = z.discriminatedUnion('type', [
  /** Sent first: the session to reconnect to. */
  z.object({ type: z.literal('ready'), session: TerminalSessionId }),
  /** Terminal output; `seq` increases, so a reconnect can say what it already has. */
  z.object({ type: z.literal('output'), data: z.string(), seq: z.string() }),
  z.object({ type: z.literal('exit'), exitCode: z.number().nullable() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('pong') }),
]);
export type TerminalServerMessage = z.infer<typeof TerminalServerMessage>;
