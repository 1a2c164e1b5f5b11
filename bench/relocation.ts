import { startFleetRunners } from '../tests/harness/fleet-runners.ts';
import { waitFor } from '../tests/harness/ports.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { round, summarize } from './stats.ts';

const N = count(3, 1);
/** The lost deadline the bench runs with (the install's default is RUNNER_LOST_AFTER_SECONDS). */
const LOST_AFTER_SECONDS = 5;

/**
 * Relocation: from `kill -9` of the runner that holds a running, snapshotted workspace to that
 * workspace `running` on another runner with its snapshot's files, on three runner processes
 * (process driver) sharing one snapshot folder. Baseline, in the same run on the same fleet:
 * a plain create → running of the same workspace (empty, default resources).
 */
export async function benchRelocation(): Promise<Figure[]> {
  const fleet = await startFleetRunners({
    kinds: ['process', 'process', 'process'],
    lostAfterSeconds: LOST_AFTER_SECONDS,
  });
  const plain: number[] = [];
  const moved: number[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      const id = await fleet.createWorkspace(`plain-${i}`);
      await fleet.waitForStatus(id, 'running');
      plain.push(performance.now() - t);
      await fleet.api('DELETE', `/api/workspaces/${id}`);
    }
    for (let i = 0; i < N; i++) {
      const victim = fleet.runners[i % fleet.runners.length]!;
      const id = await fleet.onlyOn(victim, () => fleet.createWorkspace(`moved-${i}`));
      await fleet.waitForStatus(id, 'running');
      await fleet.writeFile(id, 'kept.txt', `round ${i}\n`);
      await fleet.snapshotNow(id);
      const t = performance.now();
      await victim.kill();
      await waitFor(
        `${id} running elsewhere`,
        async () => {
          const w = await fleet.workspace(id);
          return w.runnerId !== victim.id && w.status === 'running' ? true : undefined;
        },
        120_000,
        50,
      );
      moved.push(performance.now() - t);
      if ((await fleet.readFile(id, 'kept.txt')) !== `round ${i}\n`)
        throw new Error('the files did not come along');
      await victim.start();
      await fleet.api('DELETE', `/api/workspaces/${id}`);
    }
  } finally {
    await fleet.close();
  }
  const m = summarize(moved);
  const p = summarize(plain);
  const seconds = (ms: number) => `${round(ms / 1000, 1)} s`;
  return [
    {
      name: `relocation: kill -9 → running elsewhere with its snapshot’s files (lost after ${LOST_AFTER_SECONDS} s; p50 of ${N})`,
      keel: seconds(m.p50),
      baseline: `${seconds(p.p50)} (create → running)`,
      ratio: `${round(m.p50 / p.p50, 1)}×`,
      target: '≤ 60 s',
      pass: m.p50 <= 60_000,
    },
  ];
}
