/*
 * Escape attempts against the confined file layer, with the hostile links made by
 * commands running inside real workspaces of both drivers: the runner works on the
 * host, where a link to /etc means the host's /etc.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as cfs from '../../runners/src/files/confined-fs.ts';
import { ConfinedFsError } from '../../runners/src/files/confined-fs.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';
import { ensureDockerAndImage, removeStale } from './docker-helper.ts';
import { collect, waitForOutput } from './exec-util.ts';

const refused = (code?: string) => (e: unknown) => e instanceof ConfinedFsError && (!code || e.code === code);
const tag = `keel-pwned-${process.pid}`;

function escapeSuite(
  name: string,
  setup: () => Promise<{ driver: WorkloadDriver; id: string; cleanup(): Promise<void> }>,
) {
  describe(`confined fs against a ${name} workspace`, () => {
    let driver: WorkloadDriver;
    let id: string;
    let cleanup: () => Promise<void>;
    let root: string;
    let outside: string;

    const sh = (script: string) => collect(driver.exec(id, { argv: ['sh', '-c', script] }));

    before(async () => {
      ({ driver, id, cleanup } = await setup());
      root = await driver.workspaceRoot(id);
      outside = mkdtempSync('/tmp/keel-outside-');
      writeFileSync(path.join(outside, 'secret'), 'SECRET');
      const r = await sh(
        [
          'ln -s /etc etc-link',
          'ln -s / root-link',
          `ln -s ${outside} out-link`,
          `ln -s ${outside}/secret secret-link`,
          'mkdir -p real && echo inside > real/hostname',
          'ln -s real inner-link',
        ].join(' && '),
      );
      assert.equal(r.exitCode, 0, r.stderr);
    });

    after(async () => {
      await cleanup();
      rmSync(outside, { recursive: true, force: true });
      for (const p of [`/etc/${tag}`, `/tmp/${tag}`]) rmSync(p, { force: true });
    });

    it('rejects ../ and absolute paths', async () => {
      for (const bad of ['../../../etc/passwd', 'real/../../x', '/etc/passwd', `${outside}/secret`]) {
        await assert.rejects(cfs.readFile(root, bad), refused('PATH_OUTSIDE_WORKSPACE'), bad);
        await assert.rejects(cfs.writeFile(root, bad, 'x'), refused('PATH_OUTSIDE_WORKSPACE'), bad);
      }
    });

    it('does not read through links the workspace made to /etc, / or an outside folder', async () => {
      for (const rel of ['etc-link/passwd', 'root-link/etc/passwd', 'out-link/secret', 'secret-link']) {
        await assert.rejects(cfs.readFile(root, rel), refused('IS_SYMLINK'), rel);
      }
      await assert.rejects(cfs.listDir(root, 'root-link'), refused('IS_SYMLINK'));
      const { entries } = await cfs.tree(root);
      assert.ok(!entries.some((e) => e.path.startsWith('root-link/') || e.path.startsWith('etc-link/')));
    });

    it('does not write, create or delete anything through those links', async () => {
      const attempts: [string, () => Promise<unknown>][] = [
        ['write etc-link', () => cfs.writeFile(root, `etc-link/${tag}`, 'x')],
        ['write root-link', () => cfs.writeFile(root, `root-link/tmp/${tag}`, 'x')],
        ['write out-link', () => cfs.writeFile(root, `out-link/${tag}`, 'x')],
        ['overwrite secret-link', () => cfs.writeFile(root, 'secret-link', 'x')],
        ['write with parents', () => cfs.writeFile(root, `out-link/a/${tag}`, 'x', { createParents: true })],
        ['mkdir', () => cfs.mkdir(root, `root-link/tmp/${tag}`, { recursive: true })],
        ['remove', () => cfs.remove(root, 'out-link/secret')],
        ['rename out', () => cfs.rename(root, 'real/hostname', `out-link/${tag}`)],
        ['rename in', () => cfs.rename(root, 'out-link/secret', 'stolen')],
      ];
      for (const [what, attempt] of attempts) await assert.rejects(attempt(), refused('IS_SYMLINK'), what);
      assert.equal(existsSync(`/etc/${tag}`), false);
      assert.equal(existsSync(`/tmp/${tag}`), false);
      assert.equal(existsSync(path.join(outside, tag)), false);
      assert.equal(existsSync(path.join(outside, 'a')), false);
      assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'SECRET');
    });

    it('refuses a symlinked intermediate directory even when it points inside', async () => {
      assert.equal((await cfs.readFile(root, 'real/hostname')).toString(), 'inside\n');
      await assert.rejects(cfs.readFile(root, 'inner-link/hostname'), refused('IS_SYMLINK'));
      await assert.rejects(cfs.writeFile(root, 'inner-link/new', 'x'), refused('IS_SYMLINK'));
    });

    it('cannot hard-link host files from inside, and refuses hard-linked files', async () => {
      const r = await sh('ln /usr/bin/env hl-env || ln /etc/passwd hl-passwd');
      assert.notEqual(r.exitCode, 0, 'hard links across the workspace boundary fail inside');
      // A hard link that reached the folder some other way (e.g. an admin's existing
      // folder): same file system, outside the root.
      const target = path.join(path.dirname(root), `${tag}-outside`);
      writeFileSync(target, 'SECRET');
      try {
        linkSync(target, path.join(root, 'hl'));
        await assert.rejects(cfs.readFile(root, 'hl'), refused('HARD_LINKED'));
        await assert.rejects(cfs.writeFile(root, 'hl', 'x'), refused('HARD_LINKED'));
        assert.equal(readFileSync(target, 'utf8'), 'SECRET');
        await cfs.remove(root, 'hl');
      } finally {
        rmSync(target, { force: true });
      }
    });

    it('never reaches outside while the workspace swaps a directory for a symlink', async (t) => {
      const prep = await sh(
        `mkdir -p swap-real/etc && echo inside > swap-real/etc/passwd && ln -s / swap-link && echo ok`,
      );
      assert.equal(prep.exitCode, 0, prep.stderr);
      const flipper = driver.exec(id, {
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
      const until = Date.now() + 1000;
      try {
        while (Date.now() < until) {
          try {
            assert.equal((await cfs.readFile(root, 'swap/etc/passwd')).toString(), 'inside\n');
            counts.inside++;
          } catch (err) {
            if (!(err instanceof ConfinedFsError)) throw err;
            counts.refused++;
          }
          await cfs.writeFile(root, `swap/etc/${tag}`, 'x').catch((err) => {
            if (!(err instanceof ConfinedFsError)) throw err;
          });
          await cfs.listDir(root, 'swap/etc').catch((err) => {
            if (!(err instanceof ConfinedFsError)) throw err;
          });
        }
      } finally {
        await flipper.kill();
      }
      assert.ok(counts.inside + counts.refused > 50, JSON.stringify(counts));
      assert.equal(existsSync(`/etc/${tag}`), false);
      t.diagnostic(`reads during the swap: ${JSON.stringify(counts)}`);
    });
  });
}

escapeSuite('docker', async () => {
  await ensureDockerAndImage();
  await removeStale('rte-');
  const driver = new DockerDriver();
  const id = `rte-${process.pid}`;
  await driver.create({
    workspaceId: id,
    cpus: 1,
    memoryMb: 256,
    network: false,
    storage: { kind: 'volume' },
  });
  await driver.start(id);
  return { driver, id, cleanup: () => driver.remove(id, { keepData: false }) };
});

escapeSuite('process (bubblewrap)', async () => {
  const base = mkdtempSync('/tmp/keel-proc-esc-');
  chmodSync(base, 0o711);
  const driver = new ProcessDriver({ root: `${base}/root` });
  const id = 'esc';
  await driver.create({
    workspaceId: id,
    cpus: 1,
    memoryMb: 256,
    network: false,
    storage: { kind: 'volume' },
  });
  await driver.start(id);
  return {
    driver,
    id,
    async cleanup() {
      await driver.remove(id, { keepData: false });
      rmSync(base, { recursive: true, force: true });
    },
  };
});
