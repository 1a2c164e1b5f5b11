/**
 * The tar headers a restore writes, byte for byte what tar-stream 3's pack wrote for the same
 * entries (tests/snapshots/tar-writer.test.ts compares the two): a ustar header, with the name
 * split into prefix and name where it is ASCII and fits; otherwise a PAX extended header
 * (`path`, and `linkpath` for a link target past 100 bytes) named `PaxHeader`, as tar-stream
 * names it, before the ustar header. Sizes and times that do not fit 11 octal digits are
 * written in base 256 (GNU tar reads both). No owner: uid and gid 0, no user or group names
 * (the restore's `tar -x --no-same-owner` gives every entry the workspace's user).
 *
 * Written here instead of through tar-stream's pack, with the writer that uses it, to cut the
 * runner's CPU per restore (see tar-writer.ts for the measurement).
 */

export type TarEntryType = 'file' | 'directory' | 'symlink';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Permission bits only (masked to 0o7777 here); 0 is written as tar-stream's default. */
  mode: number;
  /** File bytes; 0 for folders and links. */
  size: number;
  /** Milliseconds since the epoch, written as whole seconds. */
  mtimeMs: number;
  linkname?: string;
}

const BLOCK = 512;
const TYPEFLAG = { file: 0x30, symlink: 0x32, directory: 0x35 } as const;
const PAX_TYPEFLAG = 0x30 + 72; // 'x'
/** tar-stream's defaults for a mode of 0: such an entry was written 0755 (folder) or 0644. */
const DEFAULT_MODE = { file: 0o644, directory: 0o755, symlink: 0o644 } as const;
const ZEROS = '0000000000000000000';
const SEVENS = '7777777777777777777';

/** The bytes before an entry's content: its header, and a PAX header before it when needed. */
export function encodeHeader(h: TarHeader, into: Buffer = Buffer.alloc(0)): Buffer {
  const mode = h.mode & 0o7777 || DEFAULT_MODE[h.type];
  // As `new Date(ms)` then `Math.floor(getTime() / 1000) || 0`: Date's own rounding of the
  // milliseconds (toward zero, NaN past its range) comes first.
  const mtime = Math.floor(new Date(h.mtimeMs).getTime() / 1000) || 0;
  const split = splitName(h.name);
  const linkFits = h.linkname === undefined || Buffer.byteLength(h.linkname) <= 100;
  if (split && linkFits) {
    const out = room(into, BLOCK);
    ustar(out, 0, split, mode, h.size, mtime, TYPEFLAG[h.type], h.linkname);
    return out.subarray(0, BLOCK);
  }
  let records = paxRecord('path', h.name);
  if (h.linkname) records += paxRecord('linkpath', h.linkname);
  const paxBytes = Buffer.byteLength(records);
  const padded = Math.ceil(paxBytes / BLOCK) * BLOCK;
  const total = BLOCK + padded + BLOCK;
  const out = room(into, total);
  const named = { name: 'PaxHeader', prefix: '' };
  const link = h.linkname ? 'PaxHeader' : undefined;
  ustar(out, 0, named, mode, paxBytes, mtime, PAX_TYPEFLAG, link);
  out.fill(0, BLOCK, BLOCK + padded);
  out.write(records, BLOCK, 'utf8');
  ustar(out, BLOCK + padded, named, mode, h.size, mtime, TYPEFLAG[h.type], link);
  return out.subarray(0, total);
}

function room(into: Buffer, n: number): Buffer {
  return into.length >= n ? into : Buffer.alloc(Math.max(n, 2 * into.length));
}

/** ASCII names only, cut at `/` into a prefix of ≤ 155 bytes and a name of ≤ 100, as tar-stream cut them. */
function splitName(full: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(full) !== full.length) return undefined;
  let name = full;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (prefix.length > 155) return undefined;
  return { name, prefix };
}

function ustar(
  buf: Buffer,
  at: number,
  { name, prefix }: { name: string; prefix: string },
  mode: number,
  size: number,
  mtime: number,
  typeflag: number,
  linkname: string | undefined,
): void {
  buf.fill(0, at, at + BLOCK);
  buf.write(name, at, 'latin1');
  buf.write(octal(mode, 6), at + 100, 'latin1');
  buf.write('000000 ', at + 108, 'latin1'); // uid
  buf.write('000000 ', at + 116, 'latin1'); // gid
  number12(buf, at + 124, size);
  number12(buf, at + 136, mtime);
  buf[at + 156] = typeflag;
  if (linkname) buf.write(linkname, at + 157, 100, 'utf8');
  buf.write('ustar\x0000', at + 257, 'latin1');
  buf.write('000000 ', at + 329, 'latin1'); // devmajor
  buf.write('000000 ', at + 337, 'latin1'); // devminor
  if (prefix) buf.write(prefix, at + 345, 'latin1');
  let sum = 8 * 32;
  for (let i = at; i < at + 148; i++) sum += buf[i]!;
  for (let i = at + 156; i < at + BLOCK; i++) sum += buf[i]!;
  buf.write(octal(sum, 6), at + 148, 'latin1');
}

function octal(n: number, digits: number): string {
  const s = n.toString(8);
  if (s.length > digits) return `${SEVENS.slice(0, digits)} `;
  return `${ZEROS.slice(0, digits - s.length)}${s} `;
}

/** 11 octal digits and a space, or base 256 (a negative time, or a size past 8 GiB). */
function number12(buf: Buffer, at: number, n: number): void {
  if (n >= 0 && n.toString(8).length <= 11) {
    buf.write(octal(n, 11), at, 'latin1');
    return;
  }
  buf[at] = n < 0 ? 0xff : 0x80;
  let v = n;
  for (let i = 11; i > 0; i--) {
    buf[at + i] = v & 0xff;
    v = Math.floor(v / 0x100);
  }
}

/** `<length> key=value\n`, the length counting itself (tar-stream's arithmetic, kept exactly). */
function paxRecord(key: string, value: string): string {
  const str = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(str);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= 10 ** digits) digits++;
  return `${len + digits}${str}`;
}

/** What ends an archive: two zero blocks. */
export const END_OF_ARCHIVE = 2 * BLOCK;

/** Zeros after `size` bytes of content, up to the next block. */
export function paddingAfter(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}
