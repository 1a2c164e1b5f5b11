import {
  AssignedServersResponse,
  type ServerAccessPurpose as PurposeSchema,
  ServerAccess,
} from '@keel/contract/servers';
import { z } from 'zod';
import { callEdge, type EdgeCaller, type EdgeCallFailure } from '../edge-call.ts';

export type { EdgeCaller };

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
    readonly reason: EdgeCallFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export const serverAccessError = (reason: EdgeCallFailure, message: string, status?: number) =>
  new ServerAccessError(reason, message, status);

const AccessResponse = z.object({ access: ServerAccess });

/** The servers assigned to this runner now (id, kind, when each last changed). */
export async function fetchAssignedServers(edge: EdgeCaller): Promise<AssignedServer[]> {
  const body = await callEdge(
    edge,
    { method: 'GET', path: '/api/runners/servers', what: 'the assigned servers' },
    serverAccessError,
  );
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
  const body = await callEdge(
    edge,
    { method: 'GET', path, what: `the access of server ${serverId}` },
    serverAccessError,
  );
  const parsed = AccessResponse.safeParse(body);
  // zod's issues may quote what they refused: none of them goes into the message.
  if (!parsed.success)
    throw new ServerAccessError('invalid', `the edge answered an unreadable access for ${serverId}`);
  if (parsed.data.access.id !== serverId) {
    throw new ServerAccessError('invalid', `the edge answered the access of another server than ${serverId}`);
  }
  return parsed.data.access;
}
