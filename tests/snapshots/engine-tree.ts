/**
 * What the snapshot engine tests share: ids the contract accepts, a tree made inside a
 * workload (files, empty files, a file of three chunks, modes, nested and read-only folders,
 * links inside and out, a pipe), and a listing of it read inside the workload to compare.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { WorkloadDriver } from '../../runners/src/workloads/types.ts';
import { collect } from '../runner/exec-util.ts';

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const body = (n: number) => [...randomBytes(n)].map((b) => B32[b % 32]).join('');
/** A workspace id (`ws_` + 20): `prefix` (letters only) is the test's, for removing leftovers. */
export const workspaceIdFor = (prefix: string) => `ws_${prefix}${body(20 - prefix.length)}`;
export const newSnapshotId = () => `snp_${body(20)}`;

export async function sh(driver: WorkloadDriver, id: string, script: string): Promise<string> {
  const res = await collect(driver.exec(id, { argv: ['sh', '-c', script], timeoutMs: 120_000 }));
  assert.equal(res.exitCode, 0, `${script.slice(0, 80)}…: ${res.stderr}`);
  return res.stdout;
}

/** The tree every round trip saves: 9 MB of random bytes makes a file of three 4 MiB chunks. */
export const TREE_SCRIPT = `
set -e
mkdir -p src/lib/deep/er empty-dir ro
printf 'hello\\n' > src/hello.txt
: > src/empty.txt
head -c 9000000 /dev/urandom > big.bin
printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod 0755 run.sh
printf 'secret\\n' > src/lib/deep/er/private.txt && chmod 0600 src/lib/deep/er/private.txt
chmod 0750 src/lib
printf 'x\\n' > ro/inside.txt && chmod 0444 ro/inside.txt && chmod 0555 ro
ln -s src/hello.txt hello-link
ln -s ../hello.txt src/lib/up-link
ln -s /workspace/src abs-inside
ln -s /usr/bin/env outside-link
ln -s ../../../../etc src/escape-link
mkfifo a-pipe
touch -d '2021-02-03 04:05:06' src/hello.txt src/lib
`;

/** Entries as `type mode path [-> target] [mtime] [sha256]`, sorted; links not restored are absent. */
export async function listing(driver: WorkloadDriver, id: string): Promise<string[]> {
  const out = await sh(
    driver,
    id,
    `find . -mindepth 1 -printf '%y %m %p %l %T@\\n' | sort; find . -type f -exec sha256sum {} + | sort`,
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^([a-z]) (\d+) (.*) (\S+)$/.exec(line);
      if (!m) return line;
      const [, type, mode, rest = '', mtime] = m;
      // Links' own times are not kept; folders' and files' are, to the second.
      return type === 'l'
        ? `${type} ${rest.trim()}`
        : `${type} ${mode} ${rest.trim()} ${Math.floor(Number(mtime))}`;
    })
    .sort();
}
