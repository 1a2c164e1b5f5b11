/**
 * The snapshot's tar reader against tar-stream on archives GNU tar wrote of a real folder (its
 * own `gnu` format and POSIX pax), fed in pieces of awkward sizes: the same entries, names,
 * modes, times, link targets and bytes. A damaged header, an archive cut short and an
 * oversized metadata record are refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { extract } from 'tar-stream';
import { TarFormatError, type TarHeader, TarReader } from '../../runners/src/snapshots/tar-reader.ts';

interface Seen {
  name: string;
  type: string;
  mode: number;
  size: number;
  mtimeMs: number;
  linkname: string;
  sha?: string;
}

const sha = (parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

function readPieces(tar: Buffer, sizes: number[]): Seen[] {
  const out: Seen[] = [];
  let parts: Buffer[] = [];
  let cur: Seen | undefined;
  const close = () => {
    if (cur?.type === 'file') cur.sha = sha(parts);
    parts = [];
  };
  const r = new TarReader({
    entry(h: TarHeader) {
      close();
      cur = { ...h };
      out.push(cur);
    },
    data(b) {
      parts.push(Buffer.from(b));
    },
  });
  let at = 0;
  for (let i = 0; at < tar.length; i++) {
    const n = sizes[i % sizes.length]!;
    r.push(tar.subarray(at, at + n));
    at += n;
  }
  r.end();
  close();
  return out;
}

/** tar-stream's reading (the entry events: the same in the versions the root and runners hold). */
function readTarStream(tar: Buffer): Promise<Seen[]> {
  const out: Seen[] = [];
  const ex = extract();
  return new Promise((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (p: Buffer) => parts.push(p));
      stream.on('end', () => {
        const type =
          h.type === 'file' || h.type === 'contiguous-file'
            ? 'file'
            : h.type === 'directory' || h.type === 'symlink'
              ? h.type
              : 'other';
        const seen: Seen = {
          name: h.name,
          type,
          mode: h.mode ?? 0,
          size: type === 'file' ? (h.size ?? 0) : 0,
          mtimeMs: h.mtime?.getTime() ?? 0,
          linkname: h.linkname ?? '',
        };
        if (type === 'file') seen.sha = sha(parts);
        out.push(seen);
        next();
      });
    });
    ex.on('finish', () => resolve(out));
    ex.on('error', reject);
    Readable.from([tar]).pipe(ex);
  });
}

describe('the snapshot tar reader', () => {
  let dir: string;
  const archives: Record<string, Buffer> = {};

  before(() => {
    dir = mkdtempSync('/var/tmp/keel-tar-reader-');
    const root = join(dir, 'tree');
    const long = `${'d'.repeat(120)}/${'e'.repeat(130)}`;
    mkdirSync(join(root, long), { recursive: true });
    mkdirSync(join(root, 'empty-dir'));
    writeFileSync(join(root, long, `${'f'.repeat(200)}.txt`), 'deep\n');
    writeFileSync(join(root, 'zero.txt'), '');
    writeFileSync(join(root, 'block.bin'), randomBytes(512));
    writeFileSync(join(root, 'odd.bin'), randomBytes(513));
    writeFileSync(join(root, 'big.bin'), randomBytes(300 * 1024 + 17));
    writeFileSync(join(root, 'ünïcødé ✓.txt'), 'names in UTF-8\n');
    writeFileSync(join(root, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('zero.txt', join(root, 'link'));
    symlinkSync(`${'t'.repeat(150)}/${'u'.repeat(150)}`, join(root, 'long-link'));
    execFileSync('mkfifo', [join(root, 'a-pipe')]);
    utimesSync(join(root, 'zero.txt'), new Date('2021-02-03T04:05:06Z'), new Date('2021-02-03T04:05:06Z'));
    for (const format of ['gnu', 'posix']) {
      archives[format] = execFileSync(
        'tar',
        [`--format=${format}`, '--hard-dereference', '--numeric-owner', '-C', root, '-cf', '-', '.'],
        { maxBuffer: 64 * 1024 * 1024 },
      );
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['gnu', 'posix']) {
    it(`reads GNU tar's ${format} format as tar-stream does, however it is cut`, async () => {
      const tar = archives[format]!;
      const expected = await readTarStream(tar);
      assert.ok(expected.some((e) => e.name.length > 255 && e.type === 'file'));
      assert.ok(expected.some((e) => e.linkname.length > 100));
      for (const sizes of [[tar.length], [1], [7, 511, 513], [512], [65536, 3, 1000]]) {
        assert.deepEqual(readPieces(tar, sizes), expected, `pieces of ${sizes.join(', ')}`);
      }
    });
  }

  it('refuses a damaged header, an archive cut short and an oversized metadata record', () => {
    const tar = Buffer.from(archives.gnu!);
    const bad = Buffer.from(tar);
    bad[600] = (bad[600]! + 1) & 0xff; // inside the second header's name
    assert.throws(() => readPieces(bad, [4096]), TarFormatError);
    // Cut inside big.bin's bytes, and inside a header.
    const at = tar.indexOf('big.bin');
    assert.throws(() => readPieces(tar.subarray(0, at + 4096), [4096]), TarFormatError);
    assert.throws(() => readPieces(tar.subarray(0, at + 100), [4096]), TarFormatError);
    // A GNU long-name record that claims 2 MiB.
    const head = Buffer.alloc(512);
    head.write('././@LongLink', 0);
    head.write('0000644\0', 100);
    head.write(`${(2 * 1024 * 1024).toString(8).padStart(11, '0')}\0`, 124);
    head.write('00000000000\0', 136);
    head[156] = 0x4c;
    head.write('ustar  \0', 257);
    head.write('        ', 148);
    let sum = 0;
    for (const b of head) sum += b;
    head.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    assert.throws(() => readPieces(Buffer.concat([head, Buffer.alloc(1024)]), [512]), /over 1 MiB/);
  });
});
