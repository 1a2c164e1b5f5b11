import type { FetchLike } from '../api/client.ts';

export interface RecordedCall {
  method: string;
  path: string;
  headers: Headers;
  /** The parsed JSON body, or undefined when none was sent. */
  body: unknown;
  credentials: RequestCredentials | undefined;
  signal: AbortSignal | undefined;
}

export type Responder = (call: RecordedCall) => Response | Promise<Response>;

/**
 * A fetch that answers from a script of responders, one per request in order, and records every call.
 * Running past the script fails the test loudly instead of hanging or looping.
 */
export function createFakeFetch(...script: Responder[]): { fetch: FetchLike; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const fetch: FetchLike = async (input, init) => {
    const call: RecordedCall = {
      method: init.method ?? 'GET',
      path: input,
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      credentials: init.credentials,
      signal: init.signal ?? undefined,
    };
    calls.push(call);
    const responder = script[calls.length - 1];
    if (responder === undefined)
      throw new Error(`unexpected request #${calls.length}: ${call.method} ${call.path}`);
    return responder(call);
  };
  return { fetch, calls };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Responder {
  return () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
}

export function apiError(
  status: number,
  code: string,
  message = code,
  extra: Record<string, unknown> = {},
): Responder {
  return json(status, { error: { code, message, requestId: 'req_test', ...extra } });
}

export function networkFailure(): Responder {
  return () => {
    throw new TypeError('Failed to fetch');
  };
}
