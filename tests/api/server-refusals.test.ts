import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ErrorBody } from '@keel/contract/errors';
import { testInfra } from '../harness/infra.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { type Spawned, spawnService, waitForHttp } from '../harness/processes.ts';
import { testSecretKey } from '../harness/test-app.ts';

const root = new URL('../..', import.meta.url).pathname;

/** Sends raw bytes and reads the whole answer (the server closes the connection after it). */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
  });
}

function parseAnswer(answer: string) {
  const [head, body] = answer.split('\r\n\r\n', 2) as [string, string];
  return { status: Number(head.split(' ')[1]), head, body };
}

describe('refusals made by the Node HTTP server itself carry the error body', () => {
  let service: Spawned;
  let port: number;
  before(async () => {
    const infra = await testInfra();
    port = await freePort();
    service = spawnService(
      process.execPath,
      ['--import', 'tsx', 'edge/src/entry-node.ts'],
      {
        ...process.env,
        PORT: String(port),
        REDIS_URL: infra.redisUrl,
        KEEL_SECRET_KEY: testSecretKey(),
        KEEL_REDIS_PREFIX: `refusals${port}:`,
        DATABASE_URL: await infra.createPostgresDatabase(),
        KEEL_MIGRATE_ON_START: 'true',
      },
      root,
    );
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, service);
  });
  after(() => service.stop());

  test('a 20 KB query string gets 431 with the JSON error body', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/workspaces?q=${'a'.repeat(20_000)}`);
    assert.equal(res.status, 431);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = ErrorBody.parse(await res.json());
    assert.equal(body.error.code, 'headers_too_large');
    assert.equal(res.headers.get('x-request-id'), body.error.requestId);
  });

  test('a request that is not HTTP gets 400 with the JSON error body', async () => {
    const answer = parseAnswer(await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n'));
    assert.equal(answer.status, 400);
    assert.equal(ErrorBody.parse(JSON.parse(answer.body)).error.code, 'bad_request');
  });

  test('an upload the client abandons is logged as aborted, not as an unhandled error', async () => {
    const before = service.output().length;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /api/auth/signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Content-Length: 500000\r\n\r\n{"email":"',
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 300);
      });
      socket.on('error', reject);
    });
    const logged = await waitFor(
      'the abort to be logged',
      async () => {
        const out = service.output().slice(before);
        return out.includes('upload aborted by the client') ? out : undefined;
      },
      10_000,
      100,
    );
    assert.equal(logged.includes('unhandled error'), false, logged);
    const line = JSON.parse(logged.split('\n').find((l) => l.includes('upload aborted'))!);
    assert.equal(line.level, 'info');
    assert.equal(line.path, '/api/auth/signup');
  });
});
