import { HEARTBEAT_TTL_SECONDS, type RunnerHeartbeat } from '@keel/contract/runners';
import { collectHeartbeat } from './heartbeat.ts';
import { log } from './log.ts';
import type { RunnerContext } from './runner-context.ts';
import { reconcile } from './workspaces/reconcile.ts';

/** A full beat: reconciles the workspaces with the engine, then publishes the runner's state. */
export async function publishHeartbeat(ctx: RunnerContext, gpus: RunnerHeartbeat['gpus']): Promise<void> {
  try {
    const running = await reconcile(ctx);
    const beat = await collectHeartbeat({
      runnerId: ctx.credential.runnerId,
      driver: ctx.driver.kind,
      dataDir: ctx.config.KEEL_RUNNER_DATA_DIR,
      workspacesRunning: running,
      gpus,
    });
    await ctx.redis.set(
      ctx.keys.heartbeat,
      JSON.stringify({ ...beat, ai: ctx.ai.status }),
      'EX',
      HEARTBEAT_TTL_SECONDS,
    );
  } catch (err) {
    log('warn', 'heartbeat failed', { error: String(err) });
  }
}

/** Keeps the last heartbeat alive between full beats; a missing one is left missing. */
export async function renewHeartbeat(ctx: RunnerContext): Promise<void> {
  try {
    await ctx.redis.pexpire(ctx.keys.heartbeat, HEARTBEAT_TTL_SECONDS * 1000);
  } catch (err) {
    log('warn', 'heartbeat renewal failed', { error: String(err) });
  }
}
