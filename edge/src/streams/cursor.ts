import { parseStreamCursor } from '@keel/contract/stream-ids';
import type { Context } from 'hono';

/**
 * Where an SSE client resumes: `Last-Event-ID` (what an EventSource sends on reconnect) or the
 * `lastEventId` query (what a page can set); anything that is not a stream id starts from the start.
 */
export function lastEventIdOf(c: Context): string {
  return parseStreamCursor(c.req.header('last-event-id') ?? c.req.query('lastEventId'));
}
