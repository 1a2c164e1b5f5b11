/**
 * One HTTPS call from a runner to its edge, as the runner itself: its credential as
 * `Authorization: Bearer`, bounded in time (a hung edge must not hold a job), no redirects, and
 * a JSON answer. Each caller names its own error class; the reasons are the same everywhere:
 * `unreachable` (no answer in time, or a 5xx), `refused` (a 4xx, with the edge's message) and
 * `invalid` (no JSON). Messages never carry the answer's body beyond the edge's error message:
 * an answer may hold secrets.
 */
import { ErrorBody } from '@keel/contract/errors';

/** What the runner needs to call its edge as itself. */
export interface EdgeCaller {
  edgeUrl: string;
  /** The runner's credential, sent as `Authorization: Bearer`. */
  credential: string;
  /** Each call settles within this (default 10 s). */
  timeoutMs?: number;
}

export type EdgeCallFailure = 'unreachable' | 'refused' | 'invalid';
export type EdgeCallErrorFactory = (reason: EdgeCallFailure, message: string, status?: number) => Error;

/** `what` names the call in messages ("the handoff of ws_…"). */
export async function callEdge(
  edge: EdgeCaller,
  request: { method: 'GET' | 'POST'; path: string; what: string; body?: unknown },
  fail: EdgeCallErrorFactory,
): Promise<unknown> {
  const { method, path, what, body: payload } = request;
  let res: Response;
  try {
    res = await fetch(new URL(path, edge.edgeUrl), {
      method,
      headers: {
        authorization: `Bearer ${edge.credential}`,
        accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      // The body's read below is bounded by the same signal.
      signal: AbortSignal.timeout(edge.timeoutMs ?? 10_000),
      redirect: 'error',
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw fail(
      'unreachable',
      timedOut ? `the edge did not answer ${what} in time` : `the edge could not be reached for ${what}`,
    );
  }
  // Done, with nothing to say (204): there is no body to read.
  if (res.status === 204) return undefined;
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw fail(
      res.status >= 500 ? 'unreachable' : 'invalid',
      `the edge answered ${what} with no JSON (${res.status})`,
      res.status,
    );
  }
  if (!res.ok) {
    const refusal = ErrorBody.safeParse(body);
    const reason = refusal.success ? refusal.data.error.message : 'no reason given';
    throw fail(
      res.status >= 500 ? 'unreachable' : 'refused',
      `the edge refused ${what} (${res.status}): ${reason}`,
      res.status,
    );
  }
  return body;
}
