import type { ServerAccess } from '@keel/contract/servers';
import { ServerResources } from '@keel/contract/servers';
import type { Redis } from 'ioredis';
import { recorder } from '../metrics/recorder.ts';
import type { AssignedServer, ServerAccessPurpose } from './access.ts';
import { failureCode, PROBE_TIMEOUT_MS, type ServerProbes, within } from './probes.ts';

/** How often the assigned servers' resources are collected. */
export const RESOURCES_INTERVAL_MS = 30_000;
/** The figures vanish this long after the last collection: a dead runner's are not shown as live. */
export const RESOURCES_TTL_SECONDS = 180;

export interface ResourceCollection {
  redis: Redis;
  /** The hash server id → ServerResources JSON (contract keys: serverResources). */
  key: string;
  runnerId: string;
  image: string;
  /** The assigned servers now (the same list the server drivers follow). */
  assigned(): Promise<AssignedServer[]>;
  access(serverId: string, purpose: ServerAccessPurpose): Promise<ServerAccess>;
  probes: ServerProbes;
  timeoutMs?: number;
}

/**
 * One round: each assigned server's figures (or why there are none) into the hash, the
 * fields of servers no longer assigned out of it, and the hash's lifetime renewed. When the
 * list itself cannot be had, nothing is written and the figures age out.
 */
export async function collectServerResources(o: ResourceCollection): Promise<void> {
  const servers = await o.assigned();
  if (servers.length === 0) {
    await o.redis.del(o.key);
    return;
  }
  const figures = await Promise.all(servers.map(async (s) => [s.id, JSON.stringify(await collectOne(o, s))]));
  const listed = new Set(servers.map((s) => s.id));
  const gone = (await o.redis.hkeys(o.key)).filter((id) => !listed.has(id));
  const tx = o.redis.multi().hset(o.key, Object.fromEntries(figures));
  if (gone.length) tx.hdel(o.key, ...gone);
  await tx.expire(o.key, RESOURCES_TTL_SECONDS).exec();
}

/** One server's figures, its connection counted (keel_runner_connection_tests_total, check `resources`). */
async function collectOne(o: ResourceCollection, server: AssignedServer): Promise<ServerResources> {
  const figures = await collectFigures(o, server);
  recorder().serverChecked({ check: 'resources', kind: server.kind, ok: figures.ok, code: figures.code });
  return figures;
}

async function collectFigures(o: ResourceCollection, server: AssignedServer): Promise<ServerResources> {
  const timeoutMs = o.timeoutMs ?? PROBE_TIMEOUT_MS;
  try {
    const collected = await within(
      (async () => {
        const access = await o.access(server.id, 'resources');
        return o.probes.collect(access, { image: o.image, timeoutMs, runnerId: o.runnerId });
      })(),
      // The probe has its own limit; this one catches a probe that ignores it.
      timeoutMs + 2_000,
      `collecting the resources of ${server.id}`,
    );
    const checked = ServerResources.safeParse(collected);
    return checked.success ? checked.data : failed('internal');
  } catch (err) {
    return failed(failureCode(err));
  }
}

function failed(code: ServerResources['code']): ServerResources {
  return {
    at: new Date().toISOString(),
    ok: false,
    ...(code ? { code } : {}),
    cpus: 0,
    memoryMb: 0,
    memoryFreeMb: null,
    disk: null,
    gpus: 0,
    workspacesRunning: 0,
  };
}
