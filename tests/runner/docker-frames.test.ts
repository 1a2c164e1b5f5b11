/**
 * The in-place reader of Docker's multiplexed exec stream: the same stdout and stderr whatever
 * the read boundaries (every split of the wire into two and three pieces, headers included),
 * with the input buffer overwritten after each push as the socket's reused buffer is; a header
 * of no known stream is refused.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DockerFrameError, DockerFrameReader } from '../../runners/src/workloads/docker-frames.ts';

function frame(type: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function reader() {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  // The sink copies: a view is valid only during the call.
  const r = new DockerFrameReader((stream, bytes) => (stream === 1 ? out : err).push(Buffer.from(bytes)));
  return { r, out: () => Buffer.concat(out), err: () => Buffer.concat(err) };
}

/** Pushes `wire` cut at `cuts` through one reused buffer, as the socket reads do. */
function feed(r: DockerFrameReader, wire: Buffer, cuts: number[]): void {
  const shared = Buffer.alloc(wire.length + 16);
  const bounds = [0, ...cuts, wire.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const n = wire.copy(shared, 3, bounds[i], bounds[i + 1]);
    r.push(shared, 3, 3 + n);
    shared.fill(0xee);
  }
}

describe('DockerFrameReader', () => {
  const big = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
  const wire = Buffer.concat([
    frame(1, 'hello '),
    frame(2, 'oops'),
    frame(1, ''),
    frame(1, big),
    frame(0, 'stdin-typed, read as stdout'),
    frame(2, '!'),
  ]);
  const wantOut = Buffer.concat([Buffer.from('hello '), big, Buffer.from('stdin-typed, read as stdout')]);

  test('reads the same bytes whatever the read boundaries (every split into two and three)', () => {
    for (let a = 0; a <= wire.length; a++) {
      const { r, out, err } = reader();
      feed(r, wire, [a]);
      assert.deepEqual(out(), wantOut, `cut at ${a}`);
      assert.equal(err().toString(), 'oops!', `cut at ${a}`);
      assert.equal(r.between, true);
    }
    for (let a = 0; a < 40; a++) {
      for (let b = a; b <= wire.length; b++) {
        const { r, out, err } = reader();
        feed(r, wire, [a, b]);
        assert.deepEqual(out(), wantOut, `cuts at ${a}, ${b}`);
        assert.equal(err().toString(), 'oops!', `cuts at ${a}, ${b}`);
      }
    }
  });

  test('one byte at a time', () => {
    const { r, out, err } = reader();
    feed(
      r,
      wire,
      Array.from({ length: wire.length - 1 }, (_, i) => i + 1),
    );
    assert.deepEqual(out(), wantOut);
    assert.equal(err().toString(), 'oops!');
  });

  test('says when the stream stopped inside a frame', () => {
    const { r } = reader();
    r.push(wire.subarray(0, 10));
    assert.equal(r.between, false);
    const h = reader();
    h.r.push(wire.subarray(0, 3));
    assert.equal(h.r.between, false);
  });

  test('refuses a header of no known stream, or with its zero bytes set', () => {
    assert.throws(() => reader().r.push(frame(3, 'x')), DockerFrameError);
    const bad = frame(1, 'x');
    bad[2] = 1;
    assert.throws(() => reader().r.push(bad), DockerFrameError);
    // A bad header cut across two reads is refused too.
    const split = reader();
    split.r.push(frame(7, 'x').subarray(0, 4));
    assert.throws(() => split.r.push(frame(7, 'x').subarray(4)), DockerFrameError);
  });
});
