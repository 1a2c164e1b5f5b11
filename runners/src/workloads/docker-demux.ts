import type { Readable, Writable } from 'node:stream';

const HEADER = 8;

/**
 * Splits Docker's multiplexed exec stream (8-byte header: stream type, 3 zero bytes,
 * big-endian payload length) into stdout and stderr. Payloads that lie within one chunk
 * are passed on as views of it, without a copy; only a header or payload cut by a chunk
 * boundary is assembled. When stdout or stderr asks to slow down, the source is paused
 * until it drains, so a command that writes faster than Redis takes its output waits on
 * its pipe instead of filling the runner's memory.
 */
export function demuxDockerStream(source: Readable, stdout: Writable, stderr: Writable): void {
  let partial: Buffer[] = [];
  let partialBytes = 0;
  /** Stream and bytes still expected of the frame in progress; 0 between frames. */
  let target: Writable | undefined;
  let remaining = 0;
  let raw = false;
  const full = new Set<Writable>();

  const emit = (to: Writable, data: Buffer) => {
    if (data.length === 0) return;
    if (to.write(data) || full.has(to)) return;
    full.add(to);
    source.pause();
    to.once('drain', () => {
      full.delete(to);
      if (full.size === 0) source.resume();
    });
  };

  source.on('data', (chunk: Buffer) => {
    if (raw) return emit(stdout, chunk);
    let at = 0;
    while (at < chunk.length) {
      if (remaining > 0 && target) {
        const take = Math.min(remaining, chunk.length - at);
        emit(target, chunk.subarray(at, at + take));
        at += take;
        remaining -= take;
        continue;
      }
      // A header, possibly split across chunks.
      const need = HEADER - partialBytes;
      const piece = chunk.subarray(at, at + need);
      at += piece.length;
      if (partialBytes === 0 && piece.length === HEADER) {
        if (!startFrame(piece)) return passRaw(piece, chunk.subarray(at));
        continue;
      }
      partial.push(piece);
      partialBytes += piece.length;
      if (partialBytes < HEADER) return;
      const header = Buffer.concat(partial, HEADER);
      partial = [];
      partialBytes = 0;
      if (!startFrame(header)) return passRaw(header, chunk.subarray(at));
    }
  });

  function startFrame(header: Buffer): boolean {
    const type = header[0];
    if (type !== 0 && type !== 1 && type !== 2) return false;
    target = type === 2 ? stderr : stdout;
    remaining = header.readUInt32BE(4);
    return true;
  }

  /** Not a multiplexed stream after all (a TTY exec): everything is stdout, as it came. */
  function passRaw(...rest: Buffer[]): void {
    raw = true;
    for (const b of rest) emit(stdout, b);
  }
}
