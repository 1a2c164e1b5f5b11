/**
 * A command's stdin fed to a real unix socket (taken-input.ts): a buffer's note is called only
 * once the socket wrote its bytes, so a writer that refills its buffers at that moment, from
 * three buffers in turn, never changes a byte on its way, even while the reader lags far
 * behind; a buffer with no note goes through as it is, `end` is passed on, and once the socket
 * is gone nothing more is written and no note is called.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { feedInput, whenTaken } from '../../runners/src/workloads/taken-input.ts';

let base: string;
let server: net.Server;
/** The next connection's far end, as the server accepted it. */
let accepted: (sock: net.Socket) => void = () => {};

before(async () => {
  base = mkdtempSync('/tmp/keel-taken-input-');
  server = net.createServer((sock) => accepted(sock));
  await new Promise<void>((resolve) => server.listen(join(base, 's'), resolve));
});
after(() => {
  server.close();
  rmSync(base, { recursive: true, force: true });
});

/** A stdin (as an exec handle gives it) fed to a new connection, and that connection's far end. */
async function connected(): Promise<{ stdin: PassThrough; far: net.Socket; near: net.Socket }> {
  const far = new Promise<net.Socket>((resolve) => {
    accepted = resolve;
  });
  const near = net.connect(join(base, 's'));
  await new Promise((resolve) => near.once('connect', resolve));
  const stdin = new PassThrough();
  feedInput(stdin, near);
  return { stdin, far: await far, near };
}

const PIECE = 256 * 1024;
const fill = (buf: Buffer, n: number) => {
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE((n * 2654435761 + i) >>> 0, i);
};

describe('feeding a command stdin to a unix socket', () => {
  it('calls each note once the socket wrote the bytes: three reused buffers, a slow reader, no byte changed', async () => {
    const { stdin, far } = await connected();
    // The reader takes its time: a pause after every read, so the socket's buffers fill.
    const got = createHash('sha256');
    let received = 0;
    far.on('data', (b: Buffer) => {
      got.update(b);
      received += b.length;
      far.pause();
      setTimeout(() => far.resume(), 1);
    });
    const ended = new Promise((resolve) => far.once('end', resolve));

    const free = [Buffer.alloc(PIECE), Buffer.alloc(PIECE), Buffer.alloc(PIECE)];
    let waiter: (() => void) | undefined;
    let waits = 0;
    let taken = 0;
    const sent = createHash('sha256');
    const PIECES = 160;
    for (let n = 0; n < PIECES; n++) {
      while (free.length === 0) {
        waits++;
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
      }
      const buf = free.pop()!;
      fill(buf, n);
      sent.update(buf);
      // Every other piece goes as a view, as the tar writer lends pieces of a chunk.
      const piece = n % 2 ? buf.subarray(0, PIECE) : buf;
      whenTaken(piece, () => {
        taken++;
        // Refilled at once, as a reused buffer would be: a note called early shows as changed bytes.
        buf.fill(0xee);
        free.push(buf);
        waiter?.();
      });
      // Only its buffers hold the writer back: pieces queue in the stdin while the socket is full.
      stdin.write(piece);
    }
    // One without a note goes through too.
    const last = Buffer.from('the end');
    sent.update(last);
    stdin.end(last);
    await ended;
    assert.equal(received, PIECES * PIECE + last.length);
    assert.equal(got.digest('hex'), sent.digest('hex'));
    assert.equal(taken, PIECES);
    assert.ok(waits > 10, `the writer waited for its buffers ${waits} times`);
  });

  it('stops once the socket is gone: later writes go nowhere and call no note', async () => {
    const { stdin, far, near } = await connected();
    far.resume();
    const closed = new Promise((resolve) => near.once('close', resolve));
    near.destroy();
    await closed;
    let called = false;
    const buf = Buffer.alloc(1024);
    whenTaken(buf, () => {
      called = true;
    });
    stdin.resume();
    stdin.write(buf);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(called, false);
    assert.equal(near.bytesWritten, 0);
  });
});
