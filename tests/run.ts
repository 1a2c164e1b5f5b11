/**
 * Runs every test file under Node's test runner against one Redis and one PostgreSQL
 * started here for the whole run, then prints one closing line: "N passed, N failed".
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

const redis = await startRedisServer();
const pg = await startPostgresServer();
const tmp = join(root, '.tmp');
mkdirSync(tmp, { recursive: true });
// One file per run: several partial runs may share a checkout at once.
const tapFile = join(tmp, `tests-${process.pid}.tap`);
rmSync(tapFile, { force: true });

// The web app's unit tests are pure modules (no servers, no DOM): one process runs them all,
// instead of a Node start per file (measured: 22 s → 2 s for 46 files).
const webUnit = files.filter((f) => f.startsWith('web/src/'));
const webEntry = join(tmp, `web-unit-${process.pid}.test.ts`);
if (webUnit.length > 0)
  writeFileSync(webEntry, webUnit.map((f) => `import ${JSON.stringify(join(root, f))};\n`).join(''));
const runFiles = [
  ...(webUnit.length > 0 ? [relative(root, webEntry)] : []),
  ...files.filter((f) => !f.startsWith('web/src/')),
];

const started = Date.now();
const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      // One file at a time: several suites drive the same Docker engine and Chromium, and on two
      // cores their timing checks should not compete with each other.
      '--test-concurrency=1',
      '--test-timeout=300000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...runFiles,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, KEEL_TEST_REDIS_URL: redis.url, KEEL_TEST_PG_URL: pg.url },
    },
  );
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

await Promise.allSettled([redis.stop(), pg.stop()]);

const tap = readFileSync(tapFile, 'utf8');
rmSync(tapFile, { force: true });
rmSync(webEntry, { force: true });
const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code !== 0 || failed > 0 || passed === 0 ? 1 : 0);
