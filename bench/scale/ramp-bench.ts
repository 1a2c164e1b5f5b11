import { z } from 'zod';
import type { Figure } from '../figure.ts';
import { writeScaleRamp } from '../performance-doc.ts';
import { runContext } from '../run-context.ts';
import { smokeRun } from '../scale.ts';
import { rampTable } from './report.ts';
import { runRamp } from './scaletest.ts';
import { startOwnSystem } from './system.ts';

const root = new URL('../..', import.meta.url).pathname;
/** Coder's published row for one 2-core, 4 GB control plane: what the ramp is measured against. */
const CODER_ROW = 500;

/** The ramp's sizes, overridable for a machine that breaks early or holds far past them. */
const RampEnv = z.object({
  KEEL_SCALE_STEPS: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .default('25,50,100,150,200,300,400,500,600,800'),
  KEEL_SCALE_SECONDS: z.coerce.number().min(5).default(120),
  KEEL_SCALE_CONCURRENCY: z.coerce.number().int().min(1).default(20),
  KEEL_SCALE_DRIVER: z.enum(['process', 'docker']).default('process'),
});

/**
 * `bench/run scale`: the scale ramp on a Keel of its own (edge, runner, Redis and PostgreSQL on
 * this host), N growing until a limit breaks. A full ramp rewrites its part of docs/PERFORMANCE.md.
 */
export async function benchScaleRamp(): Promise<Figure[]> {
  const env = RampEnv.parse(process.env);
  const steps = smokeRun ? [3] : env.KEEL_SCALE_STEPS.split(',').map(Number);
  const seconds = smokeRun ? 15 : env.KEEL_SCALE_SECONDS;
  const sys = await startOwnSystem(env.KEEL_SCALE_DRIVER);
  let ramp: Awaited<ReturnType<typeof runRamp>>;
  try {
    ramp = await runRamp(
      sys.target,
      steps,
      { concurrency: env.KEEL_SCALE_CONCURRENCY, seconds, rate: 40 * 1024, ideIntervalMs: 1_000 },
      (line) => console.error(line),
    );
  } finally {
    await sys.stop();
  }
  const table = rampTable(ramp);
  console.error(table);
  if (!smokeRun) {
    writeScaleRamp(
      `${root}docs/PERFORMANCE.md`,
      `Measured by \`bench/run scale\` ${runContext(root)}; ${env.KEEL_SCALE_DRIVER} driver, ${seconds} s per step, workspaces ${env.KEEL_SCALE_CONCURRENCY} at a time, 40 KB/s per terminal.\n\n${table}`,
    );
  }
  return [
    {
      name: `scale: largest N that held (terminals at 40 KB/s, ${env.KEEL_SCALE_DRIVER} driver, ${seconds} s per step)`,
      keel: `${ramp.largestHeld}${ramp.brokeAt ? ` (N=${ramp.brokeAt.people}: ${ramp.brokeAt.broke.join('; ')})` : ''}`,
      baseline: `${CODER_ROW} (Coder, 2-core 4 GB control plane)`,
      ratio: `${Math.round((ramp.largestHeld / CODER_ROW) * 100) / 100}×`,
      target: `≥ ${CODER_ROW}`,
      pass: smokeRun ? null : ramp.largestHeld >= CODER_ROW,
    },
  ];
}
