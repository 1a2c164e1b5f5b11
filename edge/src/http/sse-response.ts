import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppEnv } from '../app-env.ts';
import { onStop, SSE_RECONNECT_HINT } from './graceful-stop.ts';

/** Where an SSE handler writes its frames (already formatted, see sse-frames.ts). */
export interface SseSink {
  /** Resolves when the frames are handed to the connection (at once, unless it is backed up). */
  write(frames: string | Uint8Array): Promise<void>;
  /** Called once when the client goes away before the handler is done. */
  onAbort(listener: () => void): void;
}

/** @hono/node-server leaves a response with this header alone: the handler answered on the socket itself. */
const ALREADY_SENT = 'x-hono-already-sent';

/**
 * An SSE response whose body `run` writes. On Node the frames go to the connection as they
 * come: a token relayed is one write, where Hono's stream hands it through a TransformStream
 * and the adapter's reader first (about half a millisecond per event on a busy host, and
 * time to first token is what a person waits for). Elsewhere (workerd) it is Hono's stream.
 * Headers set on the context so far are sent, and the security headers (their middleware
 * adds them only once the handler is done, to what it returned).
 */
export function sseResponse(c: Context<AppEnv>, run: (sink: SseSink) => Promise<void>): Response {
  // Open streams are counted from here until `run` is done (keel_http_open_streams).
  const metrics = c.get('services').metrics;
  metrics.streamOpened('sse');
  const closed = () => metrics.streamClosed('sse');
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing || typeof outgoing.writeHead !== 'function' || outgoing.headersSent) {
    let response: Response;
    try {
      response = streamSSE(c, (stream) =>
        run({
          write: async (frames) => {
            await stream.write(frames);
          },
          onAbort: (listener) => stream.onAbort(listener),
        }).finally(closed),
      );
    } catch (err) {
      closed();
      throw err;
    }
    return response;
  }

  const headers: Record<string, string> = {};
  c.res.headers.forEach((value, name) => {
    headers[name] = value;
  });
  Object.assign(headers, c.get('answerHeaders'));
  headers['content-type'] = 'text/event-stream';
  headers['cache-control'] = 'no-store';
  // Sent with the first frames when `run` writes at once (an AI stream's `meta`), in the same
  // write; otherwise on their own below, so a stream with nothing to say yet (a quiet command)
  // still opens at once.
  outgoing.writeHead(200, headers);

  const aborts: Array<() => void> = [];
  let finished = false;
  let wrote = false;
  outgoing.once('close', () => {
    if (finished) return;
    finished = true;
    for (const listener of aborts.splice(0)) listener();
  });
  const sink: SseSink = {
    write(frames) {
      wrote = true;
      if (outgoing.destroyed) return Promise.resolve();
      if (outgoing.write(frames)) return Promise.resolve();
      return new Promise((resolve) => {
        const go = () => {
          outgoing.off('drain', go);
          outgoing.off('close', go);
          resolve();
        };
        outgoing.once('drain', go);
        outgoing.once('close', go);
      });
    },
    onAbort(listener) {
      aborts.push(listener);
    },
  };
  // A stopping edge ends the stream with a reconnect hint: the client resumes on another edge from
  // its Last-Event-ID (the stream's end is its own final event, which this is not).
  const forget = onStop(() => {
    if (finished) return;
    finished = true;
    outgoing.write(SSE_RECONNECT_HINT);
    for (const listener of aborts.splice(0)) listener();
    outgoing.end();
  });
  const running = run(sink);
  // (`headersSent` is already true here: it only says writeHead ran.)
  if (!wrote) outgoing.flushHeaders();
  void running
    .catch((err: unknown) => {
      // The headers are out: the stream just ends. The name only (a message could quote data).
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'SSE stream failed',
          requestId: c.get('requestId'),
          error: err instanceof Error ? err.name : 'unknown',
        }),
      );
    })
    .finally(() => {
      closed();
      forget();
      finished = true;
      if (!outgoing.writableEnded) outgoing.end();
    });
  return new Response(null, { headers: { [ALREADY_SENT]: 'true' } });
}
