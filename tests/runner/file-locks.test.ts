import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FileLocks } from '../../runners/src/files/file-locks.ts';

/** A job that records when it starts and ends, and finishes when told. */
function job(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  return {
    finish,
    run: async () => {
      log.push(`${name} start`);
      await done;
      log.push(`${name} end`);
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('per-file locks', () => {
  test('two spellings of one file take turns', async () => {
    const locks = new FileLocks();
    const log: string[] = [];
    const a = job(log, 'write');
    const b = job(log, 'patch');
    const first = locks.run('ws1', ['./src//a.ts'], a.run);
    const second = locks.run('ws1', ['src/a.ts', 'src/b.ts'], b.run);
    await tick();
    assert.deepEqual(log, ['write start'], 'the patch waits for the write');
    a.finish();
    await first;
    await tick();
    b.finish();
    await second;
    assert.deepEqual(log, ['write start', 'write end', 'patch start', 'patch end']);
    assert.equal(locks.size, 0, 'nothing is held afterwards');
  });

  test('other files, and the same file in another workspace, do not wait', async () => {
    const locks = new FileLocks();
    const log: string[] = [];
    const a = job(log, 'a');
    const b = job(log, 'b');
    const c = job(log, 'c');
    const runs = [
      locks.run('ws1', ['a.ts'], a.run),
      locks.run('ws1', ['b.ts'], b.run),
      locks.run('ws2', ['a.ts'], c.run),
    ];
    await tick();
    assert.deepEqual(log.sort(), ['a start', 'b start', 'c start']);
    for (const j of [a, b, c]) j.finish();
    await Promise.all(runs);
  });

  test('a failed job lets the next one in; a path with no normal form is still locked by its own name', async () => {
    const locks = new FileLocks();
    await assert.rejects(
      locks.run('ws1', ['a.ts'], async () => {
        throw new Error('conflict');
      }),
      /conflict/,
    );
    assert.equal(await locks.run('ws1', ['a.ts'], async () => 'next'), 'next');
    assert.equal(
      await locks.run('ws1', ['/etc/passwd', '../x'], async () => 'refused later'),
      'refused later',
    );
    assert.equal(locks.size, 0);
  });
});
