import { isDeepStrictEqual } from 'node:util';
import { AiDone, AiStreamMeta, RewriteResult } from '@keel/contract/ai';
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

/**
 * The body of each event an AI stream carries, as the contract describes it. A fixture the server could
 * not send (a renamed field, a wrong type, a field it no longer writes) fails where it is made, so a change
 * to the contract fails these tests instead of leaving them to pass against a server that no longer exists.
 */
const AI_EVENTS = { meta: AiStreamMeta, result: RewriteResult, done: AiDone } as const;

interface AiEventBodies {
  meta: AiStreamMeta;
  result: RewriteResult;
  done: AiDone;
}

/** One AI stream event, its body checked against the contract and framed by the edge's encoder. */
export function aiEvent<E extends keyof AiEventBodies>(id: string, event: E, body: AiEventBodies[E]): string {
  const parsed = AI_EVENTS[event].safeParse(body);
  if (!parsed.success || !isDeepStrictEqual(parsed.data, body)) {
    const problem = parsed.success ? 'fields the contract does not have' : parsed.error.message;
    throw new Error(`fixture "${event}" event does not match the contract: ${problem}`);
  }
  return sse(id, event, JSON.stringify(body));
}

export const meta = (id: string, kind: AiStreamMeta['kind'] = 'chat', model = 'qwen-coder') =>
  aiEvent(id, 'meta', { streamId: STREAM, kind, model });
/** Token events carry the model's text as it is, not JSON. */
export const token = (id: string, text: string) => sse(id, 'token', text);
export const result = (id: string, body: RewriteResult) => aiEvent(id, 'result', body);
export const done = (id: string, outcome: AiDone['outcome'] = 'success', error?: AiDone['error']) =>
  aiEvent(id, 'done', { outcome, ...(error ? { error } : {}) });

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
