/**
 * The edge image (edge.Dockerfile, built by scripts/build-edge-image as an operator would): it
 * starts against a real PostgreSQL (migrating it) and Redis, with its secrets from mounted files,
 * answers /healthz and /readyz, and serves the web app. A rebuild reuses Docker's layer cache;
 * a cold build (no cache) measured about 2.5 min here, so CI pays that once per engine.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { testInfra } from '../harness/infra.ts';
import { freePort, waitFor } from '../harness/ports.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const image = `keel-edge:test-${process.pid}`;
const container = `keel-edge-test-${process.pid}`;
const secrets = mkdtempSync(join(tmpdir(), 'keel-edge-secrets-'));
let base = '';

before(
  async () => {
    const started = Date.now();
    await run('scripts/build-edge-image', [], {
      env: { ...process.env, KEEL_EDGE_IMAGE: image },
      maxBuffer: 64 * 1024 * 1024,
    });
    console.error(`edge image built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const infra = await testInfra();
    // The container's user (uid 1000) reads the files, as Compose mounts them.
    chmodSync(secrets, 0o755);
    const file = (name: string, content: string) => {
      writeFileSync(join(secrets, name), `${content}\n`, { mode: 0o644 });
      return `/run/secrets/${name}`;
    };
    const port = await freePort();
    // The engine here has no bridge network: the container shares the host's, as the runner check does.
    execFileSync('docker', [
      'run',
      '-d',
      '--name',
      container,
      '--network',
      'host',
      '-v',
      `${secrets}:/run/secrets:ro`,
      '-e',
      `PORT=${port}`,
      '-e',
      'HOST=127.0.0.1',
      '-e',
      'KEEL_MIGRATE_ON_START=true',
      '-e',
      `DATABASE_URL_FILE=${file('database_url', await infra.createPostgresDatabase())}`,
      '-e',
      `REDIS_URL_FILE=${file('redis_url', infra.redisUrl)}`,
      '-e',
      `KEEL_SECRET_KEY_FILE=${file('keel_secret_key', Buffer.alloc(32, 9).toString('base64'))}`,
      image,
    ]);
    base = `http://127.0.0.1:${port}`;
  },
  { timeout: 600_000 },
);

after(() => {
  if (process.env.KEEL_KEEP_FAILED !== '1') {
    try {
      execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
    } catch {}
  }
  // The tag only: the layers stay cached for the next build.
  try {
    execFileSync('docker', ['rmi', image], { stdio: 'ignore' });
  } catch {}
  rmSync(secrets, { recursive: true, force: true });
});

const logs = () => {
  try {
    return execFileSync('docker', ['logs', '--tail', '40', container], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    return String(err);
  }
};

describe('the edge image', () => {
  it('answers /healthz and, once PostgreSQL is migrated and Redis reached, /readyz', async () => {
    const health = await waitFor(
      'the container to answer /healthz',
      async () => {
        const r = await fetch(`${base}/healthz`).catch(() => undefined);
        return r?.status === 200 ? r.json() : undefined;
      },
      60_000,
      250,
    ).catch((err) => assert.fail(`${err}\n${logs()}`));
    assert.deepEqual(health, { status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    const body = (await ready.json()) as { status: string; checks: Record<string, string> };
    assert.equal(ready.status, 200, `${JSON.stringify(body)}\n${logs()}`);
    assert.equal(body.status, 'ready');
  });

  it('serves the web app built into the image, and refuses API misuse with the error body', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
    const bad = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"email":1}',
    });
    assert.equal(bad.status, 422);
    const err = (await bad.json()) as { error: { code: string; requestId: string } };
    assert.ok(err.error.code && err.error.requestId);
  });

  it('runs unprivileged', () => {
    const user = execFileSync('docker', ['exec', container, 'id', '-u'], { encoding: 'utf8' }).trim();
    assert.equal(user, '1000');
  });

  it('carries the dependency patches (postgres.js survives a database going away mid-transaction)', () => {
    const line = readFileSync(join(root, 'patches/postgres+3.4.9.patch'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('+    // '))!
      .slice(1)
      .trim();
    for (const file of ['cjs/src/connection.js', 'src/connection.js']) {
      const text = execFileSync(
        'docker',
        ['exec', container, 'cat', `/opt/keel/node_modules/postgres/${file}`],
        {
          encoding: 'utf8',
        },
      );
      assert.ok(text.includes(line), `${file} is not patched`);
    }
  });
});
