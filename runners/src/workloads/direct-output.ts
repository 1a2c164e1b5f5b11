/**
 * A way for a reader that consumes a command's stdout synchronously (the snapshot's tar
 * reader, which copies what it keeps) to take the bytes straight from the driver's read
 * buffer, skipping the stdout stream: no buffer per read, no stream write per piece.
 *
 * The reader registers a sink on the exec handle's `stdout` right after `exec()` returns; a
 * driver that can (the Docker driver on a local engine socket, see docker-exec-socket.ts) then
 * calls the sink with views of its own buffer and only ends `stdout`. A driver that cannot
 * ignores the sink and writes `stdout` as usual, so the reader must listen to both. The reader
 * still slows the command with `stdout.pause()`/`resume()`: the driver follows those events.
 */
import type { Readable } from 'node:stream';

/** Takes the next stdout bytes; the view is valid only during the call. */
export type DirectSink = (bytes: Buffer) => void;

const sinks = new WeakMap<Readable, DirectSink>();

export function readOutputDirectly(stdout: Readable, sink: DirectSink): void {
  sinks.set(stdout, sink);
}

/** The sink registered for this stdout, taken once (a driver calls this as the command starts). */
export function takeDirectSink(stdout: Readable): DirectSink | undefined {
  const sink = sinks.get(stdout);
  sinks.delete(stdout);
  return sink;
}
