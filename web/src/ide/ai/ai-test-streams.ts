import type { Responder } from '../../testing/fake-fetch.ts';
import { eventStream, sse } from '../../testing/fake-streams.ts';

export const STREAM = 'ais_abcdefghijklmnopqrst';

/** An AI route's answer: an event stream with the stream id in its header, as the edge sends it. */
export function aiStream(
  chunks: readonly string[],
  end: 'close' | 'error' = 'close',
  streamId: string | undefined = STREAM,
): Responder {
  return async (call) => {
    const response = await eventStream(chunks, end)(call);
    const headers = new Headers(response.headers);
    if (streamId !== undefined) headers.set('x-keel-stream-id', streamId);
    return new Response(response.body, { status: response.status, headers });
  };
}

export const meta = (id: string, kind = 'chat', model = 'qwen-coder') =>
  sse(id, 'meta', JSON.stringify({ streamId: STREAM, kind, model }));
export const token = (id: string, text: string) => sse(id, 'token', text);
export const done = (id: string, outcome: 'success' | 'failure' | 'cancelled' = 'success', error?: object) =>
  sse(id, 'done', JSON.stringify({ outcome, ...(error ? { error } : {}) }));

/** A responder that answers only once `release()` is called, for testing what happens in between. */
export function held(responder: Responder): { responder: Responder; release: () => void } {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    responder: async (call) => {
      await released;
      return responder(call);
    },
    release: () => release(),
  };
}

/** Lets pending promise callbacks and stream reads run. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
