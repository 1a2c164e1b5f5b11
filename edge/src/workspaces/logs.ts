import { runnerKeys } from '@keel/contract/keys';
import { workspaceLogStream } from '@keel/contract/streams';
import type { LogLine } from '@keel/contract/workspaces';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { sseResponse } from '../http/sse-response.ts';
import { streamFields } from '../services/stream-fields.ts';
import { lastEventIdOf } from '../streams/cursor.ts';
import { StreamFollower } from '../streams/follower.ts';
import { sseDelivery } from '../streams/sse-relay.ts';
import type { WorkspaceRow } from './access.ts';

/** What the log holds now, as one list (the whole rolling window: at most its entry cap). */
export async function readWorkspaceLog(c: Context<AppEnv>, row: WorkspaceRow): Promise<LogLine[]> {
  if (!row.runnerId) return [];
  const services = c.get('services');
  const key = workspaceLogStream.key(runnerKeys(services.config.redisPrefix, row.runnerId), row.id);
  const entries = await services.redis().xrange(key, '-', '+', 'COUNT', workspaceLogStream.maxEntries);
  return entries.map(([entryId, fields]) => {
    const f = streamFields(fields);
    return {
      id: entryId,
      at: new Date(Number(entryId.split('-')[0])).toISOString(),
      // Older runners named the line's origin `s`.
      stream: (f.t ?? f.s ?? 'system') as LogLine['stream'],
      text: f.d ?? '',
    };
  });
}

/**
 * The log as it grows, as SSE: each line an event named after where it came from (`system`,
 * `stdout`, `stderr`), its text as data, its entry id as event id, so a reconnect with
 * Last-Event-ID goes on where it stopped. A log never ends: the response ends when the client
 * leaves, or when the runner is gone (nothing more can come until it is back).
 */
export function followWorkspaceLog(c: Context<AppEnv>, row: WorkspaceRow): Response {
  const services = c.get('services');
  const runnerId = row.runnerId;
  c.header('x-accel-buffering', 'no');
  return sseResponse(c, async (stream) => {
    if (!runnerId) return;
    const keys = runnerKeys(services.config.redisPrefix, runnerId);
    const follower = new StreamFollower({
      readers: services.readers,
      kind: workspaceLogStream,
      key: workspaceLogStream.key(keys, row.id),
      cursor: lastEventIdOf(c),
      count: 256,
      blockMs: 5_000,
      readAhead: true,
      ...sseDelivery(stream, 'system'),
      offline: { redis: services.redis(), heartbeatKey: keys.heartbeat, close: async () => false },
    });
    stream.onAbort(() => follower.stop());
    await follower.run();
  });
}
