/**
 * The workspace list's answer, and the list answered from memory without waiting.
 *
 * Why a path of its own (`listFromMemory`): the list is the request the web app makes most, and
 * once its session, limits, plan and list are in this process's memory (kept true by Redis's
 * CLIENT TRACKING: services.reads) the route's general path still went through fourteen async
 * steps, each a promise and a turn of the microtask queue. Measured with bench/workspace-list.ts
 * (edge CPU per request from /proc, and in process with no sockets), those turns and what they
 * allocate were about a fifth of the edge's work per request: see docs/PERFORMANCE.md, "Workspace
 * list against a bare Hono hello". Each step here is the synchronous half of the general path's
 * own (the same checks, in the same modules); whatever is not in memory, and every refusal, is
 * left to the general path, which makes the same decision as before. Only the request count is
 * kept if taken here, so the general path never counts a request twice.
 */
import { workspaceRoutes as routes } from '@keel/contract/api/workspaces';
import type { Workspace } from '@keel/contract/workspaces';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import {
  accessFromMemory,
  replySerialized,
  type SerializedBody,
  serializeBody,
} from '../http/described-routes.ts';
import { confirmSessionFromMemory, verifiedCallerFromMemory } from '../middleware/authenticate.ts';
import { countFromLeases } from '../middleware/rate-limits.ts';
import { canSeeAll, liveStatusesFrom } from './access.ts';
import { alongsideReads, listScope, rememberedAlongside } from './cache.ts';

/**
 * The list's answer, serialized: the last one made from the same remembered list (see
 * cachedAlongside) and the same live statuses is given again, since most requests repeat it.
 */
const listAnswers = new WeakMap<
  Workspace[],
  { statuses: Array<string | null>; body: SerializedBody<{ workspaces: Workspace[] }> }
>();

export function listAnswer(views: Workspace[], statuses: Array<string | null>) {
  const last = listAnswers.get(views);
  if (last && last.statuses.length === statuses.length && last.statuses.every((v, i) => v === statuses[i]))
    return last.body;
  const live = liveStatusesFrom(views, statuses);
  const body = serializeBody({
    workspaces: views.map((w) => {
      const l = live.get(w.id);
      return l ? { ...w, status: l.status, statusReason: l.reason, updatedAt: l.at } : w;
    }),
  });
  listAnswers.set(views, { statuses, body });
  return body;
}

/**
 * `GET /api/workspaces` answered from this process's memory: a token verified here before, a
 * session entry held and opened before, a count from this edge's leases, a permission the
 * principal's role holds, and a remembered list whose version and live statuses are held.
 * Undefined when any of them is not so: the route's general path then answers.
 */
export function listFromMemory(c: Context<AppEnv>): Response | undefined {
  const services = c.get('services');
  const caller = verifiedCallerFromMemory(c);
  if (!caller) return undefined;
  const scope = listScope(caller.organizationId);
  const early = alongsideReads(services, scope, ['all', caller.userId]);
  const values = confirmSessionFromMemory(c, caller, early);
  if (!values || !countFromLeases(c, caller)) return undefined;
  const p = c.get('principal');
  if (!accessFromMemory(p, routes.listWorkspaces.access)) return undefined;
  const list = rememberedAlongside<Workspace[]>(services, scope, canSeeAll(p) ? 'all' : p.userId, (key) => {
    const i = early.indexOf(key);
    return i < 0 ? undefined : values[i];
  });
  if (!list) return undefined;
  return replySerialized(c, routes.listWorkspaces, 200, listAnswer(list.value, list.alongside));
}
