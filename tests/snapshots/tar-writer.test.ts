/**
 * The restore's tar writer (tar-writer.ts, tar-headers.ts) against what it replaced and what
 * reads it: for hand-picked trees (names past 100 bytes, split or not, unicode names and link
 * targets, link targets past 100 bytes, empty files, files across chunks, many small files in
 * one chunk, modes with set-id bits and mode 0, times before 1970 and far ahead) and for
 * trees drawn from a fixed seed, its bytes equal those tar-stream 3's pack wrote for the same
 * entries (from a store that reads into given buffers, and from one that hands out its own, as
 * S3's does), GNU tar lists what the manifest says, and GNU tar extracts the same files. Then:
 * chunk buffers are reused, a tampered chunk writes none of its bytes, and a reader that stops
 * reading stops the writer.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type ManifestEntry, type SnapshotManifest, snapshotStoreKeys } from '@keel/contract/snapshots';
import { checkSnapshot } from '../../runners/src/snapshots/engine.ts';
import type { CheckedManifest } from '../../runners/src/snapshots/entry-checks.ts';
import { FolderStore } from '../../runners/src/snapshots/folder-store.ts';
import { writeManifest } from '../../runners/src/snapshots/manifest.ts';
import type { SnapshotStore } from '../../runners/src/snapshots/store.ts';
import { ChunkError, manifestTar } from '../../runners/src/snapshots/tar-writer.ts';
import { feedInput } from '../../runners/src/workloads/taken-input.ts';
import { newSnapshotId, workspaceIdFor } from './engine-tree.ts';

// The pack the runner used before (runners' own tar-stream 3, not the root's older copy).
const { pack } = createRequire(new URL('../../runners/package.json', import.meta.url))(
  'tar-stream',
) as typeof import('tar-stream');

const NOW = new Date('2026-12-06T12:34:56.789Z');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type FileSpec = { path: string; mode: number; mtimeMs: number; data: Buffer };
type Spec = {
  dirs: { path: string; mode: number; mtimeMs: number }[];
  files: FileSpec[];
  links: { path: string; target: string }[];
  /** Chunk lengths to cut the files' bytes into, repeated (the last chunk takes the rest). */
  cuts: number[];
};

let base: string;
let store: FolderStore;

before(() => {
  base = mkdtempSync('/tmp/keel-tar-writer-');
  store = new FolderStore(join(base, 'store'));
});
after(() => rmSync(base, { recursive: true, force: true }));

/** Writes the spec's chunks and manifest into the store; returns the checked snapshot. */
async function stored(spec: Spec): Promise<CheckedManifest> {
  const all = Buffer.concat(spec.files.map((f) => f.data));
  const chunks: SnapshotManifest['chunks'] = [];
  for (let at = 0, i = 0; at < all.length; i++) {
    const n = Math.min(spec.cuts[i % spec.cuts.length]!, all.length - at);
    const bytes = all.subarray(at, at + n);
    const hash = sha(bytes);
    await store.put(snapshotStoreKeys.chunk(hash), bytes);
    chunks.push({ hash, size: n });
    at += n;
  }
  const entries: ManifestEntry[] = [
    ...spec.dirs.map((d) => ({ type: 'directory' as const, ...d })),
    ...spec.files.map(({ data, ...f }) => ({ type: 'file' as const, ...f, size: data.length })),
    ...spec.links.map((l) => ({ type: 'symlink' as const, ...l })),
  ];
  const snapshotId = newSnapshotId();
  await writeManifest(store, {
    v: 2,
    snapshotId,
    workspaceId: workspaceIdFor('tarwriter'),
    takenAt: NOW.toISOString(),
    chunks,
    entries,
  });
  return checkSnapshot(store, snapshotId);
}

/** What the runner wrote with tar-stream's pack, for the same checked entries. */
async function packed(checked: CheckedManifest, spec: Spec): Promise<Buffer> {
  const byPath = new Map(spec.files.map((f) => [f.path, f.data]));
  const p = pack();
  const out = collect(p as unknown as Readable);
  const add = (header: Parameters<typeof p.entry>[0], data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (data) p.entry(header, data, done);
      else p.entry(header, done);
    });
  for (const e of checked.ordered) {
    if (e.type === 'directory') {
      await add({ name: e.path, type: 'directory', mode: e.mode & 0o1777, mtime: new Date(e.mtimeMs) });
    } else if (e.type === 'symlink') {
      await add({ name: e.path, type: 'symlink', linkname: e.target, mode: 0o777, mtime: NOW });
    } else {
      const header = {
        name: e.path,
        type: 'file' as const,
        mode: e.mode & 0o1777,
        mtime: new Date(e.mtimeMs),
      };
      await add({ ...header, size: e.size }, byPath.get(e.path)!);
    }
  }
  p.finalize();
  return out;
}

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (b: Buffer) => parts.push(b));
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(parts)));
  });
}

function gnuTar(args: string[], input: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', args, { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' } });
    let out = '';
    let err = '';
    tar.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
    });
    tar.stderr.on('data', (b: Buffer) => {
      err += b.toString('utf8');
    });
    tar.once('error', reject);
    tar.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`tar ${args.join(' ')}: ${code}: ${err}`)),
    );
    tar.stdin.end(input);
  });
}

/** GNU tar's listing: `type+mode size mtime name[ -> target]` per entry. */
function listed(text: string): string[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S+) 0\/0\s+(\d+) (\S+ \S+) (.*)$/.exec(line);
      assert.ok(m, line);
      return `${m[1]} ${m[2]} ${m[3]} ${m[4]}`;
    });
}

const perm = (mode: number) =>
  [6, 3, 0]
    .map((s) => {
      const b = (mode >> s) & 7;
      return `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
    })
    .join('');
const stamp = (ms: number) =>
  new Date(Math.floor(new Date(ms).getTime() / 1000) * 1000).toISOString().replace('T', ' ').slice(0, 19);

/** What GNU tar must list for the checked entries (modes as the pack defaulted them). */
function expectedListing(checked: CheckedManifest): string[] {
  return checked.ordered.map((e) => {
    if (e.type === 'symlink') return `lrwxrwxrwx 0 ${stamp(NOW.getTime())} ${e.path} -> ${e.target}`;
    const mode = e.mode & 0o1777 || (e.type === 'directory' ? 0o755 : 0o644);
    let p = perm(mode);
    if (mode & 0o1000) p = p.slice(0, 8) + (mode & 1 ? 't' : 'T');
    const size = e.type === 'file' ? e.size : 0;
    return `${e.type === 'directory' ? 'd' : '-'}${p} ${size} ${stamp(e.mtimeMs)} ${e.path}`;
  });
}

async function compare(spec: Spec, blockBytes?: number): Promise<{ ours: Buffer; checked: CheckedManifest }> {
  const checked = await stored(spec);
  const ours = await collect(
    manifestTar(store, checked, undefined, { now: NOW, ...(blockBytes ? { blockBytes } : {}) }),
  );
  const theirs = await packed(checked, spec);
  assert.equal(ours.length, theirs.length, 'the same length as the pack wrote');
  if (!ours.equals(theirs)) {
    let i = 0;
    while (ours[i] === theirs[i]) i++;
    assert.fail(`first difference at byte ${i} (block ${Math.floor(i / 512)}, offset ${i % 512})`);
  }
  const listing = await gnuTar(
    ['--numeric-owner', '--full-time', '--quoting-style=literal', '-tvf', '-'],
    ours,
  );
  assert.deepEqual(listed(listing), expectedListing(checked));
  return { ours, checked };
}

const rand = (seed: number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};
const bytes = (next: () => number, n: number) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (next() * 256) | 0;
  return b;
};

const LONG_DIR = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
const HAND: Spec = {
  dirs: [
    { path: 'src', mode: 0o755, mtimeMs: 1612325106000 },
    { path: LONG_DIR.split('/')[0]!, mode: 0o750, mtimeMs: 0 },
    { path: LONG_DIR, mode: 0o700, mtimeMs: -86_400_500 },
    { path: 'ünïcødé-目录', mode: 0o2775, mtimeMs: 1_700_000_000_999 },
    { path: 'zero-mode', mode: 0, mtimeMs: 1_000 },
    { path: 'sticky', mode: 0o1777, mtimeMs: 2_000 },
    { path: 'x'.repeat(120), mode: 0o755, mtimeMs: 3_000 },
  ],
  files: [
    { path: 'src/empty.txt', mode: 0o644, mtimeMs: 1_600_000_000_000, data: Buffer.alloc(0) },
    { path: 'src/hello.txt', mode: 0o644, mtimeMs: 1_600_000_000_500, data: Buffer.from('hello\n') },
    { path: 'src/setuid', mode: 0o6755, mtimeMs: 1_600_000_001_000, data: Buffer.from('#!/bin/sh\n') },
    { path: 'src/zero-mode-file', mode: 0, mtimeMs: 5_000, data: Buffer.from('0') },
    { path: `${LONG_DIR}/${'f'.repeat(90)}.txt`, mode: 0o600, mtimeMs: 7_000, data: Buffer.from('long\n') },
    {
      path: `${'x'.repeat(120)}/${'y'.repeat(101)}`,
      mode: 0o644,
      mtimeMs: 8_000,
      data: Buffer.from('pax\n'),
    },
    { path: 'ünïcødé-目录/файл.txt', mode: 0o640, mtimeMs: 9_000, data: Buffer.from('юникод\n') },
    { path: 'src/exactly-512', mode: 0o644, mtimeMs: 10_000, data: Buffer.alloc(512, 7) },
    { path: 'src/big.bin', mode: 0o755, mtimeMs: 4_102_444_800_000, data: bytes(rand(1), 700_001) },
    ...Array.from({ length: 300 }, (_, i) => ({
      path: `src/small-${i}.js`,
      mode: 0o644,
      mtimeMs: 1_650_000_000_000 + i * 1001,
      data: bytes(rand(100 + i), (i * 37) % 900),
    })),
  ],
  links: [
    { path: 'hello-link', target: 'src/hello.txt' },
    { path: 'long-link', target: `${LONG_DIR}/${'f'.repeat(90)}.txt` },
    { path: 'ünïcødé-link', target: 'ünïcødé-目录/файл.txt' },
    { path: 'src/up', target: '../src' },
    { path: `${'x'.repeat(120)}/link`, target: '/workspace/src' },
  ],
  // Chunks smaller and larger than files: files span chunks, chunks hold many files.
  cuts: [100_000, 3, 250_000, 65_536, 1],
};

describe('the restore tar writer', () => {
  it('writes the bytes the pack wrote, which GNU tar lists and extracts as the manifest says', async () => {
    const { ours, checked } = await compare(HAND);
    const out = join(base, 'extracted');
    mkdirSync(out);
    await gnuTar(['-xpf', '-', '-C', out, '--no-same-owner', '--delay-directory-restore'], ours);
    for (const f of HAND.files) {
      const at = join(out, f.path);
      assert.equal(sha(readFileSync(at)), sha(f.data), f.path);
      assert.equal(lstatSync(at).mode & 0o7777, f.mode & 0o1777 || 0o644, f.path);
    }
    for (const l of HAND.links) assert.equal(readlinkSync(join(out, l.path)), l.target);
    for (const d of HAND.dirs) {
      const info = lstatSync(join(out, d.path));
      assert.ok(info.isDirectory(), d.path);
      assert.equal(Math.floor(info.mtimeMs / 1000), Math.floor(d.mtimeMs / 1000), d.path);
    }
    assert.equal(readdirSync(out).length, new Set(checked.ordered.map((e) => e.path.split('/')[0])).size);
  });

  it('writes the same bytes whatever its block size', async () => {
    for (const blockBytes of [512, 777, 4096, 1 << 20]) await compare(HAND, blockBytes);
  });

  it('matches the pack on trees drawn from a fixed seed', async () => {
    const next = rand(20261206);
    const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    const parts = [
      'a',
      'src',
      'node_modules',
      'ü',
      '目录',
      'файл',
      'x'.repeat(70),
      'y'.repeat(99),
      'z'.repeat(150),
      'b c',
    ];
    for (let round = 0; round < 25; round++) {
      const dirs = new Map<string, Spec['dirs'][number]>();
      const files: FileSpec[] = [];
      const links: Spec['links'] = [];
      const used = new Set<string>();
      const dirOf = () => {
        const depth = Math.floor(next() * 4);
        const segs = Array.from({ length: depth }, () => `${pick(parts)}${Math.floor(next() * 3)}`);
        for (let i = 1; i <= segs.length; i++) {
          const p = segs.slice(0, i).join('/');
          if (!dirs.has(p)) {
            dirs.set(p, { path: p, mode: Math.floor(next() * 0o10000), mtimeMs: (next() - 0.2) * 5e12 });
          }
        }
        return segs.join('/');
      };
      const fresh = (dir: string, stem: string) => {
        for (;;) {
          const name = `${stem}${Math.floor(next() * 1e6)}`;
          const p = dir ? `${dir}/${name}` : name;
          if (!used.has(p) && !dirs.has(p)) {
            used.add(p);
            return p;
          }
        }
      };
      const nFiles = 1 + Math.floor(next() * 40);
      for (let i = 0; i < nFiles; i++) {
        const size = pick([0, 1, 511, 512, 513, Math.floor(next() * 5000), Math.floor(next() * 300_000)]);
        files.push({
          path: fresh(dirOf(), pick(['f', 'ü', 'long'.repeat(30), 'é'.repeat(60)])),
          mode: Math.floor(next() * 0o10000),
          mtimeMs: pick([0, -1, 1e12 + next() * 1e9, 9e12, -1000.5]),
          data: bytes(next, size),
        });
      }
      for (let i = 0; i < Math.floor(next() * 5); i++) {
        const target = pick([files[0]!.path, 'a'.repeat(150), 'ü'.repeat(40), '.']);
        links.push({ path: fresh('', 'link'), target });
      }
      const cuts = Array.from({ length: 3 }, () => 1 + Math.floor(next() * 200_000));
      await compare({ dirs: [...dirs.values()], files, links, cuts }, pick([512, 1000, 65_536, undefined]));
    }
  });

  it('writes the same bytes from a store that only hands out its own buffers (as S3 does)', async () => {
    const checked = await stored(HAND);
    const plain: SnapshotStore = {
      kind: 's3',
      has: (key) => store.has(key),
      get: (key, maxBytes) => store.get(key, maxBytes),
      put: (key, data) => store.put(key, data),
      delete: (keys) => store.delete(keys),
      list: (prefix) => store.list(prefix),
    };
    const viaGet = await collect(manifestTar(plain, checked, undefined, { now: NOW }));
    assert.ok(viaGet.equals(await packed(checked, HAND)));
  });

  it('reads chunks into a few buffers it reuses', async () => {
    const spec: Spec = {
      dirs: [],
      files: Array.from({ length: 50 }, (_, i) => ({
        path: `f${i}`,
        mode: 0o644,
        mtimeMs: 0,
        data: bytes(rand(i), 20_000),
      })),
      links: [],
      cuts: [7_000],
    };
    const checked = await stored(spec);
    assert.ok(checked.chunks.length > 100);
    let made = -1;
    await collect(manifestTar(store, checked, undefined, { onDone: (n) => (made = n) }));
    assert.ok(made >= 1 && made <= 5, `${made} buffers`);
  });

  it('reuses every buffer once its bytes were taken, and changes no byte under backpressure', async () => {
    // Files that lend pieces of their chunks to the stream and files copied into blocks, in
    // the same chunks; written through a stdin fed to a unix socket whose reader lags behind.
    const files: FileSpec[] = [];
    for (let i = 0; i < 90; i++) {
      const size = i % 3 === 2 ? 3_000 + i : 70_000 + ((i * 7919) % 300_000);
      files.push({ path: `f${i}`, mode: 0o644, mtimeMs: 0, data: bytes(rand(300 + i), size) });
    }
    const checked = await stored({ dirs: [], files, links: [], cuts: [150_000, 90_000, 400_000] });
    assert.ok(checked.chunks.length > 40, `${checked.chunks.length} chunks`);
    const expected = await collect(manifestTar(store, checked, undefined, { now: NOW }));

    const path = join(base, 'stdin.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const far = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      const near = net.connect(path);
      const stdin = new PassThrough();
      feedInput(stdin, near);
      const reader = await far;
      const parts: Buffer[] = [];
      reader.on('data', (b: Buffer) => {
        parts.push(b);
        reader.pause();
        setTimeout(() => reader.resume(), 1);
      });
      const ended = new Promise((resolve) => reader.once('end', resolve));
      let made = -1;
      manifestTar(store, checked, undefined, { now: NOW, blockBytes: 8192, onDone: (n) => (made = n) }).pipe(
        stdin,
      );
      await ended;
      assert.ok(
        Buffer.concat(parts).equals(expected),
        `${Buffer.concat(parts).length} bytes of ${expected.length}`,
      );
      assert.ok(made >= 1 && made <= 12, `${made} chunk buffers for ${checked.chunks.length} chunks`);
    } finally {
      server.close();
    }
  });

  it('writes none of a tampered chunk, and fails by its name', async () => {
    const marker = Buffer.from('THE-TAMPERED-BYTES-');
    const spec: Spec = {
      dirs: [],
      files: [
        { path: 'a', mode: 0o644, mtimeMs: 0, data: Buffer.alloc(3000, 1) },
        { path: 'b', mode: 0o644, mtimeMs: 0, data: Buffer.concat([marker, Buffer.alloc(981, 2)]) },
      ],
      links: [],
      cuts: [1000],
    };
    const checked = await stored(spec);
    // The chunk that begins file b: its bytes replaced by others of the same length.
    const bad = checked.chunks[3]!;
    const path = join(store.root, snapshotStoreKeys.chunk(bad.hash));
    const tampered = Buffer.concat([marker, Buffer.alloc(bad.size - marker.length, 3)]);
    rmSync(path);
    await store.put(snapshotStoreKeys.chunk(bad.hash), tampered);
    const parts: Buffer[] = [];
    const tar = manifestTar(store, checked, undefined, { blockBytes: 512 });
    tar.on('data', (b: Buffer) => parts.push(Buffer.from(b)));
    const err = await new Promise<unknown>((resolve) => tar.once('error', resolve));
    assert.ok(err instanceof ChunkError);
    assert.match(err.message, new RegExp(`chunk ${bad.hash} in the snapshot store does not match its hash`));
    assert.equal(Buffer.concat(parts).indexOf(marker), -1);
    // Missing: named too.
    rmSync(path);
    await assert.rejects(
      collect(manifestTar(store, checked)),
      new RegExp(`chunk ${bad.hash} is missing from the snapshot store`),
    );
  });

  it('waits for its reader: a reader that stops reading holds a block or so', async () => {
    const spec: Spec = {
      dirs: [],
      files: [{ path: 'big', mode: 0o644, mtimeMs: 0, data: bytes(rand(7), 3_000_000) }],
      links: [],
      cuts: [1_000_000],
    };
    const checked = await stored(spec);
    const tar = manifestTar(store, checked, undefined, { blockBytes: 65_536 });
    tar.read(0);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(tar.readableLength <= 2 * 65_536, `${tar.readableLength} bytes waiting`);
    const rest = await collect(tar);
    assert.ok(rest.length > 3_000_000);
  });
});
