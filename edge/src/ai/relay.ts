import type { AiDone } from '@keel/contract/ai';
import { unansweredReport } from '@keel/contract/ai-jobs';
import { AI_STREAM_TTL_SECONDS, runnerKeys } from '@keel/contract/keys';
import { compareStreamIds } from '@keel/contract/stream-ids';
import { aiAnswerStream } from '@keel/contract/streams';
import type { Context } from 'hono';
import type { Redis } from 'ioredis';
import type { AppEnv } from '../app-env.ts';
import { sseFrame } from '../http/sse-frames.ts';
import { sseResponse } from '../http/sse-response.ts';
import { streamFields } from '../services/stream-fields.ts';
import { lastEventIdOf } from '../streams/cursor.ts';
import { StreamFollower } from '../streams/follower.ts';
import type { OutputEntry, OutputReader } from '../workspaces/output-reader.ts';
import { recordAiCallOnce } from './record.ts';
import { type AiStreamRecord, streamKeyOf } from './stream-record.ts';

/**
 * Each read of a stream: at most `count` entries, waiting up to `blockMs` before a keep-alive
 * and a check that the runner is still there.
 */
export const AI_READ = { count: 512, blockMs: 5_000 } as const;

export function cursorFrom(c: Context<AppEnv>): string {
  return lastEventIdOf(c);
}

/**
 * Where a stream stands for a reader at `cursor`: missing (expired or never made), finished
 * (its `done` is at or before the cursor: nothing more will come), or open.
 */
export async function streamState(
  redis: Redis,
  streamKey: string,
  cursor: string,
): Promise<'missing' | 'finished' | 'open'> {
  const [last] = (await redis.xrevrange(streamKey, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
  if (!last) return 'missing';
  return streamFields(last[1]).t === 'done' && compareStreamIds(last[0], cursor) <= 0 ? 'finished' : 'open';
}

/**
 * Relays an AI stream from Redis as SSE, from just after `cursor` to its `done`. Each event's
 * id is its stream entry id, so a client that reconnects with Last-Event-ID (to this edge
 * instance or another) gets exactly what it missed. The edge holds no state of its own: when
 * the runner's heartbeat is gone it writes the `done` itself, durably, so every reader, now or
 * after a reconnect, sees the call end.
 */
export function relayAiStream(
  c: Context<AppEnv>,
  input: {
    /** The edge's record of the stream: where it is, whose it is, and which runner answers. */
    record: AiStreamRecord;
    cursor: string;
    /** A reader already taken for this stream's blocking reads; one is taken otherwise. */
    reader?: OutputReader;
    /**
     * The entry at `cursor` when the caller just wrote it (a new stream's `meta`): sent at
     * once, without a read that would only give it back.
     */
    written?: { event: string; data: string };
    /** The read after `cursor`, already sent (see warm-start.ts). */
    firstRead?: Promise<OutputEntry[] | null>;
  },
): Response {
  const services = c.get('services');
  const { record } = input;
  const streamKey = streamKeyOf(services, record);
  const heartbeatKey = runnerKeys(services.config.redisPrefix, record.runnerId).heartbeat;
  // Proxies (nginx) would otherwise buffer the tokens they should pass on at once.
  c.header('x-accel-buffering', 'no');
  return sseResponse(c, async (stream) => {
    const text = new TextDecoder();
    const follower = new StreamFollower({
      readers: services.readers,
      ...(input.reader ? { reader: input.reader } : {}),
      kind: aiAnswerStream,
      key: streamKey,
      cursor: input.cursor,
      ...(input.firstRead ? { firstRead: input.firstRead } : {}),
      ...AI_READ,
      // An SSE frame per entry, up to and with `done`, in one write. An entry's data is a view
      // of the reader's buffer: it is decoded at once.
      onBatch: (entries) => {
        let frames = '';
        for (const { id, t, d } of entries) frames += sseFrame(id, t ?? 'token', d ? text.decode(d) : '');
        return stream.write(frames);
      },
      onQuiet: () => stream.write(': keep-alive\n\n'),
      offline: {
        redis: services.redis(),
        heartbeatKey,
        close: async () => {
          await closeOffline(c, record, streamKey);
          return true;
        },
      },
    });
    stream.onAbort(() => follower.stop());
    const { written } = input;
    await follower.run(written && (() => stream.write(sseFrame(input.cursor, written.event, written.data))));
  });
}

/**
 * The runner is gone: the stream gets its `done` from the edge, durably, and the call its usage
 * row and audit event (a failed call, nothing known of what was sent or answered). A runner
 * that comes back and reports the call finds it recorded (one claim per stream).
 */
async function closeOffline(c: Context<AppEnv>, record: AiStreamRecord, streamKey: string): Promise<void> {
  const services = c.get('services');
  const done: AiDone = {
    outcome: 'failure',
    error: { code: 'runner_offline', message: 'the runner went offline during the call; ask again' },
  };
  await services
    .redis()
    .multi()
    .xadd(streamKey, '*', 't', 'done', 'd', JSON.stringify(done))
    .expire(streamKey, AI_STREAM_TTL_SECONDS)
    .exec();
  const report = unansweredReport(record.streamId, record.kind, record.model, 'runner_offline');
  await recordAiCallOnce(services, record, report).catch((err: unknown) =>
    // The client still gets its `done`; the failure to count the call is the operator's to see.
    console.error(
      JSON.stringify({
        level: 'error',
        msg: 'AI call of an offline runner not recorded',
        error: String(err),
      }),
    ),
  );
}
