/**
 * The runner's calls to its edge about snapshots: the store's access, and beginning and
 * completing a snapshot (both fenced by the generation the runner holds the workspace at).
 * Each is one HTTPS call with the runner's credential, bounded in time, its answer parsed.
 */

import { ErrorBody } from '@keel/contract/errors';
import {
  type RunnerBeginSnapshotRequest,
  RunnerBeginSnapshotResponse,
  type RunnerCompleteSnapshotRequest,
  RunnerCompleteSnapshotResponse,
  SnapshotStoreAccessResponse,
} from '@keel/contract/snapshots';
import type { z } from 'zod';
import { type EdgeCaller, ServerAccessError } from '../servers/access.ts';

export async function beginSnapshot(
  edge: EdgeCaller,
  request: z.infer<typeof RunnerBeginSnapshotRequest>,
): Promise<z.infer<typeof RunnerBeginSnapshotResponse>> {
  const body = await callEdge(edge, 'POST', '/api/runners/snapshots', 'a new snapshot', request);
  const parsed = RunnerBeginSnapshotResponse.safeParse(body);
  if (!parsed.success) throw new ServerAccessError('invalid', 'the edge answered an unreadable snapshot id');
  return parsed.data;
}

export async function completeSnapshot(
  edge: EdgeCaller,
  snapshotId: string,
  request: RunnerCompleteSnapshotRequest,
): Promise<{ recorded: boolean }> {
  const path = `/api/runners/snapshots/${encodeURIComponent(snapshotId)}/complete`;
  const body = await callEdge(edge, 'POST', path, `the report of snapshot ${snapshotId}`, request);
  const parsed = RunnerCompleteSnapshotResponse.safeParse(body);
  if (!parsed.success)
    throw new ServerAccessError('invalid', 'the edge answered an unreadable report answer');
  return parsed.data;
}

/** The store's access, with its secret: the caller keeps it in memory only, and never logs it. */
export async function fetchSnapshotStore(
  edge: EdgeCaller,
): Promise<z.infer<typeof SnapshotStoreAccessResponse>> {
  const body = await callEdge(edge, 'GET', '/api/runners/snapshot-store', 'the snapshot store');
  const parsed = SnapshotStoreAccessResponse.safeParse(body);
  // zod's issues may quote the secret: none of them goes into the message.
  if (!parsed.success)
    throw new ServerAccessError('invalid', 'the edge answered an unreadable snapshot store');
  return parsed.data;
}

async function callEdge(
  edge: EdgeCaller,
  method: 'GET' | 'POST',
  path: string,
  what: string,
  payload?: unknown,
): Promise<unknown> {
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
      signal: AbortSignal.timeout(edge.timeoutMs ?? 10_000),
      redirect: 'error',
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw new ServerAccessError(
      'unreachable',
      timedOut ? `the edge did not answer with ${what} in time` : `the edge could not be reached for ${what}`,
    );
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ServerAccessError(
      'invalid',
      `the edge answered ${what} with no JSON (${res.status})`,
      res.status,
    );
  }
  if (!res.ok) {
    const refusal = ErrorBody.safeParse(body);
    const reason = refusal.success ? refusal.data.error.message : 'no reason given';
    throw new ServerAccessError(
      res.status >= 500 ? 'unreachable' : 'refused',
      `the edge refused ${what} (${res.status}): ${reason}`,
      res.status,
    );
  }
  return body;
}
