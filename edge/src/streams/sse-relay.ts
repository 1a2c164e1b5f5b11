import { type SseEvent, sseFrames } from '../http/sse-frames.ts';
import type { SseSink } from '../http/sse-response.ts';
import type { OutputEntry } from '../workspaces/output-reader.ts';

const NO_DATA = new Uint8Array(0);

/**
 * A follower's delivery as SSE, bytes as stored (see sseFrames): one write per batch, a frame
 * per entry named after its type (`untyped` when it has none), its stream id as event id, and a
 * keep-alive comment whenever the stream is quiet.
 */
export function sseDelivery(stream: SseSink, untyped: string) {
  return {
    // Frames are made at once: the entries' data may be views of the reader's buffer.
    onBatch: (entries: OutputEntry[]) => {
      const events: SseEvent[] = [];
      for (const { id, t, d } of entries) events.push({ id, event: t ?? untyped, data: d ?? NO_DATA });
      return stream.write(sseFrames(events));
    },
    onQuiet: () => stream.write(': keep-alive\n\n'),
  };
}
