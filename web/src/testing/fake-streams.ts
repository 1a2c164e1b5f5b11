import { sseFrame } from '../../../edge/src/http/sse-frames.ts';
import type { Responder } from './fake-fetch.ts';

/**
 * An event-stream response that sends `chunks` and then either ends or breaks like a dropped connection
 * (`end: 'error'`). Chunks can split events, lines and even multi-byte characters anywhere.
 */
export function eventStream(
  chunks: readonly (string | Uint8Array)[],
  end: 'close' | 'error' = 'close',
): Responder {
  return (call) => {
    const encoder = new TextEncoder();
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (call.signal?.aborted) return controller.error(new DOMException('aborted', 'AbortError'));
        const chunk = chunks[index];
        index += 1;
        if (chunk !== undefined)
          return controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
        if (end === 'error') controller.error(new TypeError('network error'));
        else controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
}

/**
 * One event framed by the edge's own encoder (the one its SSE routes use), so a change in how
 * the server frames events fails the web tests too. The encoder lives in edge/, not in the
 * contract: imported from there, as nothing else of the edge is.
 */
export function sse(id: string, event: string, data: string): string {
  return sseFrame(id, event, data);
}
