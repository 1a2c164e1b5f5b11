/**
 * Settings from files (NAME_FILE), as Compose `secrets:` and Kubernetes Secret volumes give them:
 * the shared reader, and both programs reading them at start.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EnvFileError, withFileVariables } from '../../edge/contract/src/env-files.ts';
import { startNodeEdge } from '../../edge/src/entry-node.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'keel-env-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};
const KEY = Buffer.alloc(32, 7).toString('base64');

describe('withFileVariables', () => {
  it('reads NAME from NAME_FILE, dropping one trailing newline and keeping the rest', () => {
    const env = withFileVariables(
      { A_FILE: file('a', 'secret value\n'), B_FILE: file('b', 'two lines\nend\n\n'), C: 'plain' },
      ['A', 'B', 'C'],
    );
    assert.equal(env.A, 'secret value');
    assert.equal(env.B, 'two lines\nend\n');
    assert.equal(env.C, 'plain');
  });

  it('leaves variables it was not told about alone (no file is read for them)', () => {
    const env = withFileVariables({ OTHER_FILE: '/nonexistent' }, ['A']);
    assert.equal(env.OTHER, undefined);
  });

  it('refuses both NAME and NAME_FILE, and a file it cannot read, naming each', () => {
    assert.throws(
      () => withFileVariables({ A: 'x', A_FILE: file('a2', 'y'), B_FILE: join(dir, 'missing') }, ['A', 'B']),
      (err: unknown) =>
        err instanceof EnvFileError &&
        /A: set both A and A_FILE/.test(err.message) &&
        /B_FILE: cannot read .*missing \(ENOENT\)/.test(err.message),
    );
  });

  it('treats an empty NAME_FILE as unset, as the schemas treat empty values', () => {
    assert.deepEqual(withFileVariables({ A_FILE: '', A: 'kept' }, ['A']), { A_FILE: '', A: 'kept' });
  });
});

describe('the programs read their settings from files', () => {
  it('the Node edge takes KEEL_SECRET_KEY_FILE and REDIS_URL_FILE', async () => {
    // A bad Redis URL in the file is refused by the schema: proof the file's content was parsed.
    await assert.rejects(
      startNodeEdge({
        KEEL_SECRET_KEY_FILE: file('key', `${KEY}\n`),
        REDIS_URL_FILE: file('redis-bad', 'http://not-redis\n'),
        KEEL_DATA_DIR: join(dir, 'edge'),
      }),
      /REDIS_URL: must be a redis:\/\/, rediss:\/\//,
    );
    await assert.rejects(
      startNodeEdge({
        KEEL_SECRET_KEY: KEY,
        KEEL_SECRET_KEY_FILE: file('key2', KEY),
        REDIS_URL: 'redis://x',
      }),
      /KEEL_SECRET_KEY: set both/,
    );
  });

  it('the runner takes any of its settings from NAME_FILE and says which file failed', async () => {
    const env = {
      PATH: process.env.PATH,
      KEEL_RUNNER_FROM_SOURCE: 'true',
      KEEL_RUNNER_DATA_DIR: join(dir, 'runner'),
      KEEL_URL_FILE: file('url', 'http://127.0.0.1:9\n'),
      REDIS_URL_FILE: file('redis', 'redis://127.0.0.1:9\n'),
      KEEL_RUNNER_CAPACITY_WORKSPACES_FILE: file('capacity', '0\n'),
    };
    const bad = await run('node', ['runners/bin/keel-runner.mjs'], { env }).then(
      () => assert.fail('the runner started with a capacity of 0'),
      (err: { code: number; stderr: string }) => err,
    );
    // Only the capacity (read from its file) is wrong: the URLs from files passed the schema.
    assert.match(bad.stderr, /KEEL_RUNNER_CAPACITY_WORKSPACES:/);
    assert.doesNotMatch(bad.stderr, /KEEL_URL:|REDIS_URL:/);
    const missing = await run('node', ['runners/bin/keel-runner.mjs'], {
      env: { ...env, KEEL_RUNNER_TOKEN_FILE: join(dir, 'no-token') },
    }).then(
      () => assert.fail('the runner started without its token file'),
      (err: { stderr: string }) => err,
    );
    assert.match(missing.stderr, /KEEL_RUNNER_TOKEN_FILE: cannot read .*no-token \(ENOENT\)/);
  });
});
