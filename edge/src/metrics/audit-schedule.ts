import { auditHeads } from '@keel/drizzle/schema';
import { INSTALL_CHAIN, verifyAuditChain } from '../audit/audit-log.ts';
import type { Services } from '../services.ts';
import type { EdgeMetricSet } from './prom-recorder.ts';

/** The `organization` label of the install's own chain. */
export const INSTALL_LABEL = 'install';

const lockKey = (s: Services) => `${s.config.redisPrefix}metrics:audit-verify:lock`;
/** Hash: chain's label → `{"ok":0|1,"at":unix seconds}`, the last verdicts, read by every edge's scrape. */
const verdictsKey = (s: Services) => `${s.config.redisPrefix}metrics:audit-verify`;

/**
 * Verifies every audit chain (those with a sealed head) and keeps the verdicts in Redis, when no
 * other edge did within the interval: the lock is taken with SET NX for the interval, so of
 * several edges one verifies per interval, whichever comes first. Returns whether it ran.
 */
export async function verifyChainsOnce(services: Services, intervalSeconds: number): Promise<boolean> {
  const redis = services.redis();
  const token = crypto.randomUUID();
  const taken = await redis.set(lockKey(services), token, 'EX', Math.max(1, intervalSeconds - 1), 'NX');
  if (taken !== 'OK') return false;
  const chains = await services.db.select({ chain: auditHeads.chain }).from(auditHeads).limit(100_000);
  const verdicts: Record<string, string> = {};
  for (const { chain } of chains) {
    let ok = false;
    try {
      ok = (await verifyAuditChain(services, chain)).ok;
    } catch (err) {
      console.error(
        JSON.stringify({ level: 'error', msg: 'audit chain check failed', chain, error: String(err) }),
      );
    }
    const at = Math.floor(services.clock.now().getTime() / 1000);
    verdicts[chain === INSTALL_CHAIN ? INSTALL_LABEL : chain] = JSON.stringify({ ok: ok ? 1 : 0, at });
    if (!ok) console.error(JSON.stringify({ level: 'error', msg: 'audit chain broken', chain }));
  }
  const multi = redis.multi().del(verdictsKey(services));
  if (chains.length > 0) multi.hset(verdictsKey(services), verdicts);
  await multi.exec();
  return true;
}

/** Exports the last verdicts (whichever edge made them) at scrape time. */
export async function collectAuditVerdicts(services: Services, metrics: EdgeMetricSet): Promise<void> {
  const raw = await services.redis().hgetall(verdictsKey(services));
  metrics.auditVerified.reset();
  metrics.auditLastCheck.reset();
  for (const [label, value] of Object.entries(raw)) {
    try {
      const v = JSON.parse(value) as { ok: number; at: number };
      metrics.auditVerified.labels(label).set(v.ok === 1 ? 1 : 0);
      metrics.auditLastCheck.labels(label).set(Number(v.at) || 0);
    } catch {
      // Not ours: skipped.
    }
  }
}

/** The last scheduled verdict on one chain (`chainOf(organizationId)`), whichever edge made it; null: none yet. */
export async function auditVerdictOf(
  services: Services,
  chain: string,
): Promise<{ ok: boolean; checkedAt: string } | null> {
  const label = chain === INSTALL_CHAIN ? INSTALL_LABEL : chain;
  const raw = await services.redis().hget(verdictsKey(services), label);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { ok: number; at: number };
    const at = Number(v.at);
    if (!Number.isFinite(at)) return null;
    return { ok: v.ok === 1, checkedAt: new Date(at * 1000).toISOString() };
  } catch {
    return null;
  }
}

/**
 * Every `intervalSeconds` (and shortly after start), this edge tries to be the one that verifies.
 * Node only: workerd has no timers that outlive a request. Returns a stop function.
 */
export function scheduleAuditVerification(services: Services, intervalSeconds: number): () => void {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    verifyChainsOnce(services, intervalSeconds)
      .catch((err: unknown) =>
        console.error(
          JSON.stringify({ level: 'warn', msg: 'audit verification not run', error: String(err) }),
        ),
      )
      .finally(() => {
        running = false;
      });
  };
  const first = setTimeout(tick, Math.min(5_000, intervalSeconds * 1000));
  const every = setInterval(tick, intervalSeconds * 1000);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
