/**
 * A stand-in for Upstash's Redis REST API (the hosted endpoint cannot be reached from the
 * tests), in front of a real Redis: the subset `@upstash/redis` speaks. `POST /` takes one
 * command as a JSON array and answers `{ result }`, or `{ error }` with status 400;
 * `POST /pipeline` and `POST /multi-exec` take an array of commands and answer an array of
 * `{ result }` / `{ error }` (a transaction Redis aborted is one 400). A request without the
 * Bearer token gets 401. With `Upstash-Encoding: base64`, string answers come base64-encoded,
 * at any depth, except a top-level `OK`, as Upstash sends them. Commands that need a
 * connection of their own (pub/sub, MONITOR, MULTI by hand, CLIENT) are refused, as Upstash
 * refuses them over REST. Named a stand-in wherever it is used.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';

export interface UpstashRestStandin {
  url: string;
  token: string;
  /** HTTP requests answered, by path (`/`, `/pipeline`, `/multi-exec`); refused ones too. */
  requests: Map<string, number>;
  /** Every command sent, upper-cased name first, in order. */
  commands: string[];
  stop(): Promise<void>;
}

type Command = Array<string | number>;
const NOT_OVER_REST = new Set([
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'MONITOR',
  'MULTI',
  'EXEC',
  'WATCH',
  'CLIENT',
  'QUIT',
]);

class RefusedRequest extends Error {}

export async function startUpstashRestStandin(redisUrl: string, token: string): Promise<UpstashRestStandin> {
  const port = await freePort();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  await redis.ping();
  const standin: UpstashRestStandin = {
    url: `http://127.0.0.1:${port}`,
    token,
    requests: new Map(),
    commands: [],
    stop: async () => {},
  };

  const command = (value: unknown): Command => {
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      !value.every((a) => typeof a === 'string' || typeof a === 'number')
    )
      throw new RefusedRequest('ERR a command is a non-empty array of strings and numbers');
    const name = String(value[0]).toUpperCase();
    if (NOT_OVER_REST.has(name)) throw new RefusedRequest(`ERR ${name} is not supported over REST`);
    standin.commands.push(name);
    return value as Command;
  };
  const commands = (value: unknown): Command[] => {
    if (!Array.isArray(value) || value.length === 0)
      throw new RefusedRequest('ERR a pipeline is a non-empty array of commands');
    return value.map(command);
  };

  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', standin.url).pathname.replace(/\/$/, '') || '/';
    standin.requests.set(path, (standin.requests.get(path) ?? 0) + 1);
    void (async () => {
      if (req.headers.authorization !== `Bearer ${token}`) return answer(401, { error: 'Unauthorized' });
      if (req.method !== 'POST') return answer(405, { error: 'ERR only POST is served here' });
      const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
      const encode = (value: unknown, top: boolean): unknown => {
        if (!base64) return value;
        if (typeof value === 'string')
          return top && value === 'OK' ? value : Buffer.from(value, 'utf8').toString('base64');
        if (Array.isArray(value)) return value.map((v) => encode(v, false));
        return value;
      };
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return answer(400, { error: 'ERR the body is not JSON' });
      }
      try {
        if (path === '/') {
          const [name, ...args] = command(body);
          try {
            return answer(200, { result: encode(await redis.call(String(name), ...args), true) });
          } catch (err) {
            return answer(400, { error: (err as Error).message });
          }
        }
        if (path === '/pipeline' || path === '/multi-exec') {
          const batch = commands(body).map((c) => ['call', ...c.map(String)]);
          const replies =
            path === '/pipeline' ? await redis.pipeline(batch).exec() : await redis.multi(batch).exec();
          if (!replies) return answer(400, { error: 'EXECABORT Transaction discarded' });
          return answer(
            200,
            replies.map(([err, value]) => (err ? { error: err.message } : { result: encode(value, true) })),
          );
        }
        return answer(404, { error: `ERR no route ${path}` });
      } catch (err) {
        if (err instanceof RefusedRequest) return answer(400, { error: err.message });
        // MULTI/EXEC refused as a whole (a command Redis would not queue).
        return answer(400, { error: (err as Error).message });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  standin.stop = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    redis.disconnect();
  };
  return standin;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
