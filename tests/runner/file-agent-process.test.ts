/*
 * The file agent inside the process driver's bubblewrap sandbox (uid 1000, the host's Node):
 * exec with stdin, and the agent's answers against ConfinedFs on the workspace folder.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AgentFiles, agentFiles } from '../../runners/src/files/agent/index.ts';
import { ConfinedFs } from '../../runners/src/files/confined-fs.ts';
import type { WorkspaceFiles } from '../../runners/src/files/workspace-files.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { collect } from './exec-util.ts';

const id = 'file-agent';

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    const v = await p;
    return { ok: Buffer.isBuffer(v) ? v.toString('base64') : v };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { error: e.constructor.name, code: e.code, message: e.message };
  }
}

describe('file agent (process driver sandbox)', () => {
  let base: string;
  let driver: ProcessDriver;
  let files: AgentFiles;
  let local: ConfinedFs;

  before(async () => {
    base = mkdtempSync('/tmp/keel-file-agent-pd-');
    // The sandbox's user must be able to reach the workspace folder below it.
    chmodSync(base, 0o755);
    driver = new ProcessDriver({ root: path.join(base, 'root') });
    await driver.create({
      workspaceId: id,
      cpus: 1,
      memoryMb: 256,
      network: false,
      storage: { kind: 'volume' },
    });
    await driver.start(id);
    local = new ConfinedFs(await driver.workspaceRoot(id), driver.fileOwner);
    files = agentFiles((req) => driver.exec(id, req));
    const setup = await collect(
      driver.exec(id, {
        argv: ['sh', '-c', 'mkdir -p d && echo hi > d/f && ln -s /etc/passwd p && ln -s /etc e && ln d/f h'],
      }),
    );
    assert.equal(setup.exitCode, 0, setup.stderr);
  });

  after(async () => {
    await files?.close();
    await driver?.remove(id, { keepData: false }).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  });

  it('exec with stdin: the command reads it to end of file', async () => {
    const h = driver.exec(id, { argv: ['wc', '-c'], stdin: true });
    h.stdin?.end('hello world');
    const r = await collect(h);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), '11');
  });

  it('answers as ConfinedFs does, and writes as the workspace user', async () => {
    const cases: [string, (fs: WorkspaceFiles) => Promise<unknown>][] = [
      ['read', (fs) => fs.readFile('d/f')],
      ['read symlink', (fs) => fs.readFile('p')],
      ['read through symlinked dir', (fs) => fs.readFile('e/passwd')],
      ['read hard link', (fs) => fs.readFile('h')],
      ['read ..', (fs) => fs.readFile('../x')],
      ['list', (fs) => fs.listDir('')],
      ['tree', (fs) => fs.tree('')],
      ['write through symlinked dir', (fs) => fs.writeFile('e/x', 'x')],
    ];
    for (const [name, op] of cases)
      assert.deepEqual(await outcome(op(files)), await outcome(op(local)), name);
    await files.writeFile('new.txt', 'from the agent');
    const st = statSync(path.join(await driver.workspaceRoot(id), 'new.txt'));
    assert.deepEqual([st.uid, st.gid], [1000, 1000]);
  });
});
