/*
 * The frames the runner and the file agent exchange over the agent's stdin and stdout, the same
 * both ways:
 *
 *   u32 length of the rest | u32 request id | u32 header length | JSON header | payload bytes
 *
 * (big-endian). File contents travel as raw payload bytes, never base64; every other value is in
 * the JSON header. Both sides refuse a frame longer than `MAX_FRAME_BYTES` before buffering it.
 */

/** The largest file the agent reads or writes; asking for more is clamped to it. */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;
/** A file at the cap, or a listing of the most entries a caller may ask for, plus headers. */
export const MAX_FRAME_BYTES = MAX_FILE_BYTES + 1024 * 1024;
/** Ids are u32; 0 is the start frame and its answer. */
export const START_ID = 0;

export interface Frame {
  id: number;
  /** The raw JSON header; the receiver parses and validates it. */
  header: Buffer;
  payload: Buffer;
}

export class FramingError extends Error {}

/** One frame as bytes: a single buffer, so that a frame is written with one call. */
export function encodeFrame(id: number, header: unknown, payload?: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header ?? null));
  const payloadBytes = payload?.byteLength ?? 0;
  const rest = 8 + json.length + payloadBytes;
  if (rest > MAX_FRAME_BYTES) throw new FramingError(`frame of ${rest} bytes exceeds ${MAX_FRAME_BYTES}`);
  const out = Buffer.allocUnsafe(4 + rest);
  out.writeUInt32BE(rest, 0);
  out.writeUInt32BE(id >>> 0, 4);
  out.writeUInt32BE(json.length, 8);
  json.copy(out, 12);
  if (payload) out.set(payload, 12 + json.length);
  return out;
}

/**
 * Cuts a byte stream into frames. Chunks are kept as they came until a whole frame is there, so
 * a large frame is copied once; a length past `maxFrame` throws before anything more is held.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Length of the frame being gathered (the part after its length field), once known. */
  private want = -1;

  constructor(private readonly maxFrame = MAX_FRAME_BYTES) {}

  /** Feeds bytes; returns the frames they completed. Throws FramingError on a malformed stream. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.held += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.want < 0) {
        if (this.held < 4) break;
        const rest = this.take(4).readUInt32BE(0);
        if (rest < 8 || rest > this.maxFrame) {
          throw new FramingError(`frame of ${rest} bytes is outside 8..${this.maxFrame}`);
        }
        this.want = rest;
      }
      if (this.held < this.want) break;
      const body = this.take(this.want);
      this.want = -1;
      const headerLength = body.readUInt32BE(4);
      if (headerLength > body.length - 8) throw new FramingError('frame header longer than its frame');
      frames.push({
        id: body.readUInt32BE(0),
        header: body.subarray(8, 8 + headerLength),
        payload: body.subarray(8 + headerLength),
      });
    }
    return frames;
  }

  /** Bytes held that do not yet make a frame. */
  get pending(): number {
    return this.held;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const used = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, used);
        filled += used;
        if (used === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(used);
      }
    }
    this.held -= n;
    return out;
  }
}
