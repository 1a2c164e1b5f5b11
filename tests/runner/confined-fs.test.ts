import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as cfs from '../../runners/src/files/confined-fs.ts';
import { ConfinedFsError } from '../../runners/src/files/confined-fs.ts';

const isCode = (code: string) => (e: unknown) => e instanceof ConfinedFsError && e.code === code;

describe('confined fs', () => {
  let base: string;
  let root: string;
  let outside: string;

  before(() => {
    base = mkdtempSync('/tmp/keel-cfs-');
    root = path.join(base, 'ws');
    outside = path.join(base, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret'), 'SECRET');
    mkdirSync(path.join(root, 'src/lib'), { recursive: true });
    writeFileSync(path.join(root, 'src/lib/a.ts'), 'export const a = 1;\n');
    writeFileSync(path.join(root, 'README.md'), '# hi\n');
    symlinkSync('/etc', path.join(root, 'etc-link'));
    symlinkSync(outside, path.join(root, 'out-link'));
    symlinkSync(path.join(outside, 'secret'), path.join(root, 'secret-link'));
    symlinkSync('src', path.join(root, 'inner-link'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  it('reads, writes, stats and lists inside the root', async () => {
    assert.equal((await cfs.readFile(root, 'src/lib/a.ts')).toString(), 'export const a = 1;\n');
    assert.equal((await cfs.readFile(root, './src//lib/./a.ts')).toString(), 'export const a = 1;\n');
    await cfs.writeFile(root, 'src/new.txt', 'new');
    assert.equal(readFileSync(path.join(root, 'src/new.txt'), 'utf8'), 'new');
    const st = await cfs.stat(root, 'src');
    assert.equal(st.type, 'directory');
    assert.equal((await cfs.stat(root, '')).type, 'directory');
    const names = (await cfs.listDir(root, '')).map((e) => `${e.name}:${e.type}`);
    assert.deepEqual(names, [
      'README.md:file',
      'etc-link:symlink',
      'inner-link:symlink',
      'out-link:symlink',
      'secret-link:symlink',
      'src:directory',
    ]);
  });

  it('writes atomically, keeps mode, leaves no temp files, creates parents on request', async () => {
    await cfs.writeFile(root, 'script.sh', '#!/bin/sh\n', { mode: 0o755 });
    await cfs.writeFile(root, 'script.sh', '#!/bin/sh\necho 2\n');
    assert.equal(statSync(path.join(root, 'script.sh')).mode & 0o777, 0o755);
    await assert.rejects(cfs.writeFile(root, 'deep/er/file', 'x'), isCode('NOT_FOUND'));
    await cfs.writeFile(root, 'deep/er/file', 'x', { createParents: true, owner: { uid: 1000, gid: 1000 } });
    assert.equal(
      statSync(path.join(root, 'deep/er')).uid,
      process.getuid?.() === 0 ? 1000 : process.getuid?.(),
    );
    assert.deepEqual(
      readdirSync(root).filter((n) => n.includes('.keel-')),
      [],
    );
  });

  it('rejects absolute paths, .. segments and NUL bytes', async () => {
    for (const bad of ['/etc/passwd', '../outside/secret', 'src/../../outside/secret', 'src/..', '..']) {
      await assert.rejects(cfs.readFile(root, bad), isCode('PATH_OUTSIDE_WORKSPACE'), bad);
      await assert.rejects(cfs.writeFile(root, bad, 'x'), isCode('PATH_OUTSIDE_WORKSPACE'), bad);
    }
    await assert.rejects(cfs.readFile(root, 'README.md\0.png'), isCode('INVALID_PATH'));
    await assert.rejects(cfs.remove(root, ''), isCode('INVALID_PATH'));
    const err = await cfs.readFile(root, '/etc/passwd').catch((e: ConfinedFsError) => e);
    assert.equal((err as ConfinedFsError).httpStatus, 400);
  });

  it('never follows a symlink, final or intermediate, even one pointing inside', async () => {
    await assert.rejects(cfs.readFile(root, 'secret-link'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.readFile(root, 'etc-link/passwd'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.readFile(root, 'out-link/secret'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.readFile(root, 'inner-link/lib/a.ts'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.listDir(root, 'etc-link'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.writeFile(root, 'secret-link', 'pwned'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.writeFile(root, 'out-link/new', 'pwned'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.mkdir(root, 'out-link/d'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.mkdir(root, 'out-link/d/e', { recursive: true }), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.remove(root, 'out-link/secret'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.rename(root, 'out-link/secret', 'stolen'), isCode('IS_SYMLINK'));
    await assert.rejects(cfs.rename(root, 'README.md', 'out-link/README.md'), isCode('IS_SYMLINK'));
    assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'SECRET');
    assert.deepEqual(readdirSync(outside), ['secret']);
    assert.equal((await cfs.stat(root, 'etc-link')).type, 'symlink');
  });

  it('refuses hard-linked files for reads and writes', async () => {
    linkSync(path.join(outside, 'secret'), path.join(root, 'hard'));
    await assert.rejects(cfs.readFile(root, 'hard'), isCode('HARD_LINKED'));
    await assert.rejects(cfs.writeFile(root, 'hard', 'pwned'), isCode('HARD_LINKED'));
    assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'SECRET');
    await cfs.remove(root, 'hard');
  });

  it('refuses what is too large, and non-regular files', async () => {
    writeFileSync(path.join(root, 'big'), Buffer.alloc(2048));
    await assert.rejects(cfs.readFile(root, 'big', { maxBytes: 1024 }), isCode('TOO_LARGE'));
    await assert.rejects(
      cfs.writeFile(root, 'x', Buffer.alloc(2048), { maxBytes: 1024 }),
      isCode('TOO_LARGE'),
    );
    await assert.rejects(cfs.readFile(root, 'src'), isCode('IS_A_DIRECTORY'));
    await assert.rejects(cfs.readFile(root, 'nope'), isCode('NOT_FOUND'));
    await assert.rejects(cfs.readFile(root, 'README.md/x'), isCode('NOT_A_DIRECTORY'));
  });

  it('reads files of every size exactly, both below and above the blocking-read size', async () => {
    // Small files are read in blocking calls, larger ones without blocking: the same bytes
    // either way, at the edges of both paths (empty, one byte, 256 KB ± 1, several MB).
    for (const size of [0, 1, 4096, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 17]) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) & 0xff;
      mkdirSync(path.join(root, 'sizes'), { recursive: true });
      writeFileSync(path.join(root, 'sizes', `f${size}`), bytes);
      const got = await cfs.readFile(root, `sizes/f${size}`);
      assert.equal(Buffer.compare(got, bytes), 0, `a file of ${size} bytes`);
    }
    // The cap holds on both paths.
    await assert.rejects(cfs.readFile(root, 'sizes/f4096', { maxBytes: 4095 }), isCode('TOO_LARGE'));
    await assert.rejects(
      cfs.readFile(root, `sizes/f${256 * 1024 + 1}`, { maxBytes: 256 * 1024 }),
      isCode('TOO_LARGE'),
    );
    assert.equal((await cfs.readFile(root, 'sizes/f4096', { maxBytes: 4096 })).length, 4096);
  });

  it('builds a bounded tree that lists symlinks without descending into them', async () => {
    const { entries, truncated } = await cfs.tree(root);
    const paths = entries.map((e) => e.path);
    assert.ok(paths.includes('src/lib/a.ts'));
    assert.ok(paths.includes('etc-link'));
    assert.ok(!paths.some((p) => p.startsWith('etc-link/') || p.startsWith('out-link/')));
    assert.equal(truncated, false);
    const small = await cfs.tree(root, '', { maxEntries: 3 });
    assert.equal(small.entries.length, 3);
    assert.equal(small.truncated, true);
  });

  it('mkdir, rename and remove stay inside and act on links, not targets', async () => {
    await cfs.mkdir(root, 'a/b/c', { recursive: true });
    await assert.rejects(cfs.mkdir(root, 'a/b'), isCode('ALREADY_EXISTS'));
    await cfs.writeFile(root, 'a/b/c/f', 'f');
    await cfs.rename(root, 'a/b/c/f', 'a/g');
    await assert.rejects(cfs.rename(root, 'README.md', 'a/g'), isCode('ALREADY_EXISTS'));
    await assert.rejects(cfs.remove(root, 'a'), isCode('DIRECTORY_NOT_EMPTY'));
    await cfs.remove(root, 'a', { recursive: true });
    assert.equal(existsSync(path.join(root, 'a')), false);
    await cfs.remove(root, 'out-link');
    assert.equal(existsSync(path.join(outside, 'secret')), true);
    symlinkSync(outside, path.join(root, 'out-link'));
  });

  it('never reads outside content while a directory is swapped for a symlink', async () => {
    mkdirSync(path.join(root, 'swap-real'));
    writeFileSync(path.join(root, 'swap-real/secret'), 'inside');
    symlinkSync(outside, path.join(root, 'swap-link'));
    // A separate process flips `swap` between the real directory and the link as fast
    // as it can, the way a command inside the workspace would.
    const flipper = spawn(
      'bash',
      [
        '-c',
        'cd "$1"; while :; do mv -T swap-real swap; mv -T swap swap-real; mv -T swap-link swap; mv -T swap swap-link; done',
        'flip',
        root,
      ],
      // Own process group, so that the kill below also reaches an `mv` in flight.
      { stdio: 'ignore', detached: true },
    );
    const flipperGone = once(flipper, 'exit');
    const counts = { inside: 0, refused: 0 };
    const until = Date.now() + 1000;
    try {
      while (Date.now() < until) {
        try {
          const data = (await cfs.readFile(root, 'swap/secret')).toString();
          assert.equal(data, 'inside');
          counts.inside++;
        } catch (err) {
          if (!(err instanceof ConfinedFsError)) throw err;
          counts.refused++;
        }
        await cfs.writeFile(root, 'swap/written', 'w').catch((err) => {
          if (!(err instanceof ConfinedFsError)) throw err;
        });
      }
    } finally {
      process.kill(-flipper.pid!, 'SIGKILL');
      await flipperGone;
    }
    assert.ok(counts.inside + counts.refused > 50, JSON.stringify(counts));
    assert.deepEqual(readdirSync(outside), ['secret']);
    assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'SECRET');
  });
});
