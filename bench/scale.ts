/**
 * `KEEL_BENCH_SMOKE=1`: the benches that take their counts from here run small, to check that
 * they work end to end. Such figures say nothing, so bench/run writes no document for them.
 */
export const smokeRun = process.env.KEEL_BENCH_SMOKE === '1';

export const count = (full: number, smoke: number): number => (smokeRun ? smoke : full);
