/*
 * The file agent of remote drivers, run here as a local `node` child process over a temporary
 * root: the same answers as ConfinedFs for every operation and every escape attempt, requests
 * in flight at once, an agent that dies or stalls mid-request, and impostor agents that answer
 * nonsense (refused, never a hang). The Docker engine's version is file-agent-docker.test.ts.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { runnerBuildOptions } from '../../runners/bundle.mjs';
import { type AgentFiles, type AgentFilesOptions, agentFiles } from '../../runners/src/files/agent/index.ts';
import { ConfinedFs, ConfinedFsError } from '../../runners/src/files/confined-fs.ts';
import type { WorkspaceFiles } from '../../runners/src/files/workspace-files.ts';
import { makeExecHandle } from '../../runners/src/workloads/exec-handle.ts';
import type { ExecHandle, ExecRequest } from '../../runners/src/workloads/types.ts';

/** Runs the agent's command line as a child of this process, as a driver's exec would. */
function localRunner() {
  const children: ChildProcess[] = [];
  const run = (req: ExecRequest): ExecHandle =>
    makeExecHandle({
      id: `local-${children.length}`,
      stdin: req.stdin,
      async start(io) {
        assert.equal(req.argv[0], 'node');
        const child = spawn(process.execPath, req.argv.slice(1), {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...req.env },
        });
        children.push(child);
        child.stdout.pipe(io.stdout);
        child.stderr.pipe(io.stderr);
        child.stdin.on('error', () => {});
        io.stdin?.pipe(child.stdin);
        const exited = new Promise<{ exitCode: number | null; signal?: string }>((resolve) => {
          child.on('close', (code, signal) => resolve({ exitCode: code, signal: signal ?? undefined }));
        });
        return {
          exited,
          async killTree() {
            child.kill('SIGKILL');
            await exited;
          },
        };
      },
    });
  return { run, children, last: () => children.at(-1)! };
}

/** What an operation came to: its value, or its error's class, code and message. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    const v = await p;
    return { ok: Buffer.isBuffer(v) ? v.toString('base64') : v };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { error: e.constructor.name, code: e.code, message: e.message };
  }
}

const isCode = (code: string) => (e: unknown) => e instanceof ConfinedFsError && e.code === code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('file agent (local process)', () => {
  let base: string;
  let root: string;
  let local: ConfinedFs;
  let runner: ReturnType<typeof localRunner>;
  let files: AgentFiles;
  const opened: AgentFiles[] = [];
  const open = (opts: AgentFilesOptions = {}, r = localRunner()) => {
    const f = agentFiles(r.run, { root, ...opts });
    opened.push(f);
    return f;
  };

  before(() => {
    base = mkdtempSync('/tmp/keel-file-agent-');
    root = path.join(base, 'ws');
    mkdirSync(path.join(root, 'src/lib'), { recursive: true });
    mkdirSync(path.join(base, 'outside'));
    writeFileSync(path.join(base, 'outside/secret'), 'SECRET');
    writeFileSync(path.join(root, 'src/lib/a.ts'), 'export const a = 1;\n');
    writeFileSync(path.join(root, 'README.md'), '# hi\n');
    writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(300 * 1024, 7));
    symlinkSync('/etc/passwd', path.join(root, 'passwd-link'));
    symlinkSync(path.join(base, 'outside'), path.join(root, 'out-dir'));
    symlinkSync('src', path.join(root, 'inner-link'));
    linkSync(path.join(base, 'outside/secret'), path.join(root, 'hard-secret'));
    local = new ConfinedFs(root);
    runner = localRunner();
    files = open({}, runner);
  });

  after(async () => {
    await Promise.all(opened.map((f) => f.close()));
    rmSync(base, { recursive: true, force: true });
  });

  it('answers every reading operation as ConfinedFs does, refusals included', async () => {
    const cases: [string, (fs: WorkspaceFiles) => Promise<unknown>][] = [
      ['read', (fs) => fs.readFile('src/lib/a.ts')],
      ['read dotted', (fs) => fs.readFile('./src//lib/./a.ts')],
      ['read larger than the blocking size', (fs) => fs.readFile('big.bin')],
      ['read too large', (fs) => fs.readFile('big.bin', { maxBytes: 1000 })],
      ['read missing', (fs) => fs.readFile('nope.txt')],
      ['read a directory', (fs) => fs.readFile('src')],
      ['read the root', (fs) => fs.readFile('')],
      ['read ..', (fs) => fs.readFile('../outside/secret')],
      ['read .. inside', (fs) => fs.readFile('src/../../outside/secret')],
      ['read absolute', (fs) => fs.readFile('/etc/passwd')],
      ['read NUL', (fs) => fs.readFile('a\0b')],
      ['read long name', (fs) => fs.readFile('x'.repeat(300))],
      ['read symlink to /etc/passwd', (fs) => fs.readFile('passwd-link')],
      ['read through a symlinked dir', (fs) => fs.readFile('out-dir/secret')],
      ['read through an inner symlinked dir', (fs) => fs.readFile('inner-link/lib/a.ts')],
      ['read hard link', (fs) => fs.readFile('hard-secret')],
      ['stat file', (fs) => fs.stat('README.md')],
      ['stat root', (fs) => fs.stat('')],
      ['stat symlink', (fs) => fs.stat('passwd-link')],
      ['stat through symlink', (fs) => fs.stat('out-dir/secret')],
      ['stat missing', (fs) => fs.stat('src/nope')],
      ['list root', (fs) => fs.listDir('')],
      ['list bounded', (fs) => fs.listDirBounded('', { maxEntries: 2 })],
      ['list a file', (fs) => fs.listDir('README.md')],
      ['list through symlink', (fs) => fs.listDir('out-dir')],
      ['tree', (fs) => fs.tree()],
      ['tree bounded', (fs) => fs.tree('', { maxEntries: 3 })],
      ['tree shallow', (fs) => fs.tree('src', { maxDepth: 1 })],
      ['tree ..', (fs) => fs.tree('..')],
    ];
    for (const [name, op] of cases) {
      assert.deepEqual(await outcome(op(files)), await outcome(op(local)), name);
    }
  });

  it('writes, makes directories, renames and removes like ConfinedFs, and refuses the same escapes', async () => {
    await files.writeFile('new/deep/file.txt', 'hello', { createParents: true });
    assert.equal(readFileSync(path.join(root, 'new/deep/file.txt'), 'utf8'), 'hello');
    await files.writeFile('new/bin.dat', new Uint8Array([0, 1, 2, 255]), { mode: 0o600 });
    assert.deepEqual([...readFileSync(path.join(root, 'new/bin.dat'))], [0, 1, 2, 255]);
    assert.equal(statSync(path.join(root, 'new/bin.dat')).mode & 0o777, 0o600);
    await files.mkdir('made');
    await files.mkdir('made/a/b', { recursive: true });
    assert.ok(statSync(path.join(root, 'made/a/b')).isDirectory());
    await files.rename('new/bin.dat', 'made/a/moved.dat');
    assert.deepEqual([...readFileSync(path.join(root, 'made/a/moved.dat'))], [0, 1, 2, 255]);
    await files.remove('made', { recursive: true });
    assert.throws(() => statSync(path.join(root, 'made')));

    const refusals: [string, (fs: WorkspaceFiles) => Promise<unknown>][] = [
      ['write ..', (fs) => fs.writeFile('../outside/x', 'x')],
      ['write absolute', (fs) => fs.writeFile('/tmp/x', 'x')],
      ['write through a symlinked dir', (fs) => fs.writeFile('out-dir/x', 'x')],
      ['write over a symlink', (fs) => fs.writeFile('passwd-link', 'x')],
      ['write over a hard link', (fs) => fs.writeFile('hard-secret', 'x')],
      ['write too large', (fs) => fs.writeFile('x', 'x'.repeat(11), { maxBytes: 10 })],
      ['mkdir existing', (fs) => fs.mkdir('src')],
      ['mkdir the root', (fs) => fs.mkdir('')],
      ['mkdir through a symlink', (fs) => fs.mkdir('out-dir/x', { recursive: true })],
      ['remove missing', (fs) => fs.remove('nope')],
      ['remove non-empty', (fs) => fs.remove('src')],
      ['remove ..', (fs) => fs.remove('../outside')],
      ['rename onto existing', (fs) => fs.rename('README.md', 'src/lib/a.ts')],
      ['rename out', (fs) => fs.rename('README.md', '../outside/r')],
      ['rename into a symlinked dir', (fs) => fs.rename('README.md', 'out-dir/r')],
      ['rename missing', (fs) => fs.rename('nope', 'x')],
    ];
    for (const [name, op] of refusals) {
      const a = await outcome(op(files));
      assert.ok((a as { error?: string }).error, `${name} refused`);
      assert.deepEqual(a, await outcome(op(local)), name);
    }
    assert.equal(readFileSync(path.join(base, 'outside/secret'), 'utf8'), 'SECRET');
    assert.ok(readFileSync('/etc/passwd', 'utf8').includes('root:'));
    // Removing a symlink removes the link, never what it points at.
    symlinkSync(path.join(base, 'outside'), path.join(root, 'out-dir-2'));
    await files.remove('out-dir-2');
    assert.equal(readFileSync(path.join(base, 'outside/secret'), 'utf8'), 'SECRET');
  });

  it('caps sizes: reads and writes past the cap are TOO_LARGE, a large file within it round-trips', async () => {
    const five = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < five.length; i += 4096) five[i] = i % 251;
    await files.writeFile('five.bin', five);
    assert.ok((await files.readFile('five.bin')).equals(five));
    await assert.rejects(files.readFile('five.bin', { maxBytes: 1024 * 1024 }), isCode('TOO_LARGE'));
    await assert.rejects(files.writeFile('six.bin', Buffer.alloc(11 * 1024 * 1024)), isCode('TOO_LARGE'));
    // Beyond what one frame carries, whatever the caller asks.
    await assert.rejects(
      files.writeFile('huge.bin', Buffer.alloc(33 * 1024 * 1024), { maxBytes: 64 * 1024 * 1024 }),
      isCode('TOO_LARGE'),
    );
    await files.remove('five.bin');
  });

  it('serves many requests in flight at once, each its own answer', async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        files.writeFile(`par/f${i}.txt`, `n${i}`, { createParents: true }),
      ),
    );
    const reads = await Promise.all(
      Array.from({ length: 200 }, (_, i) => files.readFile(`par/f${i % 50}.txt`).then((b) => b.toString())),
    );
    assert.deepEqual(
      reads,
      reads.map((_, i) => `n${i % 50}`),
    );
    const mixed = await Promise.allSettled([
      files.stat('par'),
      files.readFile('par/none'),
      files.listDir('par'),
      files.readFile('../x'),
    ]);
    assert.equal(mixed[0].status, 'fulfilled');
    assert.equal(mixed[1].status, 'rejected');
    assert.equal(((mixed[2] as PromiseFulfilledResult<unknown[]>).value ?? []).length, 50);
    assert.equal(mixed[3].status, 'rejected');
    // One agent served all of it.
    assert.equal(runner.children.length, 1);
    await files.remove('par', { recursive: true });
  });

  it('fails the requests of an agent killed mid-request clearly, and starts a new one at the next call', async () => {
    const r = localRunner();
    const fs = open({}, r);
    await fs.stat('');
    const first = r.last();
    // Stopped, it cannot answer: the request is surely in flight when the agent dies.
    first.kill('SIGSTOP');
    const pending = fs.readFile('README.md');
    await sleep(100);
    first.kill('SIGKILL');
    await assert.rejects(
      pending,
      (e: unknown) => isCode('UNAVAILABLE')(e) && /file agent/.test((e as Error).message),
    );
    assert.equal((await fs.readFile('README.md')).toString(), '# hi\n');
    assert.equal(r.children.length, 2);
    assert.notEqual(r.last().pid, first.pid);
  });

  it('gives up on a stalled agent at the deadline and replaces it', async () => {
    const r = localRunner();
    const fs = open({ requestTimeoutMs: 400 }, r);
    await fs.stat('');
    r.last().kill('SIGSTOP');
    const t0 = Date.now();
    await assert.rejects(
      fs.stat('README.md'),
      (e: unknown) => isCode('UNAVAILABLE')(e) && /400 ms/.test(String(e)),
    );
    assert.ok(Date.now() - t0 < 3000);
    assert.equal((await fs.stat('README.md')).type, 'file');
    assert.equal(r.children.length, 2);
  });

  it('reports an agent that cannot start (exits at once) as unavailable with its stderr', async () => {
    const fs = open({
      program: async () => 'process.stderr.write("boom: no node here\\n"); process.exit(3);',
    });
    await assert.rejects(fs.stat(''), (e: unknown) => isCode('UNAVAILABLE')(e) && /boom/.test(String(e)));
  });

  it('runs from the runner bundle with the program built at bundle time (no esbuild then)', async () => {
    // The runner's build, with agentFiles as its entry: what a remote driver in the bundle gets.
    const outdir = path.join(base, 'bundle');
    const result = await build({
      ...runnerBuildOptions({ outdir }),
      entryPoints: { 'agent-files': 'runners/src/files/agent/index.ts' },
      sourcemap: false,
      write: true,
    });
    const text = result.outputFiles?.[0]?.text ?? readFileSync(path.join(outdir, 'agent-files.mjs'), 'utf8');
    assert.doesNotMatch(text, /bundle\.mjs|from "esbuild"/);
    const bundled = (await import(path.join(outdir, 'agent-files.mjs'))) as { agentFiles: typeof agentFiles };
    const r = localRunner();
    const fs = bundled.agentFiles(r.run, { root });
    opened.push(fs);
    assert.equal((await fs.readFile('README.md')).toString(), '# hi\n');
  });

  it('refuses work after close', async () => {
    const fs = open();
    await fs.stat('');
    await fs.close();
    await assert.rejects(fs.stat(''), isCode('UNAVAILABLE'));
  });

  describe('an impostor agent (the workspace user tampered with it)', () => {
    /** A program that speaks the framing and answers each request with `respond(id, req, send)`. */
    const impostor = (respond: string) => async () =>
      `
      const s = process.stdin; let b = Buffer.alloc(0);
      function send(id, header, payload) {
        const j = Buffer.from(JSON.stringify(header)); const p = payload || Buffer.alloc(0);
        const h = Buffer.alloc(12); h.writeUInt32BE(8 + j.length + p.length, 0); h.writeUInt32BE(id, 4);
        h.writeUInt32BE(j.length, 8); process.stdout.write(Buffer.concat([h, j, p]));
      }
      const respond = ${respond};
      s.on('data', (c) => {
        b = Buffer.concat([b, c]);
        while (b.length >= 4) {
          const n = b.readUInt32BE(0); if (b.length < 4 + n) break;
          const id = b.readUInt32BE(4); const hl = b.readUInt32BE(8);
          const req = JSON.parse(b.toString('utf8', 12, 12 + hl)); b = b.subarray(4 + n);
          if (id === 0) send(0, { ok: true, result: { protocol: 1 } }); else respond(id, req, send);
        }
      });
      s.resume();`;

    const refused = (e: unknown) => isCode('UNAVAILABLE')(e);

    it('garbage bytes: refused at once', async () => {
      const fs = open({
        program: impostor(`(id) => process.stdout.write(Buffer.from('not a frame at all, just text'))`),
      });
      await assert.rejects(fs.stat(''), refused);
    });

    it('a frame announcing a gigabyte: refused before anything is buffered', async () => {
      const fs = open({
        program: impostor(
          `(id) => { const h = Buffer.alloc(8); h.writeUInt32BE(1 << 30, 0); h.writeUInt32BE(id, 4); process.stdout.write(h); }`,
        ),
      });
      const t0 = Date.now();
      await assert.rejects(fs.stat(''), refused);
      assert.ok(Date.now() - t0 < 5000);
    });

    it('answers to ids never asked are ignored; the real answer still counts', async () => {
      const fs = open({
        program: impostor(`(id, req, send) => {
          send(id + 1000, { ok: true, result: { type: 'file', size: 1, mtimeMs: 0, mode: 420 } });
          send(0xffffffff, { ok: false, error: { code: 'NOT_FOUND', path: 'x' } });
          send(id, { ok: true, result: { type: 'directory', size: 4096, mtimeMs: 1, mode: 493 } });
        }`),
      });
      assert.equal((await fs.stat('')).type, 'directory');
    });

    it('answers only to unknown ids: the request ends at its deadline, not a hang', async () => {
      const fs = open({
        requestTimeoutMs: 300,
        program: impostor(`(id, req, send) => send(id + 7, { ok: true, result: null })`),
      });
      await assert.rejects(fs.stat(''), refused);
    });

    it('malformed results and out-of-bounds values are refused', async () => {
      const answers: [string, string, (fs: WorkspaceFiles) => Promise<unknown>][] = [
        ['not JSON', `send(id, undefined)`, (fs) => fs.stat('')],
        [
          'negative size',
          `send(id, { ok: true, result: { type: 'file', size: -1, mtimeMs: 0, mode: 0 } })`,
          (fs) => fs.stat(''),
        ],
        [
          'unknown type',
          `send(id, { ok: true, result: { type: 'door', size: 1, mtimeMs: 0, mode: 0 } })`,
          (fs) => fs.stat(''),
        ],
        [
          'unknown refusal',
          `send(id, { ok: false, error: { code: 'REBOOTED', path: 'x' } })`,
          (fs) => fs.stat(''),
        ],
        [
          'a name with a slash',
          `send(id, { ok: true, result: { truncated: false, entries: [{ name: '../etc', type: 'file', size: 1, mtimeMs: 0, mode: 0 }] } })`,
          (fs) => fs.listDir(''),
        ],
        [
          'a tree path that climbs',
          `send(id, { ok: true, result: { truncated: false, entries: [{ path: 'a/../../etc', type: 'file', size: 1, mtimeMs: 0, mode: 0 }] } })`,
          (fs) => fs.tree(''),
        ],
        [
          'more entries than asked',
          `send(id, { ok: true, result: { truncated: false, entries: [1,2,3].map((i) => ({ name: 'n' + i, type: 'file', size: 1, mtimeMs: 0, mode: 0 })) } })`,
          (fs) => fs.listDir('', { maxEntries: 2 }),
        ],
        [
          'more bytes than asked',
          `send(id, { ok: true, result: null }, Buffer.alloc(req.maxBytes + 1))`,
          (fs) => fs.readFile('x', { maxBytes: 10 }),
        ],
      ];
      for (const [name, answer, op] of answers) {
        const r = localRunner();
        const fs = open({ program: impostor(`(id, req, send) => { ${answer}; }`) }, r);
        await assert.rejects(op(fs), refused, name);
        // The impostor is ended for it.
        await sleep(50);
        assert.ok(r.last().exitCode !== null || r.last().signalCode !== null, `${name}: agent ended`);
      }
    });

    it('its refusals are mapped back to the same error classes, with the request path', async () => {
      const fs = open({
        program: impostor(
          `(id, req, send) => send(id, { ok: false, error: { code: 'TOO_LARGE', path: req.path } })`,
        ),
      });
      await assert.rejects(
        fs.readFile('a', { maxBytes: 5 }),
        (e: unknown) => isCode('TOO_LARGE')(e) && (e as Error).message === 'file larger than 5 bytes: a',
      );
    });
  });
});
