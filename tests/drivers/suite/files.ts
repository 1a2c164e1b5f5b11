/*
 * The workspace's files through `driver.files(id)`, the one interface every driver offers
 * (ConfinedFs on the host for local drivers, an agent inside the workspace for remote ones):
 * what each operation does, and escape attempts with hostile links made by commands inside the
 * workspace. Every refusal carries the same code on every driver.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfinedFsError, type ConfinedFsErrorCode } from '../../../runners/src/files/confined-fs.ts';
import type { WorkspaceFiles } from '../../../runners/src/files/workspace-files.ts';
import { collect, waitForOutput } from '../../runner/exec-util.ts';
import type { Stand } from './stand.ts';

const refused = (code: ConfinedFsErrorCode) => (e: unknown) =>
  e instanceof ConfinedFsError && e.code === code;

export function filesSuite(stand: Stand): void {
  describe('files and escape attempts (driver)', () => {
    let id: string;
    let fs: WorkspaceFiles;
    // Outside the workspace, on this machine (where local drivers' runner follows a link) and
    // at the same path inside the workload (where an agent would): a link to it is hostile either way.
    let outside: string;
    const tag = `keel-pwned-${process.pid}-${stand.kind}`;
    const sh = (script: string) => collect(stand.driver().exec(id, { argv: ['sh', '-c', script] }));
    const hostPasswd = readFileSync('/etc/passwd', 'utf8');
    let workloadPasswd: string;

    before(async () => {
      id = await stand.running('files');
      fs = await stand.driver().files(id);
      outside = mkdtempSync(path.join(tmpdir(), 'keel-outside-'));
      writeFileSync(path.join(outside, 'secret'), 'SECRET');
      const r = await sh(
        [
          `mkdir -p ${outside} 2>/dev/null; echo SECRET > ${outside}/secret 2>/dev/null; true`,
          'ln -s /etc etc-link',
          'ln -s /etc/passwd passwd-link',
          'ln -s / root-link',
          `ln -s ${outside} out-link`,
          `ln -s ${outside}/secret secret-link`,
          'mkdir -p real && echo inside > real/hostname',
          'ln -s real inner-link',
        ].join(' && '),
      );
      assert.equal(r.exitCode, 0, r.stderr);
      workloadPasswd = (await sh('cat /etc/passwd')).stdout;
    });

    after(() => {
      rmSync(outside, { recursive: true, force: true });
      for (const p of [`/etc/${tag}`, `/tmp/${tag}`]) rmSync(p, { force: true });
    });

    /** Nothing named `tag` appeared outside, seen from this machine and from inside the workload. */
    async function assertNothingOutside() {
      assert.equal(existsSync(`/etc/${tag}`), false);
      assert.equal(existsSync(`/tmp/${tag}`), false);
      assert.deepEqual(readdirSync(outside), ['secret']);
      assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'SECRET');
      const inside = await sh(
        `for p in /etc/${tag} /tmp/${tag} ${outside}/${tag} ${outside}/a; do test -e $p && echo $p; done; true`,
      );
      assert.equal(inside.stdout, '', 'nothing appeared outside /workspace inside the workload');
    }

    test('reads, writes, stats, lists and walks inside; the workload edits what the runner wrote', async () => {
      await fs.writeFile('src/lib/a.ts', 'export const a = 1;\n', { createParents: true });
      assert.equal((await fs.readFile('src/lib/a.ts')).toString(), 'export const a = 1;\n');
      assert.equal((await fs.readFile('./src//lib/./a.ts')).toString(), 'export const a = 1;\n');
      const bytes = Buffer.from([0, 255, 1, 254, 10, 13]);
      await fs.writeFile('bin.dat', bytes);
      assert.deepEqual(await fs.readFile('bin.dat'), bytes);
      assert.equal((await fs.stat('src')).type, 'directory');
      assert.equal((await fs.stat('')).type, 'directory');
      const st = await fs.stat('src/lib/a.ts');
      assert.equal(st.type, 'file');
      assert.equal(st.size, 20);
      assert.equal((await fs.stat('etc-link')).type, 'symlink');
      const names = (await fs.listDir('')).map((e) => `${e.name}:${e.type}`);
      for (const want of ['bin.dat:file', 'etc-link:symlink', 'real:directory', 'src:directory']) {
        assert.ok(names.includes(want), `${want} in ${names.join(' ')}`);
      }
      const { entries, truncated } = await fs.tree('src');
      assert.deepEqual(
        entries.map((e) => `${e.path}:${e.type}`),
        ['src/lib:directory', 'src/lib/a.ts:file'],
      );
      assert.equal(truncated, false);
      const small = await fs.listDirBounded('', { maxEntries: 2 });
      assert.equal(small.entries.length, 2);
      assert.equal(small.truncated, true);

      // Written as the workload's user: a command may change it.
      const r = await sh('echo more >> src/lib/a.ts && cat src/lib/a.ts');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, 'export const a = 1;\nmore\n');
    });

    test('writes atomically, keeps the mode, leaves no temporary files, creates parents on request', async () => {
      await fs.writeFile('script.sh', '#!/bin/sh\necho 1\n', { mode: 0o755 });
      await fs.writeFile('script.sh', '#!/bin/sh\necho 2\n');
      assert.equal((await fs.stat('script.sh')).mode & 0o777, 0o755);
      assert.equal((await sh('./script.sh')).stdout, '2\n');
      await assert.rejects(fs.writeFile('deep/er/file', 'x'), refused('NOT_FOUND'));
      await fs.writeFile('deep/er/file', 'x', { createParents: true });
      assert.equal((await sh('cat deep/er/file && echo y > deep/er/other && echo ok')).stdout, 'xok\n');
      assert.deepEqual(
        (await fs.listDir('')).map((e) => e.name).filter((n) => n.includes('.keel-')),
        [],
      );
    });

    test('mkdir, rename and remove inside, with their refusals', async () => {
      await fs.mkdir('a/b/c', { recursive: true });
      await assert.rejects(fs.mkdir('a/b'), refused('ALREADY_EXISTS'));
      await fs.writeFile('a/b/c/f', 'f');
      await fs.rename('a/b/c/f', 'a/g');
      assert.equal((await fs.readFile('a/g')).toString(), 'f');
      await fs.writeFile('a/h', 'h');
      await assert.rejects(fs.rename('a/h', 'a/g'), refused('ALREADY_EXISTS'));
      await fs.rename('a/h', 'a/g', { overwrite: true });
      assert.equal((await fs.readFile('a/g')).toString(), 'h');
      await assert.rejects(fs.remove('a'), refused('DIRECTORY_NOT_EMPTY'));
      await fs.remove('a', { recursive: true });
      await assert.rejects(fs.stat('a'), refused('NOT_FOUND'));
      assert.equal((await sh('test -e a || echo gone')).stdout, 'gone\n');
    });

    test('refuses what is missing, too large, a folder, or below a file', async () => {
      await fs.writeFile('big', Buffer.alloc(2048));
      await assert.rejects(fs.readFile('big', { maxBytes: 1024 }), refused('TOO_LARGE'));
      await assert.rejects(fs.writeFile('x', Buffer.alloc(2048), { maxBytes: 1024 }), refused('TOO_LARGE'));
      await assert.rejects(fs.readFile('real'), refused('IS_A_DIRECTORY'));
      await assert.rejects(fs.readFile('nope'), refused('NOT_FOUND'));
      await assert.rejects(fs.readFile('big/x'), refused('NOT_A_DIRECTORY'));
      await assert.rejects(fs.readFile('big\0.png'), refused('INVALID_PATH'));
      await assert.rejects(fs.remove(''), refused('INVALID_PATH'));
    });

    test('rejects ../ and absolute paths', async () => {
      for (const bad of ['../../../etc/passwd', 'real/../../x', '..', '/etc/passwd', `${outside}/secret`]) {
        await assert.rejects(fs.readFile(bad), refused('PATH_OUTSIDE_WORKSPACE'), bad);
        await assert.rejects(fs.writeFile(bad, 'x'), refused('PATH_OUTSIDE_WORKSPACE'), bad);
      }
      await assert.rejects(fs.mkdir('../x'), refused('PATH_OUTSIDE_WORKSPACE'));
      await assert.rejects(fs.rename('real/hostname', '/tmp/x'), refused('PATH_OUTSIDE_WORKSPACE'));
      await assert.rejects(fs.listDir('..'), refused('PATH_OUTSIDE_WORKSPACE'));
    });

    test('does not read through links the workspace made to /etc, /etc/passwd, / or an outside folder', async () => {
      for (const rel of [
        'etc-link/passwd',
        'passwd-link',
        'root-link/etc/passwd',
        'out-link/secret',
        'secret-link',
      ]) {
        await assert.rejects(fs.readFile(rel), refused('IS_SYMLINK'), rel);
      }
      await assert.rejects(fs.listDir('root-link'), refused('IS_SYMLINK'));
      await assert.rejects(fs.tree('etc-link'), refused('IS_SYMLINK'));
      const { entries } = await fs.tree();
      assert.ok(!entries.some((e) => e.path.startsWith('root-link/') || e.path.startsWith('etc-link/')));
    });

    test('does not write, create or delete anything through those links', async () => {
      const attempts: [string, () => Promise<unknown>][] = [
        ['write etc-link', () => fs.writeFile(`etc-link/${tag}`, 'x')],
        ['overwrite passwd-link', () => fs.writeFile('passwd-link', 'x')],
        ['write root-link', () => fs.writeFile(`root-link/tmp/${tag}`, 'x')],
        ['write out-link', () => fs.writeFile(`out-link/${tag}`, 'x')],
        ['overwrite secret-link', () => fs.writeFile('secret-link', 'x')],
        ['write with parents', () => fs.writeFile(`out-link/a/${tag}`, 'x', { createParents: true })],
        ['mkdir', () => fs.mkdir(`root-link/tmp/${tag}`, { recursive: true })],
        ['remove', () => fs.remove('out-link/secret')],
        ['rename out', () => fs.rename('real/hostname', `out-link/${tag}`)],
        ['rename in', () => fs.rename('out-link/secret', 'stolen')],
      ];
      for (const [what, attempt] of attempts) await assert.rejects(attempt(), refused('IS_SYMLINK'), what);
      await assertNothingOutside();
      // Other suites may add a system user meanwhile (the sshd harness does, with useradd, which
      // appends): what was there is all still there, and nothing this test wrote is.
      const passwdNow = readFileSync('/etc/passwd', 'utf8');
      assert.ok(passwdNow.startsWith(hostPasswd), 'this machine’s /etc/passwd is as it was');
      assert.ok(!passwdNow.includes(tag) && !/^x$/m.test(passwdNow), 'nothing was written to /etc/passwd');
      assert.equal((await sh('cat /etc/passwd')).stdout, workloadPasswd, 'the workload’s too');
    });

    test('refuses a symlinked directory in the middle of a path, even one pointing inside', async () => {
      assert.equal((await fs.readFile('real/hostname')).toString(), 'inside\n');
      await assert.rejects(fs.readFile('inner-link/hostname'), refused('IS_SYMLINK'));
      await assert.rejects(fs.writeFile('inner-link/new', 'x'), refused('IS_SYMLINK'));
      await assert.rejects(fs.listDir('inner-link'), refused('IS_SYMLINK'));
      await assert.rejects(fs.readFile('root-link/etc/passwd'), refused('IS_SYMLINK'));
      assert.equal((await sh('test -e real/new || echo absent')).stdout, 'absent\n');
    });

    test('cannot hard-link system files from inside; refuses hard-linked files', async () => {
      const r = await sh('ln /usr/bin/env hl-env || ln /etc/passwd hl-passwd');
      assert.notEqual(r.exitCode, 0, 'hard links across the workspace boundary fail inside');
      // A hard link inside: the same inode under two names is refused under both.
      assert.equal((await sh('echo twice > hl-a && ln hl-a hl-b')).exitCode, 0);
      for (const name of ['hl-a', 'hl-b']) {
        await assert.rejects(fs.readFile(name), refused('HARD_LINKED'), name);
        await assert.rejects(fs.writeFile(name, 'x'), refused('HARD_LINKED'), name);
      }
      assert.equal((await sh('cat hl-a')).stdout, 'twice\n');
      await fs.remove('hl-b');
      assert.equal((await fs.readFile('hl-a')).toString(), 'twice\n', 'a single link again');
    });

    test('refuses a hard link, made in an admin’s folder, to a file outside it', async () => {
      if (stand.lacks('hostDir')) return; // lifecycle checks the refusal of a host folder
      // An admin's existing folder may hold a hard link to a file elsewhere on its file system.
      const parent = mkdtempSync(path.join(tmpdir(), 'keel-conform-hl-'));
      chmodSync(parent, 0o711);
      const dir = path.join(parent, 'ws');
      const target = path.join(parent, 'outside-secret');
      writeFileSync(target, 'SECRET');
      try {
        const hid = await stand.running('hl', { storage: { kind: 'hostDir', path: dir } });
        linkSync(target, path.join(dir, 'hl'));
        const hfs = await stand.driver().files(hid);
        await assert.rejects(hfs.readFile('hl'), refused('HARD_LINKED'));
        await assert.rejects(hfs.writeFile('hl', 'x'), refused('HARD_LINKED'));
        assert.equal(readFileSync(target, 'utf8'), 'SECRET');
        await hfs.remove('hl');
        assert.equal(readFileSync(target, 'utf8'), 'SECRET');
        await stand.driver().remove(hid, { keepData: false });
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    });

    test('never reaches outside while the workspace swaps a directory for a symlink', async (t) => {
      const prep = await sh(
        'mkdir -p swap-real/etc && echo inside > swap-real/etc/passwd && ln -s / swap-link && echo ok',
      );
      assert.equal(prep.exitCode, 0, prep.stderr);
      const flipper = stand.driver().exec(id, {
        argv: [
          'sh',
          '-c',
          'echo flipping; while :; do mv -T swap-real swap; mv -T swap swap-real; mv -T swap-link swap; mv -T swap swap-link; done',
        ],
        timeoutMs: 10_000,
      });
      flipper.stderr.resume();
      await waitForOutput(flipper, 'flipping');
      const counts = { inside: 0, refused: 0 };
      // At least a second and at least 51 reads (a remote driver on a busy machine reads slower),
      // within the flipper's life.
      const start = Date.now();
      const enough = () => Date.now() - start >= 1000 && counts.inside + counts.refused > 50;
      const onlyRefusals = (err: unknown) => {
        if (!(err instanceof ConfinedFsError)) throw err;
      };
      try {
        while (!enough() && Date.now() - start < 8_000) {
          try {
            assert.equal((await fs.readFile('swap/etc/passwd')).toString(), 'inside\n');
            counts.inside++;
          } catch (err) {
            onlyRefusals(err);
            counts.refused++;
          }
          await fs.writeFile(`swap/etc/${tag}`, 'x').catch(onlyRefusals);
          await fs.listDir('swap/etc').catch(onlyRefusals);
        }
      } finally {
        await flipper.kill();
      }
      assert.ok(counts.inside + counts.refused > 50, JSON.stringify(counts));
      await assertNothingOutside();
      t.diagnostic(`reads during the swap: ${JSON.stringify(counts)}`);
    });
  });
}
