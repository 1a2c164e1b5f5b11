import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { demuxDockerStream } from '../../runners/src/workloads/docker-demux.ts';

function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return { stream, text: () => Buffer.concat(parts).toString() };
}

describe('demuxDockerStream', () => {
  test('splits stdout and stderr whatever the chunk boundaries, headers included', () => {
    const frames = [frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world\n'), frame(1, ''), frame(2, '!')];
    const wire = Buffer.concat(frames);
    for (let size = 1; size <= wire.length; size++) {
      const source = new PassThrough();
      const out = collect();
      const err = collect();
      demuxDockerStream(source, out.stream, err.stream);
      for (let at = 0; at < wire.length; at += size) source.write(wire.subarray(at, at + size));
      assert.equal(out.text(), 'hello world\n', `chunks of ${size}`);
      assert.equal(err.text(), 'oops!', `chunks of ${size}`);
    }
  });

  test('a stream that is not multiplexed (a TTY) passes through as stdout', () => {
    const source = new PassThrough();
    const out = collect();
    const err = collect();
    demuxDockerStream(source, out.stream, err.stream);
    source.write(Buffer.from('plain text, no headers'));
    source.write(Buffer.from(' and more'));
    assert.equal(out.text(), 'plain text, no headers and more');
    assert.equal(err.text(), '');
  });

  test('pauses the source while a reader is full, and resumes when it drains', async () => {
    const source = new PassThrough();
    let release: () => void = () => {};
    const slow = new Writable({
      highWaterMark: 4,
      write(_chunk, _enc, done) {
        release = done;
      },
    });
    demuxDockerStream(source, slow, new PassThrough());
    source.write(frame(1, 'x'.repeat(64)));
    await new Promise((r) => setImmediate(r));
    assert.equal(source.isPaused(), true);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(source.isPaused(), false);
  });
});
