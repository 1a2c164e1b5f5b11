/**
 * How a writer to a command's stdin learns that the driver's connection has taken a buffer's
 * bytes (the kernel holds them), so that it may reuse the buffer: the restore's tar writer
 * reads chunks into a few buffers instead of a fresh one per chunk (some 200 MB of fresh
 * memory per 200 MB restore kept the collector busy).
 *
 * The handle's stdin is a PassThrough whose write callback fires as soon as the bytes are
 * queued, long before they are written. So the writer notes on the buffer itself what to call
 * (`whenTaken`), and a driver that can tell (`feedInput`: the Docker and process drivers, onto
 * a socket or pipe whose write callback fires once the kernel took the bytes) calls it. A
 * driver that cannot never calls it: the writer then gets no buffer back and makes new ones,
 * as before. A note is never called early, so reuse can never change bytes on their way.
 */
import type { Readable, Writable } from 'node:stream';

const notes = new WeakMap<Uint8Array, () => void>();

/** Asks for `taken` to be called once `buf`'s bytes, written to a command's stdin, left the runner. */
export function whenTaken(buf: Uint8Array, taken: () => void): void {
  notes.set(buf, taken);
}

/**
 * Pipes a command's stdin into the driver's connection as `pipe` does (backpressure, `end`
 * passed on), calling each buffer's note once the connection wrote it. Once the connection is
 * gone, what is still written is left to the handle (which discards it once the command is over).
 */
export function feedInput(from: Readable, to: Writable): void {
  const onData = (chunk: Buffer) => {
    const taken = notes.get(chunk);
    const ok = taken
      ? to.write(chunk, (err) => {
          if (!err) taken();
        })
      : to.write(chunk);
    if (!ok) {
      from.pause();
      to.once('drain', onDrain);
    }
  };
  const onDrain = () => from.resume();
  const onEnd = () => to.end();
  const stop = () => {
    from.off('data', onData);
    from.off('end', onEnd);
    to.off('drain', onDrain);
    from.pause();
  };
  from.on('data', onData);
  from.once('end', onEnd);
  to.once('close', stop);
  to.once('error', stop);
  to.once('finish', stop);
}
