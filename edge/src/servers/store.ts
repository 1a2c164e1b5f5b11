import type { DrainProgress } from '@keel/contract/fleet';
import { idSchema } from '@keel/contract/ids';
import { runnerKeys } from '@keel/contract/keys';
import {
  ConnectionTestResult,
  type ServerKind,
  ServerResources,
  type ServerStatus,
  type ServerStorage,
  type ServerView,
} from '@keel/contract/servers';
import { runners, servers, workspaces } from '@keel/drizzle/schema';
import { and, count, eq, inArray, isNull, or } from 'drizzle-orm';
import type { z } from 'zod';
import { drainProgresses } from '../fleet/drain.ts';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';
import { serves } from './assignment.ts';
import { endpointSchema } from './credential.ts';
import { sshFingerprint } from './host-key.ts';

export type ServerRow = typeof servers.$inferSelect;

/** The server, if it is this organization's; anything else (a bad id, another's) is the same 404. */
export async function loadServer(services: Services, organizationId: string, id: string): Promise<ServerRow> {
  if (!idSchema('server').safeParse(id).success) throw new ApiError('not_found', 'No such server');
  const [row] = await services.db
    .select()
    .from(servers)
    .where(and(eq(servers.id, id), eq(servers.organizationId, organizationId)))
    .limit(1);
  if (!row) throw new ApiError('not_found', 'No such server');
  return row;
}

/** Whether a database error is a unique-constraint violation (PostgreSQL and PGlite alike). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

export function nameTaken(name: string): ApiError {
  return new ApiError('conflict', `A server named "${name}" exists already in this organization`);
}

/** Workspaces (not deleted) on each server. */
export async function workspaceCounts(services: Services, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const rows = await services.db
    .select({ serverId: workspaces.serverId, n: count() })
    .from(workspaces)
    .where(and(inArray(workspaces.serverId, ids), isNull(workspaces.deletedAt)))
    .groupBy(workspaces.serverId);
  for (const r of rows) if (r.serverId) out.set(r.serverId, Number(r.n));
  return out;
}

/**
 * The resources each server's runners last reported: every runner that serves a server may
 * collect them (one by id, or all carrying its labels), so the freshest report wins. Read in
 * one round trip from the hash each runner keeps under its own keys.
 */
async function resourcesOf(
  services: Services,
  organizationId: string,
  rows: ServerRow[],
): Promise<Map<string, z.infer<typeof ServerResources>>> {
  const out = new Map<string, z.infer<typeof ServerResources>>();
  const assigned = rows.filter((r) => r.assignment);
  if (assigned.length === 0) return out;
  const active = await services.db
    .select({ id: runners.id, organizationId: runners.organizationId, labels: runners.labels })
    .from(runners)
    .where(
      and(
        or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
        isNull(runners.revokedAt),
      ),
    )
    .limit(1000);
  const asks = assigned.flatMap((s) =>
    active.filter((r) => serves(r, s)).map((r) => ({ serverId: s.id, runnerId: r.id })),
  );
  if (asks.length === 0) return out;
  const prefix = services.config.redisPrefix;
  const pipeline = services.redis().pipeline();
  for (const a of asks) pipeline.hget(runnerKeys(prefix, a.runnerId).serverResources, a.serverId);
  const answers = (await pipeline.exec()) ?? [];
  asks.forEach((a, i) => {
    const [err, raw] = answers[i] ?? [];
    if (err || typeof raw !== 'string') return;
    let parsed: ReturnType<typeof ServerResources.safeParse>;
    try {
      parsed = ServerResources.safeParse(JSON.parse(raw));
    } catch {
      return; // A malformed report counts as none.
    }
    if (!parsed.success) return;
    const seen = out.get(a.serverId);
    if (!seen || seen.at < parsed.data.at) out.set(a.serverId, parsed.data);
  });
  return out;
}

/** Views of an organization's servers, with their live resources and workspace counts. */
export async function serverViews(
  services: Services,
  organizationId: string,
  rows: ServerRow[],
): Promise<ServerView[]> {
  const [counts, resources, drains] = await Promise.all([
    workspaceCounts(
      services,
      rows.map((r) => r.id),
    ),
    resourcesOf(services, organizationId, rows),
    drainProgresses(services, 'server', rows),
  ]);
  return rows.map((r) => serverView(r, resources.get(r.id) ?? null, counts.get(r.id) ?? 0, drains.get(r.id)));
}

export async function oneServerView(services: Services, row: ServerRow): Promise<ServerView> {
  return (await serverViews(services, row.organizationId, [row]))[0]!;
}

/** The status people see: a disabled server says so whatever its last test found. */
export function statusOf(row: ServerRow): z.infer<typeof ServerStatus> {
  return row.disabled ? 'disabled' : (row.status as z.infer<typeof ServerStatus>);
}

/** What an admin sees of a server: never a secret, never a private key; the credential's fingerprint. */
export function serverView(
  row: ServerRow,
  resources: z.infer<typeof ServerResources> | null,
  workspaceCount: number,
  drain?: DrainProgress,
): ServerView {
  const kind = row.kind as ServerKind;
  const lastTest = row.lastTest ? ConnectionTestResult.safeParse(row.lastTest) : undefined;
  return {
    id: row.id,
    name: row.name,
    kind,
    labels: row.labels,
    region: row.region,
    capacity: row.capacity,
    storage: row.storage as ServerStorage,
    assignment: row.assignment ?? null,
    endpoint: endpointView(kind, row.endpoint),
    credential: {
      fingerprint: row.credentialFingerprint,
      updatedAt: row.credentialUpdatedAt.toISOString(),
    },
    status: statusOf(row),
    lastTest: lastTest?.success ? lastTest.data : null,
    resources,
    workspaces: workspaceCount,
    ...(drain ? { drain } : {}),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function endpointView(kind: ServerKind, stored: Record<string, unknown>): ServerView['endpoint'] {
  switch (kind) {
    case 'ssh': {
      const e = endpointSchema.ssh.parse(stored);
      return {
        host: e.host,
        port: e.port,
        user: e.user,
        hostKeyFingerprint: e.hostKey ? (sshFingerprint(e.hostKey) ?? null) : null,
      };
    }
    case 'docker-tls': {
      const e = endpointSchema['docker-tls'].parse(stored);
      return { host: e.host, port: e.port };
    }
    case 'kubernetes': {
      const e = endpointSchema.kubernetes.parse(stored);
      return { url: e.url, namespacePrefix: e.namespacePrefix };
    }
  }
}
