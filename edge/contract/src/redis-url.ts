import type { RedisOptions } from 'ioredis';

/**
 * Where Keel's Redis is, as one string that the edge and the runners both take (REDIS_URL):
 *
 *  - `redis://user:password@host:port/db` (or `rediss://` for TLS): one server;
 *  - `redis+sentinel://user:password@host:port,host:port,…/primary-name` (or
 *    `rediss+sentinel://`): ask those Redis Sentinels which server is the primary of
 *    `primary-name`, and ask again after every lost connection, so a failover is followed
 *    without a restart. The login is the one for the data servers; `?sentinelUsername=` and
 *    `?sentinelPassword=` log in to the sentinels themselves when they ask for it.
 *
 * A sentinel list with several hosts is no URL that `new URL` can read, hence this parser.
 */
export const REDIS_URL_PATTERN = /^rediss?(\+sentinel)?:\/\//;
export const REDIS_URL_MESSAGE = 'must be a redis://, rediss://, redis+sentinel:// or rediss+sentinel:// URL';

export interface RedisLogin {
  username: string;
  password: string;
}

interface SentinelTarget {
  tls: boolean;
  login: Partial<RedisLogin>;
  sentinels: Array<{ host: string; port: number }>;
  name: string;
  query: URLSearchParams;
}

const SENTINEL_URL = /^(rediss?)\+sentinel:\/\/(?:([^@/]*)@)?([^/?]+)\/([^/?]+)\/?(?:\?(.*))?$/;

function parseSentinelUrl(url: string): SentinelTarget | undefined {
  const m = SENTINEL_URL.exec(url);
  if (!m) return undefined;
  const [, scheme, userinfo, hosts, name, query] = m;
  const login: Partial<RedisLogin> = {};
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (user) login.username = user;
    if (colon >= 0) login.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  const sentinels = hosts!.split(',').map((hp) => {
    const at = hp.lastIndexOf(':');
    const host = at < 0 ? hp : hp.slice(0, at);
    const port = at < 0 ? 26379 : Number(hp.slice(at + 1));
    if (!host || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`REDIS_URL: "${hp}" is no sentinel host:port`);
    }
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
  return {
    tls: scheme === 'rediss',
    login,
    sentinels,
    name: decodeURIComponent(name!),
    query: new URLSearchParams(query ?? ''),
  };
}

/** True for a URL that names sentinels rather than one server. */
export function isSentinelUrl(url: string): boolean {
  return /^rediss?\+sentinel:\/\//.test(url);
}

/**
 * What `new Redis(...)` takes for `url`: the URL itself for one server, or sentinel options.
 * Options given win over the URL's, as ioredis does with its own URLs.
 */
export function redisArgs(url: string, options: RedisOptions = {}): [string, RedisOptions] | [RedisOptions] {
  if (!isSentinelUrl(url)) return [url, options];
  const t = parseSentinelUrl(url);
  if (!t) throw new Error('REDIS_URL: a sentinel URL is redis+sentinel://[user:password@]host:port,…/name');
  const sentinelUsername = t.query.get('sentinelUsername');
  const sentinelPassword = t.query.get('sentinelPassword');
  return [
    {
      sentinels: t.sentinels,
      name: t.name,
      ...t.login,
      ...(sentinelUsername ? { sentinelUsername } : {}),
      ...(sentinelPassword ? { sentinelPassword } : {}),
      ...(t.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      role: 'master',
      // A primary demoted to a replica (mid-failover) refuses writes: reconnect, which asks the
      // sentinels again, and send the refused command to the new primary.
      reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
      ...options,
    },
  ];
}

/**
 * `url` with `login` in place of the login it carries (a runner's own Redis user): ioredis
 * takes a login in the URL over one in its options, so a URL carrying another user's would win.
 */
export function redisUrlWithLogin(url: string, login: RedisLogin | undefined): string {
  if (!login) return url;
  const userinfo = `${encodeURIComponent(login.username)}:${encodeURIComponent(login.password)}@`;
  if (isSentinelUrl(url)) return url.replace(/^(rediss?\+sentinel:\/\/)(?:[^@/]*@)?/, `$1${userinfo}`);
  const u = new URL(url);
  u.username = encodeURIComponent(login.username);
  u.password = encodeURIComponent(login.password);
  return u.toString();
}

/**
 * The data servers that the sentinels of `url` name as the primary's replicas and hold as up,
 * each as options for a direct connection with the URL's login (and TLS), or `[]` for a URL
 * that names one server. For what must reach every server, such as ACL changes, which Redis
 * does not replicate. Sentinels are asked in order until one answers.
 */
export async function sentinelReplicas(
  url: string,
  connect: (options: RedisOptions) => {
    call(...args: string[]): Promise<unknown>;
    disconnect(): void;
  },
): Promise<RedisOptions[]> {
  if (!isSentinelUrl(url)) return [];
  const t = parseSentinelUrl(url);
  if (!t) throw new Error('REDIS_URL: a sentinel URL is redis+sentinel://[user:password@]host:port,…/name');
  const sentinelUsername = t.query.get('sentinelUsername') ?? undefined;
  const sentinelPassword = t.query.get('sentinelPassword') ?? undefined;
  let lastError: unknown;
  for (const s of t.sentinels) {
    const sentinel = connect({
      host: s.host,
      port: s.port,
      ...(sentinelUsername ? { username: sentinelUsername } : {}),
      ...(sentinelPassword ? { password: sentinelPassword } : {}),
      ...(t.tls ? { tls: {} } : {}),
    });
    try {
      const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', t.name)) as string[][];
      return replicas
        .map((flat) => {
          const field = new Map<string, string>();
          for (let i = 0; i + 1 < flat.length; i += 2) field.set(flat[i]!, flat[i + 1]!);
          return field;
        })
        .filter((f) => !/(^|,)(s_down|o_down|disconnected)(,|$)/.test(f.get('flags') ?? ''))
        .map((f) => ({
          host: f.get('ip')!,
          port: Number(f.get('port')),
          ...t.login,
          ...(t.tls ? { tls: {} } : {}),
        }));
    } catch (err) {
      lastError = err;
    } finally {
      sentinel.disconnect();
    }
  }
  throw new Error(`no sentinel of ${t.name} answered: ${(lastError as Error)?.message ?? 'none listed'}`);
}
