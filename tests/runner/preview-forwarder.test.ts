import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FrameReader } from '../../runners/src/files/agent/framing.ts';
import { Forwarder } from '../../runners/src/preview/forwarder.ts';
import type { ExecHandle } from '../../runners/src/workloads/types.ts';

/**
 * The runner's side of the preview forwarder with the real forwarder program, run by Node here as
 * a workload would run it, its stdin tapped: what the runner sends, write by write.
 */
function localForwarder(): { fw: Forwarder; writes: string[][]; stop(): void } {
  const writes: string[][] = [];
  const reader = new FrameReader();
  let child: ReturnType<typeof spawn> | undefined;
  const fw = new Forwarder((req) => {
    child = spawn(process.execPath, req.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdin = new PassThrough();
    let program = true;
    stdin.on('data', (chunk: Buffer) => {
      child!.stdin!.write(chunk);
      // The first write is the program itself (the loader's own framing).
      if (program) {
        program = false;
        return;
      }
      writes.push(
        reader.push(chunk).map((f) => (JSON.parse(f.header.toString()) as { op?: string }).op ?? 'program'),
      );
    });
    stdin.on('end', () => child!.stdin!.end());
    const done = new Promise<never>(() => {});
    return {
      id: 'local',
      stdout: child.stdout!,
      stderr: child.stderr!,
      stdin,
      done,
      kill: async () => void child!.kill(),
    } as ExecHandle;
  });
  return { fw, writes, stop: () => fw.end('the test is over') };
}

describe('preview forwarder frames (the real forwarder program)', () => {
  let server: Server;
  let port = 0;
  const received: string[] = [];
  before(async () => {
    server = createServer((s) => {
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
        // Answers and closes, as an HTTP server answering `Connection: close` does.
        if (got.includes('\n\n')) s.end('answer');
      });
      s.on('end', () => received.push(got));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  test('what one turn sends leaves in one write; a close after the server closed costs no write', async () => {
    const { fw, writes, stop } = localForwarder();
    try {
      await new Promise((r) => setTimeout(r, 100));
      writes.length = 0;
      const socket = fw.connect(port);
      socket.write('GET / HTTP/1.1\n\n');
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('end', () => resolve(text));
      });
      assert.equal(answer, 'answer');
      // The forwarder's word that the server closed comes right after its end.
      await new Promise((r) => setTimeout(r, 50));
      socket.end();
      socket.destroy();
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(
        writes,
        [['open', 'data']],
        'open and the request together; no end or close after the server closed',
      );
    } finally {
      stop();
    }
  });

  test('an end right after data never passes it: the server gets the bytes, then the end', async () => {
    const { fw, writes, stop } = localForwarder();
    try {
      await new Promise((r) => setTimeout(r, 100));
      writes.length = 0;
      received.length = 0;
      const socket = fw.connect(port);
      socket.on('data', () => {});
      socket.write('half');
      socket.end();
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(writes[0], ['open', 'data', 'end']);
      // A close may follow on its own when the forwarder had not yet said the socket closed.
      assert.ok(
        writes.slice(1).every((w) => w.length === 1 && w[0] === 'close'),
        JSON.stringify(writes),
      );
      assert.deepEqual(received, ['half']);
    } finally {
      stop();
    }
  });
});
