import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../edge/src/app-env.ts';
import { onError } from '../../edge/src/http/error-handler.ts';
import { readJsonWithin } from '../../edge/src/http/validate.ts';

/**
 * JSON bodies on the Node server (edge/src/http/validate.ts): a small body that came with its
 * headers is taken as the server holds it, and one still on its way is waited for; either way
 * each request gets exactly its own bytes, whatever the TCP segments were.
 */
describe('request bodies on the Node server, however the bytes arrive', () => {
  let server: ServerType;
  let port: number;
  const Body = z.strictObject({ text: z.string() });

  before(async () => {
    const app = new Hono<AppEnv>();
    app.onError(onError);
    app.post('/echo', async (c) => c.json(await readJsonWithin(c, Body, 1024)));
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
        port = info.port;
        resolve();
      });
    });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const request = (body: string | Buffer, extra = '') =>
    Buffer.concat([
      Buffer.from(
        `POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n`,
      ),
      Buffer.isBuffer(body) ? body : Buffer.from(body),
    ]);

  /** Writes the pieces with a pause between them and reads until `responses` answers came back. */
  async function exchange(
    pieces: Buffer[],
    responses: number,
  ): Promise<Array<{ status: number; body: unknown }>> {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.setNoDelay(true);
    let raw = '';
    socket.on('data', (d) => {
      raw += d.toString('latin1');
    });
    for (const piece of pieces) {
      socket.write(piece);
      await new Promise((r) => setTimeout(r, 30));
    }
    const parsed: Array<{ status: number; body: unknown }> = [];
    for (let i = 0; i < 200 && parsed.length < responses; i++) {
      await new Promise((r) => setTimeout(r, 10));
      parsed.length = 0;
      let rest = raw;
      for (;;) {
        const head = rest.indexOf('\r\n\r\n');
        if (head < 0) break;
        const length = Number(/content-length: (\d+)/i.exec(rest.slice(0, head))?.[1]);
        if (rest.length < head + 4 + length) break;
        parsed.push({
          status: Number(rest.slice(9, 12)),
          body: JSON.parse(rest.slice(head + 4, head + 4 + length)),
        });
        rest = rest.slice(head + 4 + length);
      }
    }
    socket.destroy();
    return parsed;
  }

  test('a body sent with its headers, in one write', async () => {
    const [res] = await exchange([request(JSON.stringify({ text: 'one write' }))], 1);
    assert.deepEqual(res, { status: 200, body: { text: 'one write' } });
  });

  test('a body that comes after its headers, in two pieces', async () => {
    const whole = request(JSON.stringify({ text: 'later, in pieces' }));
    const cut = whole.indexOf('\r\n\r\n') + 4;
    const [res] = await exchange(
      [whole.subarray(0, cut), whole.subarray(cut, cut + 5), whole.subarray(cut + 5)],
      1,
    );
    assert.deepEqual(res, { status: 200, body: { text: 'later, in pieces' } });
  });

  test('two requests in one write each get their own body, on a connection that goes on', async () => {
    const both = Buffer.concat([
      request(JSON.stringify({ text: 'first' })),
      request(JSON.stringify({ text: 'second' })),
    ]);
    const answers = await exchange([both, request(JSON.stringify({ text: 'third' }))], 3);
    assert.deepEqual(
      answers.map((a) => a.body),
      [{ text: 'first' }, { text: 'second' }, { text: 'third' }],
    );
  });

  test('bad bytes that came whole are still refused: not UTF-8, not JSON, the wrong shape', async () => {
    const [notUtf8] = await exchange([request(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))], 1);
    assert.equal(notUtf8!.status, 400);
    assert.equal((notUtf8!.body as { error: { code: string } }).error.code, 'invalid_json');
    const [notJson] = await exchange([request('{"text": ')], 1);
    assert.equal((notJson!.body as { error: { code: string } }).error.code, 'invalid_json');
    const [shape] = await exchange([request(JSON.stringify({ text: 1 }))], 1);
    assert.equal(shape!.status, 422);
  });

  test('a body over the cap is a 413 whether or not it came whole', async () => {
    const big = JSON.stringify({ text: 'x'.repeat(2000) });
    const [whole] = await exchange([request(big)], 1);
    assert.equal(whole!.status, 413);
  });
});
