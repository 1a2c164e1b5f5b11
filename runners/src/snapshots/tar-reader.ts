/**
 * A tar stream read in place: headers decoded as they arrive, a regular file's bytes handed on
 * as views of the pieces read (never copied, never an object per piece). A snapshot reads
 * hundreds of megabytes of GNU tar from `tar -cf -` through the engine's exec; tar-stream's
 * stream per entry and promise per piece cost the runner's main thread more than the parse
 * itself (measured: about a tenth of a second for 200 MB on this project's 2-core host).
 *
 * Reads what GNU tar writes (its `gnu` format: long names and link targets in `L`/`K` entries)
 * and POSIX ustar and pax (`x`/`g` records for path, linkpath and size), as tar-stream does;
 * every header's checksum is checked. Sizes past 2^53 and metadata records past 1 MiB are
 * refused: nothing a workspace's tar writes, and bounded memory whatever the stream holds.
 */

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface TarHeader {
  /** As stored (`./a/b`, `./dir/`): the caller normalises it. */
  name: string;
  type: TarEntryType;
  mode: number;
  /** Bytes of a file's content (0 for other types). */
  size: number;
  mtimeMs: number;
  linkname: string;
}

export interface TarVisitor {
  /** A header; a file's `size` bytes follow through `data`. */
  entry(header: TarHeader): void;
  /** The next bytes of the current file (views of the pieces pushed: use them before returning). */
  data(bytes: Buffer): void;
}

export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

const BLOCK = 512;
const MAX_META = 1024 * 1024;

/** What the bytes at the read position are. */
enum State {
  Header,
  /** A file's content, handed to the visitor. */
  Data,
  /** Content nobody reads (devices' or unknown entries'). */
  Skip,
  /** A metadata record (long name, pax) gathered whole. */
  Meta,
  /** The zero padding to the next 512-byte block. */
  Pad,
  /** After the end-of-archive block: the rest is tar's record padding. */
  Done,
}

export class TarReader {
  private state = State.Header;
  private readonly head = Buffer.alloc(BLOCK);
  private headFill = 0;
  /** Bytes left of the current state's span (data, skip, meta or padding). */
  private left = 0;
  private padAfter = 0;
  private meta: Buffer | undefined;
  private metaFill = 0;
  private metaType = 0;
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Record<string, string> | undefined;
  private paxGlobal: Record<string, string> | undefined;

  constructor(private readonly visitor: TarVisitor) {}

  /** Reads `piece`; calls the visitor as entries and bytes come. Throws on a malformed archive. */
  push(piece: Buffer): void {
    let at = 0;
    const n = piece.length;
    while (at < n) {
      switch (this.state) {
        case State.Header: {
          const take = Math.min(BLOCK - this.headFill, n - at);
          piece.copy(this.head, this.headFill, at, at + take);
          this.headFill += take;
          at += take;
          if (this.headFill === BLOCK) {
            this.headFill = 0;
            this.header();
          }
          break;
        }
        case State.Data: {
          const take = Math.min(this.left, n - at);
          this.visitor.data(piece.subarray(at, at + take));
          at += take;
          this.left -= take;
          if (this.left === 0) this.pad();
          break;
        }
        case State.Meta: {
          const take = Math.min(this.left, n - at);
          piece.copy(this.meta!, this.metaFill, at, at + take);
          this.metaFill += take;
          at += take;
          this.left -= take;
          if (this.left === 0) {
            this.applyMeta();
            this.pad();
          }
          break;
        }
        case State.Skip:
        case State.Pad: {
          const take = Math.min(this.left, n - at);
          at += take;
          this.left -= take;
          if (this.left === 0) {
            if (this.state === State.Skip) this.pad();
            else this.state = State.Header;
          }
          break;
        }
        case State.Done:
          return;
      }
    }
  }

  /** The stream is over: throws when it stopped inside an entry or a header. */
  end(): void {
    if (this.state === State.Done) return;
    if (this.state !== State.Header || this.headFill !== 0) {
      throw new TarFormatError('the archive ended inside an entry');
    }
  }

  private pad(): void {
    this.left = this.padAfter;
    this.state = this.left > 0 ? State.Pad : State.Header;
  }

  /** Moves to the span of `size` bytes in `state`, then its padding. */
  private span(state: State, size: number): void {
    this.padAfter = (BLOCK - (size % BLOCK)) % BLOCK;
    this.left = size;
    if (size > 0) this.state = state;
    else this.pad();
  }

  private header(): void {
    const b = this.head;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
    // A block of zeros: the end of the archive (tar pads its last record with more of them).
    if (sum === 8 * 32) {
      this.state = State.Done;
      return;
    }
    if (sum !== octal(b, 148, 8)) throw new TarFormatError('a tar header fails its checksum');
    const ustar = b.toString('latin1', 257, 263);
    const gnu = ustar === 'ustar ' && b[263] === 0x20 && b[264] === 0;
    if (ustar !== 'ustar\0' && !gnu) throw new TarFormatError('a tar header of unknown format');
    const flag = b[156]!;
    const size = octal(b, 124, 12);
    if (!(size >= 0 && size <= Number.MAX_SAFE_INTEGER))
      throw new TarFormatError('a tar entry of no valid size');

    // Metadata for the next entry: `L`/`K` (GNU long name, link), `x`/`g` (pax).
    if (flag === 0x4c || flag === 0x4b || flag === 0x78 || flag === 0x67) {
      if (size > MAX_META) throw new TarFormatError('a tar metadata record over 1 MiB');
      this.meta = Buffer.alloc(size);
      this.metaFill = 0;
      this.metaType = flag;
      this.span(State.Meta, size);
      return;
    }

    let name = text(b, 0, 100);
    if (!gnu && b[345] !== 0) name = `${text(b, 345, 155)}/${name}`;
    let linkname = b[157] === 0 ? '' : text(b, 157, 100);
    let realSize = size;
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    if (this.pax) {
      if (this.pax.path) name = this.pax.path;
      if (this.pax.linkpath) linkname = this.pax.linkpath;
      if (this.pax.size) realSize = Number.parseInt(this.pax.size, 10);
      if (!(realSize >= 0 && realSize <= Number.MAX_SAFE_INTEGER)) {
        throw new TarFormatError('a pax record of no valid size');
      }
    }
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = this.paxGlobal;

    let type: TarEntryType;
    if (flag === 0 || flag === 0x30 || flag === 0x37)
      type = name.endsWith('/') && flag !== 0x37 ? 'directory' : 'file';
    else if (flag === 0x35) type = 'directory';
    else if (flag === 0x32) type = 'symlink';
    else type = 'other';

    const mtime = octal(b, 136, 12);
    this.visitor.entry({
      name,
      type,
      mode: octal(b, 100, 8),
      size: type === 'file' ? realSize : 0,
      mtimeMs: Number.isFinite(mtime) ? mtime * 1000 : 0,
      linkname,
    });
    // A folder has no content (as tar-stream reads it); another type's is skipped.
    if (type === 'file') this.span(State.Data, realSize);
    else if (type === 'directory') this.span(State.Skip, 0);
    else this.span(State.Skip, realSize);
  }

  private applyMeta(): void {
    const meta = this.meta!;
    this.meta = undefined;
    if (this.metaType === 0x4c) this.longName = text(meta, 0, meta.length);
    else if (this.metaType === 0x4b) this.longLink = text(meta, 0, meta.length);
    else if (this.metaType === 0x67) this.paxGlobal = { ...this.paxGlobal, ...paxRecords(meta) };
    else this.pax = { ...this.paxGlobal, ...paxRecords(meta) };
  }
}

/** A NUL-terminated UTF-8 field. */
function text(b: Buffer, start: number, length: number): string {
  let end = start;
  const stop = Math.min(b.length, start + length);
  while (end < stop && b[end] !== 0) end++;
  return b.toString('utf8', start, end);
}

/** An octal field (leading spaces or NULs, ended by a space or NUL), or GNU's base-256 for large values. */
function octal(b: Buffer, start: number, length: number): number {
  const end = start + length;
  if (b[start]! & 0x80) {
    // Base-256, big-endian; the top bit of the first byte marks it (0xff: negative, refused).
    if (b[start] !== 0x80) return Number.NaN;
    let v = 0;
    for (let i = start + 1; i < end; i++) v = v * 256 + b[i]!;
    return v;
  }
  let i = start;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** pax records: `LEN key=value\n`, each LEN bytes long with its own digits and newline. */
function paxRecords(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < b.length && b[at] !== 0) {
    let sp = at;
    while (sp < b.length && b[sp] !== 0x20) sp++;
    const len = Number.parseInt(b.toString('latin1', at, sp), 10);
    if (!(len > 0) || at + len > b.length) throw new TarFormatError('a malformed pax record');
    const record = b.toString('utf8', sp + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}
