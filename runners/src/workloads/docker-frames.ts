/**
 * Docker's multiplexed exec stream read in place: each frame is an 8-byte header (stream type
 * 0/1 stdout or 2 stderr, three zero bytes, big-endian payload length) and its payload. The
 * payload is handed on as views of the bytes pushed, never copied; only a header cut by a read
 * boundary is kept (in 8 bytes of its own). See docker-demux.ts for the stream-to-stream form.
 */

const HEADER = 8;

export class DockerFrameError extends Error {
  override name = 'DockerFrameError';
}

/** Where the payload goes: 1 stdout, 2 stderr. The view is valid only during the call. */
export type FrameSink = (stream: 1 | 2, bytes: Buffer) => void;

export class DockerFrameReader {
  private readonly head = Buffer.alloc(HEADER);
  private headFill = 0;
  /** Payload bytes left of the frame in progress (0: a header comes next). */
  private left = 0;
  private stream: 1 | 2 = 1;

  constructor(private readonly sink: FrameSink) {}

  /** Reads `buf[start, end)`; throws on a header of no known stream type. */
  push(buf: Buffer, start = 0, end = buf.length): void {
    let at = start;
    while (at < end) {
      if (this.left > 0) {
        const take = Math.min(this.left, end - at);
        this.sink(this.stream, buf.subarray(at, at + take));
        at += take;
        this.left -= take;
        continue;
      }
      if (this.headFill === 0 && end - at >= HEADER) {
        this.frame(buf, at);
        at += HEADER;
        continue;
      }
      const take = Math.min(HEADER - this.headFill, end - at);
      buf.copy(this.head, this.headFill, at, at + take);
      this.headFill += take;
      at += take;
      if (this.headFill === HEADER) {
        this.headFill = 0;
        this.frame(this.head, 0);
      }
    }
  }

  /** Whether the stream stopped between frames (not inside a header or a payload). */
  get between(): boolean {
    return this.left === 0 && this.headFill === 0;
  }

  private frame(b: Buffer, at: number): void {
    const type = b[at]!;
    if (type > 2 || b[at + 1] !== 0 || b[at + 2] !== 0 || b[at + 3] !== 0) {
      throw new DockerFrameError('the engine sent a frame of no known stream');
    }
    this.stream = type === 2 ? 2 : 1;
    this.left = b.readUInt32BE(at + 4);
  }
}
