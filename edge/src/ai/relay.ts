import type { AiDone } from '@keel/contract/ai';
import { unansweredReport } from '@keel/contract/ai-jobs';
import { AI_STREAM_TTL_SECONDS, runnerKeys } from '@keel/contract/keys';
import { compareStreamIds } from '@keel/contract/stream-ids';
import type { Context } from 'hono';
import type { Redis } from 'ioredis';
import type { AppEnv } from '../app-env.ts';
import { sseFrame } from '../http/sse-frames.ts';
import { sseResponse } from '../http/sse-response.ts';
import { streamFields } from '../services/stream-fields.ts';
import type { OutputEntry, OutputReader } from '../workspaces/output-reader.ts';
import { recordAiCallOnce } from './record.ts';
import { type AiStreamRecord, streamKeyOf } from './stream-record.ts';

/** Stream entry ids as Redis makes them; anything else in Last-Event-ID starts from the beginning. */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
/**
 * Each read of a stream: at most `count` entries, waiting up to `blockMs` before a keep-alive
 * and a check that the runner is still there.
 */
export const AI_READ = { count: 512, blockMs: 5_000 } as const;

export function cursorFrom(c: Context<AppEnv>): string {
  const last = c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? '';
  return ENTRY_ID.test(last) ? last : '0-0';
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
    // XREAD BLOCK holds its connection: each open stream reads on its own.
    const reader = input.reader ?? services.readers.take();
    const text = new TextDecoder();
    let open = true;
    let cursor = input.cursor;
    let firstRead = input.firstRead;
    stream.onAbort(() => {
      open = false;
      reader.close();
    });
    // An SSE frame per entry, up to and with `done`. An entry's data is a view of the reader's
    // buffer, good until the next read: it is decoded at once.
    const framesOf = (entries: OutputEntry[]) => {
      let frames = '';
      for (const { id, t, d } of entries) {
        cursor = id;
        frames += sseFrame(id, t ?? 'token', d ? text.decode(d) : '');
        if (t === 'done') {
          open = false;
          break;
        }
      }
      return frames;
    };
    try {
      if (input.written) await stream.write(sseFrame(cursor, input.written.event, input.written.data));
      while (open) {
        const res = await (firstRead ?? reader.read(streamKey, cursor, AI_READ.count, AI_READ.blockMs));
        firstRead = undefined;
        if (!res) {
          await stream.write(': keep-alive\n\n');
          if (!(await services.redis().exists(heartbeatKey))) await closeOffline(c, record, streamKey);
          continue;
        }
        // One write per batch.
        await stream.write(framesOf(res));
      }
    } catch (err) {
      if (open) throw err;
    } finally {
      // The pool keeps it only when it waits on nothing (read to its end, not cut off).
      services.readers.give(reader);
    }
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
