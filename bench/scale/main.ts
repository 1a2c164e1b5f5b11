/**
 * The scale test's command line (run it with `bench/scale/run`): starts its own Keel, or tests one
 * by URL, runs one step or a ramp, and prints the JSON result (stdout) and a table (stderr).
 */
import { writeFileSync } from 'node:fs';
import { ApiClient } from './api.ts';
import { parseScaleOptions } from './options.ts';
import { rampTable } from './report.ts';
import { LIMITS, runRamp, type ScaleTarget } from './scaletest.ts';
import { startOwnSystem, watchedFor } from './system.ts';

const options = parseScaleOptions(process.argv.slice(2));
const log = (line: string) => console.error(line);

let target: ScaleTarget;
let stop = async () => {};
if (options.url) {
  const watched = Object.entries(options.pids).map(([role, pid]) => ({ role, pid, tree: role !== 'runner' }));
  // An edge on this host is found by its port when no pid was given.
  if (!options.pids.edge && /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(options.url))
    watched.unshift(...watchedFor({ edge: options.url }));
  target = { base: options.url, admin: new ApiClient(options.url, options.adminToken!), watched };
} else {
  log(`scale: starting Keel (${options.driver} driver)…`);
  const own = await startOwnSystem(options.driver);
  target = own.target;
  stop = own.stop;
}

// Interrupted: the system this started goes with it.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void stop().finally(() => process.exit(130));
  });

let exitCode = 1;
try {
  const steps = options.ramp.length > 0 ? options.ramp : [options.people];
  const ramp = await runRamp(
    target,
    steps,
    {
      concurrency: options.concurrency,
      seconds: options.seconds,
      rate: options.rate,
      ideIntervalMs: options.ideIntervalMs,
      limits: { ...LIMITS, echoP99Ms: options.maxEchoP99Ms },
      workspace: { cpus: options.workspaceCpus, memoryMb: options.workspaceMemoryMb },
      ...(options.ideClients === undefined ? {} : { ideClients: options.ideClients }),
    },
    log,
  );
  const json = JSON.stringify({ driver: options.url ? 'by URL' : options.driver, ...ramp }, null, 2);
  console.log(json);
  if (options.json) writeFileSync(options.json, json);
  log(rampTable(ramp));
  exitCode = ramp.largestHeld > 0 ? 0 : 1;
} finally {
  await stop();
}
process.exit(exitCode);
