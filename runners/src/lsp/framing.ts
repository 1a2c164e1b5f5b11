/**
 * The LSP base protocol on a server's stdio: `Content-Length: <n>\r\n` (other headers allowed),
 * a blank line, then n bytes of UTF-8 JSON.
 *
 * A small parser of our own rather than vscode-jsonrpc's reader: that package is only in
 * node_modules as a dependency of the language servers (the runner does not declare it), and its
 * reader takes any Content-Length it is given, buffering it whole. Here a header or a body past
 * its cap is an error the caller reports, with nothing kept.
 */

const HEADER_MAX_BYTES = 8 * 1024;
const SEPARATOR = Buffer.from('\r\n\r\n');

export class FrameError extends Error {}

export class LspFrameReader {
  #chunks: Buffer[] = [];
  #size = 0;
  /** The body length once a header has been read; -1 while reading a header. */
  #body = -1;
  #failed = false;

  constructor(
    private readonly maxBodyBytes: number,
    private readonly onMessage: (text: string) => void,
    private readonly onError: (err: FrameError) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.#failed) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    try {
      this.#drain();
    } catch (err) {
      this.#failed = true;
      this.#chunks = [];
      this.#size = 0;
      this.onError(err instanceof FrameError ? err : new FrameError(String(err)));
    }
  }

  #drain(): void {
    for (;;) {
      if (this.#body < 0) {
        const buf = this.#joined();
        const end = buf.indexOf(SEPARATOR);
        if (end < 0) {
          if (buf.length > HEADER_MAX_BYTES) throw new FrameError('a header longer than 8 KiB');
          return;
        }
        this.#body = parseLength(buf.subarray(0, end).toString('ascii'), this.maxBodyBytes);
        this.#take(end + SEPARATOR.length);
      }
      if (this.#size < this.#body) return;
      const buf = this.#joined();
      const text = buf.subarray(0, this.#body).toString('utf8');
      this.#take(this.#body);
      this.#body = -1;
      this.onMessage(text);
    }
  }

  #joined(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  #take(n: number): void {
    const rest = this.#joined().subarray(n);
    this.#chunks = rest.length ? [rest] : [];
    this.#size = rest.length;
  }
}

function parseLength(header: string, max: number): number {
  let length: number | undefined;
  for (const line of header.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0)
      throw new FrameError(`a header line without a colon: ${JSON.stringify(line.slice(0, 80))}`);
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d{1,10}$/.test(value)) throw new FrameError(`a Content-Length of ${JSON.stringify(value)}`);
    length = Number(value);
  }
  if (length === undefined) throw new FrameError('a message without Content-Length');
  if (length > max) throw new FrameError(`a message of ${length} bytes, over the ${max}-byte cap`);
  return length;
}

/** One message framed for a server's stdin. */
export function frameMessage(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}
