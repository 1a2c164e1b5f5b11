import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { restoreWorkspace, saveWorkspace } from '../runners/src/snapshots/engine.ts';
import { FolderStore } from '../runners/src/snapshots/folder-store.ts';
import { containerName, DockerDriver } from '../runners/src/workloads/docker.ts';
import type { WorkloadDriver } from '../runners/src/workloads/types.ts';
import { ensureDockerAndImage, removeStale } from '../tests/runner/docker-helper.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { median, round } from './stats.ts';

/** Megabytes of the workspace: 200 (a smoke run: 20). */
const MB = count(200, 20);
const RUNS = count(3, 1);
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const idBody = () => [...randomBytes(20)].map((b) => B32[b % 32]).join('');
const newId = (kind: 'ws' | 'snp', prefix = '') => `${kind}_${prefix}${idBody().slice(prefix.length)}`;

/**
 * A tree of mixed sizes, like a project's: about a tenth of the bytes in 2,000 small files
 * (1–16 KB, in 40 folders), two fifths in 150 files of 100 KB–1 MB, and half in 4 large ones.
 */
function treeScript(mb: number): string {
  const scale = mb / 200;
  const small = Math.max(20, Math.round(2000 * scale));
  const medium = Math.max(2, Math.round(150 * scale));
  const bigBytes = Math.round(((mb * 0.5) / 4) * 1048576);
  return `set -e
mkdir -p node_modules/pkg src/big
i=0; while [ $i -lt ${small} ]; do d=node_modules/pkg/d$((i % 40)); mkdir -p $d; head -c $(( (i * 7919) % 15360 + 1024 )) /dev/urandom > $d/f$i.js; i=$((i+1)); done
i=0; while [ $i -lt ${medium} ]; do head -c $(( (i * 104729) % 921600 + 102400 )) /dev/urandom > src/m$i.bin; i=$((i+1)); done
i=0; while [ $i -lt 4 ]; do head -c ${bigBytes} /dev/urandom > src/big/b$i.bin; i=$((i+1)); done
printf 'hello\\n' > src/changed.txt
`;
}

const sh = async (driver: WorkloadDriver, id: string, script: string) => {
  const h = driver.exec(id, { argv: ['sh', '-c', script], timeoutMs: 600_000 });
  let err = '';
  h.stdout.resume();
  h.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const res = await h.done;
  if (res.exitCode !== 0) throw new Error(`${script.slice(0, 60)}: exit ${res.exitCode}: ${err}`);
};

/** What a restore does first, untimed for the baseline too. */
const EMPTY = 'find . -mindepth 1 -type d ! -perm -u=rwx -exec chmod u+rwx {} + ; find . -mindepth 1 -delete';

const seconds = (t: number) => (performance.now() - t) / 1000;

/**
 * Snapshot and restore of a 200 MB workspace (Docker driver, folder store on this host's
 * disk), against GNU tar of the same folder read and written inside the workspace through
 * `docker exec` (the only way Keel may reach a workspace's files) into and out of an archive on
 * the same disk; the same against tar straight on the volume's host folder, for reference; and
 * the bytes a second snapshot writes after one changed file.
 */
export async function benchSnapshot(): Promise<Figure[]> {
  await ensureDockerAndImage();
  await removeStale('ws_snapbench');
  const driver = new DockerDriver();
  const base = mkdtempSync('/var/tmp/keel-bench-snapshot-');
  const source = newId('ws', 'snapbench');
  const target = newId('ws', 'snapbench');
  try {
    for (const id of [source, target]) {
      await driver.create({
        workspaceId: id,
        cpus: 2,
        memoryMb: 1024,
        network: false,
        storage: { kind: 'volume' },
      });
      await driver.start(id);
    }
    await sh(driver, source, treeScript(MB));
    const folder = await driver.workspaceRoot(source);
    const bytes = execFileSync('find', [folder, '-type', 'f', '-printf', '%s\\n'])
      .toString()
      .split('\n')
      .filter(Boolean)
      .reduce((sum, n) => sum + Number(n), 0);

    // Baselines, each run: GNU tar of the same folder, read and written the way Keel must (inside
    // the workspace, through the engine's exec) and, for reference, straight on this host.
    const tarSave: number[] = [];
    const tarRestore: number[] = [];
    const hostSave: number[] = [];
    const hostRestore: number[] = [];
    const keelSave: number[] = [];
    const keelRestore: number[] = [];
    let first: Awaited<ReturnType<typeof saveWorkspace>> | undefined;
    let store: FolderStore | undefined;
    const archive = join(base, 'baseline.tar');
    for (let run = 0; run < RUNS; run++) {
      let t = performance.now();
      execFileSync('sh', ['-c', `docker exec ${containerName(source)} tar -cf - . > ${archive}`]);
      tarSave.push(seconds(t));
      await sh(driver, target, EMPTY);
      t = performance.now();
      execFileSync('sh', ['-c', `docker exec -i ${containerName(target)} tar -xpf - < ${archive}`]);
      tarRestore.push(seconds(t));
      rmSync(archive, { force: true });

      t = performance.now();
      execFileSync('tar', ['-C', folder, '-cf', archive, '.']);
      hostSave.push(seconds(t));
      const out = join(base, 'baseline-out');
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out);
      t = performance.now();
      execFileSync('tar', ['-C', out, '-xpf', archive]);
      hostRestore.push(seconds(t));
      rmSync(out, { recursive: true, force: true });
      rmSync(archive, { force: true });

      // Each run starts from an empty store: the first snapshot writes everything.
      rmSync(join(base, 'store'), { recursive: true, force: true });
      store = new FolderStore(join(base, 'store'));
      t = performance.now();
      first = await saveWorkspace(driver, source, newId('snp'), store);
      keelSave.push(seconds(t));
      // Both restores start from an empty workspace (the baseline's was emptied above).
      await sh(driver, target, EMPTY);
      t = performance.now();
      await restoreWorkspace(driver, target, first.snapshotId, store);
      keelRestore.push(seconds(t));
    }
    if (!first || !store) throw new Error('no run');
    if (first.bytes !== bytes) throw new Error(`the snapshot holds ${first.bytes} bytes of ${bytes}`);
    await sh(driver, source, 'printf "changed\\n" >> src/changed.txt');
    const second = await saveWorkspace(driver, source, newId('snp'), store);

    const mbs = (s: number) => bytes / 1024 / 1024 / s;
    const files = first.files.toLocaleString('en');
    const size = `${Math.round(bytes / 1024 / 1024)} MB`;
    const figure = (what: string, keel: number, tar: number, baseline: string): Figure => {
      const ratio = mbs(keel) / mbs(tar);
      return {
        name: `${what} of a ${size} workspace (${files} files), Docker driver, folder store (median of ${RUNS})`,
        keel: `${round(mbs(keel), 0)} MB/s (${round(keel, 2)} s)`,
        baseline: `${round(mbs(tar), 0)} MB/s (${round(tar, 2)} s, ${baseline})`,
        ratio: `${round(ratio, 2)}×`,
        target: '≥ 0.5×',
        pass: ratio >= 0.5,
      };
    };
    const reference = (what: string, keel: number, host: number, baseline: string): Figure => ({
      name: `${what} of the same ${size}, against tar on the host's folder (reference)`,
      keel: `${round(mbs(keel), 0)} MB/s`,
      baseline: `${round(mbs(host), 0)} MB/s (${round(host, 2)} s, ${baseline})`,
      ratio: `${round(mbs(keel) / mbs(host), 2)}×`,
      target: '—',
      pass: null,
    });
    const share = second.bytesWritten / first.bytesWritten;
    return [
      figure('snapshot', median(keelSave), median(tarSave), '`docker exec tar -cf -` into a file'),
      figure('restore', median(keelRestore), median(tarRestore), '`docker exec -i tar -xpf -` from it'),
      reference('snapshot', median(keelSave), median(hostSave), 'tar -cf'),
      reference('restore', median(keelRestore), median(hostRestore), 'tar -xpf'),
      {
        name: 'second snapshot after one changed file: bytes written',
        keel: `${round(second.bytesWritten / 1024, 1)} KB (${second.chunksWritten} chunk + manifest)`,
        baseline: `${round(first.bytesWritten / 1024 / 1024, 1)} MB (the first snapshot)`,
        ratio: `${round(share * 100, 3)}%`,
        target: '≤ 5%',
        pass: share <= 0.05,
      },
    ];
  } finally {
    for (const id of [source, target]) await driver.remove(id, { keepData: false }).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  }
}
