import { ErrorBody } from '@keel/contract/errors';
import {
  AssignedServersResponse,
  type ServerAccessPurpose as PurposeSchema,
  ServerAccess,
} from '@keel/contract/servers';
import { z } from 'zod';

/** What the runner needs to call its edge as itself. */
export interface EdgeCaller {
  edgeUrl: string;
  /** The runner's credential, sent as `Authorization: Bearer`. */
  credential: string;
  /** Each call settles within this (default 10 s): a hung edge must not hold a job. */
  timeoutMs?: number;
}

export type AssignedServer = z.infer<typeof AssignedServersResponse>['servers'][number];
export type ServerAccessPurpose = z.infer<typeof PurposeSchema>;

/**
 * Why the edge gave no answer to use. The message never carries what the edge sent back
 * beyond its error message: an answer may hold secrets.
 */
export class ServerAccessError extends Error {
  override name = 'ServerAccessError';
  constructor(
    /**
     * unreachable: no answer in time; refused: the edge said no (not assigned, revoked);
     * invalid: an unreadable answer. Not named `code`: these are the edge's failures, not the
     * server's, and must not read as a connection test's code.
     */
    readonly reason: 'unreachable' | 'refused' | 'invalid',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const AccessResponse = z.object({ access: ServerAccess });

/** The servers assigned to this runner now (id, kind, when each last changed). */
export async function fetchAssignedServers(edge: EdgeCaller): Promise<AssignedServer[]> {
  const body = await callEdge(edge, '/api/runners/servers', 'the assigned servers');
  const parsed = AssignedServersResponse.safeParse(body);
  if (!parsed.success) throw new ServerAccessError('invalid', 'the edge answered an unreadable server list');
  return parsed.data.servers;
}

/**
 * A server's access with its secrets, for one purpose (the edge audits each fetch). The caller
 * keeps it only as long as it needs it: nothing here caches, logs or writes it.
 */
export async function fetchServerAccess(
  edge: EdgeCaller,
  serverId: string,
  purpose: ServerAccessPurpose,
): Promise<ServerAccess> {
  const path = `/api/runners/servers/${encodeURIComponent(serverId)}/access?purpose=${purpose}`;
  const body = await callEdge(edge, path, `the access of server ${serverId}`);
  const parsed = AccessResponse.safeParse(body);
  // zod's issues may quote what they refused: none of them goes into the message.
  if (!parsed.success)
    throw new ServerAccessError('invalid', `the edge answered an unreadable access for ${serverId}`);
  if (parsed.data.access.id !== serverId) {
    throw new ServerAccessError('invalid', `the edge answered the access of another server than ${serverId}`);
  }
  return parsed.data.access;
}

async function callEdge(edge: EdgeCaller, path: string, what: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, edge.edgeUrl), {
      headers: { authorization: `Bearer ${edge.credential}`, accept: 'application/json' },
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
