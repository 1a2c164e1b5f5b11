/*
 * Protocol negotiation at registration and check-in, against the real edge; and the real
 * runner, built to speak protocol 2.0 (its sources with only PROTOCOL changed), refused by it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROTOCOL } from '@keel/contract/protocol';
import { runners, runnerTokens } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { build, type Plugin } from 'esbuild';
import { runnerBuildOptions } from '../../runners/bundle.mjs';
import { EXIT_CODES } from '../../runners/src/exit-codes.ts';
import { type EdgeOnPort, edgeOnPort } from '../harness/edge-on-port.ts';
import { testInfra } from '../harness/infra.ts';
import { spawnService } from '../harness/processes.ts';

const root = new URL('../..', import.meta.url).pathname;
const NEWER_MINOR = `${PROTOCOL.major}.${PROTOCOL.minor + 1}`;
const OURS = `${PROTOCOL.major}.${PROTOCOL.minor}`;

/**
 * The runner as runners/bundle.mjs builds it, but speaking protocol 2.0: its sources with
 * only the PROTOCOL constant replaced.
 */
async function buildRunnerSpeaking2(outdir: string): Promise<string> {
  const protocolFile = join(root, 'edge/contract/src/protocol.ts');
  const original = `Object.freeze({ major: CONTRACT_VERSION, minor: ${PROTOCOL.minor} })`;
  const protocol2: Plugin = {
    name: 'protocol-2.0',
    setup(b) {
      b.onLoad({ filter: /contract\/src\/protocol\.ts$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        assert.equal(args.path, protocolFile);
        assert.ok(source.includes(original), 'PROTOCOL is where this build expects it');
        return { contents: source.replace(original, '{ major: 2, minor: 0 }'), loader: 'ts' };
      });
    },
  };
  await build({ ...runnerBuildOptions({ outdir, plugins: [protocol2] }), write: true });
  return join(outdir, 'keel-runner.mjs');
}

describe('runner protocol negotiation', () => {
  let edge: EdgeOnPort;
  before(async () => {
    edge = await edgeOnPort();
  });
  after(async () => {
    await edge?.close();
  });

  const newToken = async () =>
    (await edge.admin.request('POST', '/api/admin/runner-tokens', { maxUses: 1 }, { bearer: true })).body as {
      token: string;
      runnerToken: { id: string };
    };
  const register = (body: Record<string, unknown>) =>
    edge.http('/api/runners/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'proto',
        capacity: { workspaces: 1, cpus: 1, memoryMb: 512 },
        drivers: ['process'],
        ...body,
      }),
    });
  const checkIn = (credential: string, body: Record<string, unknown>) =>
    edge.http('/api/runners/check-in', {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const runnerRows = () => edge.app.services.db.select({ id: runners.id }).from(runners);
  const usesOf = async (id: string) =>
    (await edge.app.services.db.select().from(runnerTokens).where(eq(runnerTokens.id, id)))[0]!.uses;

  test('a runner speaking a newer minor is accepted at the minor the edge speaks', async () => {
    const { token } = await newToken();
    const res = await register({ token, protocol: NEWER_MINOR });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { protocol: string; credential: string };
    assert.equal(body.protocol, OURS);
    const again = await checkIn(body.credential, { drivers: ['process'], protocol: NEWER_MINOR });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { protocol: string }).protocol, OURS);
  });

  test('a runner that states no protocol is accepted as 1.0', async () => {
    const { token } = await newToken();
    const res = await register({ token });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { protocol: string; credential: string };
    assert.equal(body.protocol, '1.0');
    const again = await checkIn(body.credential, {});
    assert.equal(((await again.json()) as { protocol: string }).protocol, '1.0');
  });

  test('a runner speaking 2.0 is refused, saying what each side speaks, and nothing is registered', async () => {
    const before = (await runnerRows()).length;
    const { token, runnerToken } = await newToken();
    const res = await register({ token, protocol: '2.0' });
    assert.equal(res.status, 409);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    assert.equal(body.error.code, 'protocol_mismatch');
    assert.equal(body.error.message, `this edge speaks protocol 1.x (up to ${OURS}); the runner speaks 2.0`);
    assert.ok(body.error.requestId);
    assert.equal((await runnerRows()).length, before, 'no runner row');
    assert.equal(await usesOf(runnerToken.id), 0, 'the token use is not counted');
    // The same token still registers a runner that speaks this protocol.
    assert.equal((await register({ token, protocol: OURS })).status, 201);
  });

  test('a check-in speaking 2.0 is refused with the same error; a malformed version is a validation error', async () => {
    const { token } = await newToken();
    const { credential } = (await (await register({ token })).json()) as { credential: string };
    const refused = await checkIn(credential, { protocol: '2.0' });
    assert.equal(refused.status, 409);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'protocol_mismatch');
    const before = (await runnerRows()).length;
    const malformed = await register({ token: (await newToken()).token, protocol: '1.x' });
    assert.equal(malformed.status, 422);
    assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, 'validation_failed');
    assert.equal((await runnerRows()).length, before);
  });

  test('the real runner built to speak 2.0 is refused and exits with the cannot-run code, at registration and at check-in', async () => {
    const outdir = join(root, '.tmp', `runner-protocol-2-${process.pid}`);
    mkdirSync(outdir, { recursive: true });
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-runner-protocol-'));
    try {
      const bundle = await buildRunnerSpeaking2(outdir);
      const env = {
        ...process.env,
        KEEL_URL: edge.base,
        KEEL_RUNNER_DATA_DIR: dataDir,
        KEEL_RUNNER_DRIVER: 'process',
        REDIS_URL: (await testInfra()).redisUrl,
      };
      const run = async (extra: Record<string, string>) => {
        const runner = spawnService(process.execPath, [bundle], { ...env, ...extra }, root);
        // A runner that was not refused keeps running: stop it after a while, and fail.
        const timer = setTimeout(() => void runner.stop('SIGKILL'), 30_000);
        const code = await new Promise<number | null>((resolve) => runner.child.once('exit', resolve));
        clearTimeout(timer);
        return { code, output: runner.output() };
      };

      const before = (await runnerRows()).length;
      const { token, runnerToken } = await newToken();
      const registering = await run({ KEEL_RUNNER_TOKEN: token });
      assert.equal(registering.code, EXIT_CODES.cannotRun, registering.output);
      assert.match(
        registering.output,
        /Registration refused \(409\): this edge speaks protocol 1\.x \(up to 1\.\d+\); the runner speaks 2\.0/,
      );
      assert.equal((await runnerRows()).length, before);
      assert.equal(await usesOf(runnerToken.id), 0);

      // A runner registered under 1.x, upgraded to 2.0: its first check-in is refused.
      const { token: second } = await newToken();
      const res = await register({ token: second, protocol: OURS });
      const saved = await res.json();
      writeFileSync(join(dataDir, 'credential.json'), JSON.stringify({ ...saved, edgeUrl: edge.base }), {
        mode: 0o600,
      });
      const checkingIn = await run({});
      assert.equal(checkingIn.code, EXIT_CODES.cannotRun, checkingIn.output);
      assert.match(
        checkingIn.output,
        /Check-in refused \(409\): this edge speaks protocol 1\.x .*the runner speaks 2\.0/,
      );
    } finally {
      rmSync(outdir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
