import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * What one scale-test run does, from its command line. Sizes follow Coder's published row
 * (500 people, 20 builds at once, 40 KB/s per terminal); a ramp grows N step by step until a
 * limit breaks.
 */
export const ScaleOptions = z.object({
  /** People, workspaces and terminals (one of each per person). */
  people: z.coerce.number().int().min(1).max(5_000),
  /** Workspaces started at once. */
  concurrency: z.coerce.number().int().min(1).max(500),
  /** How long the load runs, in seconds. */
  seconds: z.coerce
    .number()
    .min(5)
    .max(24 * 3600),
  /** Bytes per second each terminal writes (and so reads back). */
  rate: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024 * 1024),
  /** IDE-like clients (list, read, write, run), each on its own person's workspace. */
  /** Unset in a ramp without --ide: one per person at each step. */
  ideClients: z.coerce.number().int().min(0).max(5_000).optional(),
  /** Pause between one IDE client's operations, in ms. */
  ideIntervalMs: z.coerce.number().int().min(0).max(60_000),
  driver: z.enum(['process', 'docker']),
  /** A running Keel to test; without it the test starts its own. */
  url: z.url().optional(),
  /** An administrator's token (members:manage) for `url`. */
  adminToken: z.string().min(1).optional(),
  /** N for each step of a ramp; empty: one run at `people`. */
  ramp: z.array(z.number().int().min(1).max(5_000)),
  /** Processes to watch when testing by URL: role=pid. */
  pids: z.record(z.string(), z.number().int().positive()),
  /** What each workspace asks for (CPUs, MiB). */
  workspaceCpus: z.coerce.number().positive().max(64),
  workspaceMemoryMb: z.coerce.number().int().min(128),
  /** The p99 echo a step may reach and still hold (ms). */
  maxEchoP99Ms: z.coerce.number().positive(),
  /** Write the JSON result here as well as to stdout. */
  json: z.string().optional(),
});
export type ScaleOptions = z.infer<typeof ScaleOptions>;

export const DEFAULTS = {
  people: 20,
  concurrency: 20,
  seconds: 60,
  rate: 40 * 1024,
  ideIntervalMs: 1_000,
  driver: 'process',
} as const;

export const USAGE = `bench/scale/run [options]
  --people N         people, workspaces and terminals (default ${DEFAULTS.people})
  --concurrency C    workspaces started at once (default ${DEFAULTS.concurrency})
  --minutes T        load time in minutes (or --seconds S; default 1 minute)
  --rate BYTES       bytes per second each terminal writes and reads back (default 40960)
  --ide N            IDE-like clients (default: one per person; in a ramp, at most N a step)
  --ide-interval MS  pause between an IDE client's operations (default 1000)
  --driver D         process (default) or docker, for a system this starts
  --url URL          test a running Keel instead of starting one (needs --admin-token)
  --admin-token T    an administrator's access token for --url
  --pid ROLE=PID     a process to measure (edge, runner, redis, postgres), repeatable, with --url
  --ramp 5,10,20     run N for each step until a limit breaks (largest N that held is reported)
  --workspace-cpus X     CPUs each workspace asks for (default 0.25)
  --workspace-memory MB  memory each workspace asks for (default 256)
  --max-echo-p99 MS  the p99 echo a step may reach and hold (default 100)
  --json FILE        also write the JSON result to FILE`;

export function parseScaleOptions(argv: string[]): ScaleOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      people: { type: 'string' },
      concurrency: { type: 'string' },
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string' },
      ide: { type: 'string' },
      'ide-interval': { type: 'string' },
      driver: { type: 'string' },
      url: { type: 'string' },
      'admin-token': { type: 'string' },
      pid: { type: 'string', multiple: true },
      ramp: { type: 'string' },
      json: { type: 'string' },
      'max-echo-p99': { type: 'string' },
      'workspace-cpus': { type: 'string' },
      'workspace-memory': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const people = values.people ?? DEFAULTS.people;
  const seconds = values.seconds ?? (values.minutes ? Number(values.minutes) * 60 : DEFAULTS.seconds);
  const pids: Record<string, number> = {};
  for (const pair of values.pid ?? []) {
    const [role, pid] = pair.split('=');
    if (!role || !pid) throw new Error(`--pid wants ROLE=PID, got ${pair}`);
    pids[role] = Number(pid);
  }
  const options = ScaleOptions.parse({
    people,
    concurrency: values.concurrency ?? DEFAULTS.concurrency,
    seconds,
    rate: values.rate ?? DEFAULTS.rate,
    ideClients: values.ide ?? (values.ramp ? undefined : people),
    ideIntervalMs: values['ide-interval'] ?? DEFAULTS.ideIntervalMs,
    driver: values.driver ?? DEFAULTS.driver,
    url: values.url,
    adminToken: values['admin-token'],
    ramp: values.ramp ? values.ramp.split(',').map(Number) : [],
    pids,
    json: values.json,
    maxEchoP99Ms: values['max-echo-p99'] ?? 100,
    workspaceCpus: values['workspace-cpus'] ?? 0.25,
    workspaceMemoryMb: values['workspace-memory'] ?? 256,
  });
  if (options.url && !options.adminToken) throw new Error('--url needs --admin-token');
  return options;
}
