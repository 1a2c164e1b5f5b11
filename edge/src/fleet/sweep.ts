/**
 * The fleet's sweep (see contract/fleet): runs inside runners' check-ins, at most one at a time
 * across every edge. Declares runners lost, moves their workspaces, places queued workspaces,
 * kicks drains along and asks for scheduled snapshots.
 */
import { randomToken } from '../auth/bytes.ts';
import { placeQueued } from '../placement/queued.ts';
import type { Services } from '../services.ts';
import { requestScheduledSnapshots } from '../snapshots/request.ts';
import { kickDrains } from './drain.ts';
import { snapshotScheduleRecentKey, sweepLockKey, sweepRecentKey } from './keys.ts';
import { markLostRunners, relocateFromLost } from './lost.ts';

/** Long enough for one bounded sweep; a crashed edge's lock frees itself after it. */
const LOCK_MS = 15_000;
/** Check-ins from every runner sweep at most this often between them. */
const MIN_INTERVAL_MS = 1_000;
/** Workspaces moved off lost runners in one sweep; the next sweep goes on. */
const RELOCATIONS_PER_SWEEP = 20;
/**
 * Scheduled snapshots are asked for at most this often: the scan reads up to thousands of
 * workspaces, and a schedule counted in minutes gains nothing from a scan every second.
 */
const SNAPSHOT_SCHEDULE_MS = 30_000;
/** Drain moves started in one sweep. */
const DRAIN_MOVES_PER_SWEEP = 10;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

async function step(name: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (err) {
    // One step's failure must not stop the others, nor ever reach the check-in.
    console.error(`keel-edge: fleet sweep, ${name}:`, err);
  }
}

export async function sweepFleet(services: Services): Promise<void> {
  try {
    const redis = services.redis();
    if ((await redis.set(sweepRecentKey(services), '1', 'PX', MIN_INTERVAL_MS, 'NX')) !== 'OK') return;
    const token = randomToken('swp');
    if ((await redis.set(sweepLockKey(services), token, 'PX', LOCK_MS, 'NX')) !== 'OK') return;
    try {
      await step('lost runners', async () => {
        const lost = await markLostRunners(services, services.config.runnerLostAfterSeconds);
        await relocateFromLost(services, lost, RELOCATIONS_PER_SWEEP);
      });
      await step('queued workspaces', () => placeQueued(services));
      await step('scheduled snapshots', async () => {
        if (
          (await redis.set(snapshotScheduleRecentKey(services), '1', 'PX', SNAPSHOT_SCHEDULE_MS, 'NX')) ===
          'OK'
        )
          await requestScheduledSnapshots(services);
      });
      await step('drains', () => kickDrains(services, DRAIN_MOVES_PER_SWEEP));
    } finally {
      await redis.eval(RELEASE, 1, sweepLockKey(services), token);
    }
  } catch (err) {
    console.error('keel-edge: fleet sweep:', err);
  }
}
