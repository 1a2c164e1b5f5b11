/**
 * Runs every test file under Node's test runner against Redis and PostgreSQL started here for
 * the whole run, then prints one closing line: "N passed, N failed".
 * Arguments narrow the run to files whose path contains any of them.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startPostgresServer } from './harness/postgres-server.ts';
import { startRedisServer } from './harness/redis-server.ts';

const root = new URL('..', import.meta.url).pathname;
const ROOTS = ['tests', 'web/src', 'runners', 'edge'];

function findTests(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = ROOTS.flatMap((r) => findTests(join(root, r), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

/**
 * Two lanes at once, each one file at a time. The second lane takes suites that mostly wait on
 * whole systems and other programs over loopback: the browser suites (tests/e2e, each starting
 * its own system with `scripts/up` and driving Chromium), the scripts' suites (which start systems
 * too), and those against Prometheus, Alertmanager, slapd and OpenID providers; the first lane
 * takes the rest. Suites that read or change the host's network interfaces (drivers, the
 * Kubernetes stand-in's pod network, the extra hosts in network namespaces) stay in the first
 * lane together: an address that comes and goes in one would change what the other expects.
 * Each lane has its own Redis; PostgreSQL is shared (every test makes databases of its own). The
 * second lane's report is printed after the first's, whole, so the two never interleave.
 * KEEL_TEST_LANES=1 runs everything in one lane, as before.
 */
const lanesWanted = process.env.KEEL_TEST_LANES === '1' ? 1 : 2;
const SECOND_LANE = [
  'tests/e2e/',
  'tests/scripts/',
  'tests/monitoring/',
  'tests/ldap/',
  'tests/sso/',
  // The IDE's suites: they use the process and Docker drivers but change no host interface.
  'tests/git/',
  'tests/search/',
  'tests/lsp/',
  // Deploy artefacts: image builds and renderers, over loopback only.
  'tests/deploy/',
  // workerd with its request path over the Upstash REST stand-in: programs over loopback only.
  'tests/runtime/workerd-upstash',
  // Redis and PostgreSQL restarts and failovers: their own servers on loopback ports.
  'tests/failover/',
  // The scale test's short run: a system of its own, driven over loopback.
  'tests/scale/',
  // The API fuzz (an edge and a process-driver runner without network) and the accounts,
  // sessions, tokens and members suites (in-process edges on PGlite or PostgreSQL, the lane's
  // Redis, an SMTP server on loopback): they touch no host interface.
  'tests/api/openapi-fuzz',
  'tests/api/auth.',
  'tests/account/',
  'tests/members/',
];
const inSecondLane = (f: string) => SECOND_LANE.some((dir) => f.startsWith(dir));
const pg = await startPostgresServer();
const tmp = join(root, '.tmp');
mkdirSync(tmp, { recursive: true });

// The web app's unit tests are pure modules (no servers, no DOM): one process runs them all,
// instead of a Node start per file (measured: 22 s → 2 s for 46 files). tests/unit likewise:
// small modules, a few against the lane's Redis, with no hooks or settings that outlive a file
// (measured: 24 s → 10 s for 22 files; in CI about 40 s of their 57 s were Node starts).
const ONE_PROCESS = [
  { dir: 'web/src/', name: 'web-unit' },
  { dir: 'tests/unit/', name: 'unit' },
];
const grouped = ONE_PROCESS.map(({ dir, name }) => ({
  files: files.filter((f) => f.startsWith(dir)),
  entry: join(tmp, `${name}-${process.pid}.test.ts`),
})).filter((g) => g.files.length > 0);
for (const g of grouped)
  writeFileSync(g.entry, g.files.map((f) => `import ${JSON.stringify(join(root, f))};\n`).join(''));
const rest = files.filter((f) => !ONE_PROCESS.some(({ dir }) => f.startsWith(dir)));
const main = [
  ...grouped.map((g) => relative(root, g.entry)),
  ...rest.filter((f) => lanesWanted === 1 || !inSecondLane(f)),
];
const second = lanesWanted === 1 ? [] : rest.filter(inSecondLane);

interface Lane {
  name: string;
  files: string[];
  /** Where its spec report goes; undefined: this process's stdout, as it runs. */
  reportFile?: string;
}
interface LaneResult {
  code: number;
  tap: string;
  report?: string;
}

async function runLane(lane: Lane): Promise<LaneResult> {
  const redis = await startRedisServer();
  // One file per run: several partial runs may share a checkout at once.
  const tapFile = join(tmp, `tests-${process.pid}-${lane.name}.tap`);
  rmSync(tapFile, { force: true });
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        // One file at a time within a lane: several suites drive the same Docker engine, and on
        // two cores their timing checks should not compete with each other.
        '--test-concurrency=1',
        '--test-timeout=300000',
        '--test-reporter=spec',
        `--test-reporter-destination=${lane.reportFile ?? 'stdout'}`,
        '--test-reporter=tap',
        `--test-reporter-destination=${tapFile}`,
        ...lane.files,
      ],
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, KEEL_TEST_REDIS_URL: redis.url, KEEL_TEST_PG_URL: pg.url },
      },
    );
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  await redis.stop().catch(() => undefined);
  const tap = readFileSync(tapFile, 'utf8');
  rmSync(tapFile, { force: true });
  const report = lane.reportFile ? readFileSync(lane.reportFile, 'utf8') : undefined;
  if (lane.reportFile) rmSync(lane.reportFile, { force: true });
  return { code, tap, ...(report === undefined ? {} : { report }) };
}

const started = Date.now();
const lanes: Lane[] = [
  ...(main.length > 0 ? [{ name: 'main', files: main }] : []),
  ...(second.length > 0
    ? [{ name: 'second', files: second, reportFile: join(tmp, `tests-${process.pid}-second.log`) }]
    : []),
];
const results = await Promise.all(lanes.map(runLane));
await pg.stop().catch(() => undefined);
for (const g of grouped) rmSync(g.entry, { force: true });

for (const [i, r] of results.entries()) {
  if (r.report === undefined) continue;
  console.log(`\n── ${lanes[i]!.name} lane (${lanes[i]!.files.length} files) ──`);
  process.stdout.write(r.report);
}
const count = (k: string) =>
  results.reduce((sum, r) => sum + Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(r.tap)?.[1] ?? 0), 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(results.some((r) => r.code !== 0) || failed > 0 || passed === 0 ? 1 : 0);
