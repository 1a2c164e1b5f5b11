import http from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { type HostKey, hostKeyAlgorithmsFor, hostKeyFromBlob, parsePublicKeyLine } from './ssh-host-key.ts';

/** The Docker engine's socket on the remote host, reached by stream-local forwarding. */
export const REMOTE_DOCKER_SOCKET = '/var/run/docker.sock';

export type SshFailureCode =
  | 'unreachable'
  | 'timeout'
  | 'auth_failed'
  | 'host_key_changed'
  | 'host_key_unconfirmed'
  | 'invalid_config'
  | 'docker_unavailable';

/** Why an SSH connection (or what it was for) failed, in the connection test's words. */
export class SshFailure extends Error {
  constructor(
    readonly code: SshFailureCode,
    message: string,
    /** What was learned before it failed. */
    readonly reached: { reachable: boolean; hostKey?: HostKey } = { reachable: false },
  ) {
    super(message);
    this.name = 'SshFailure';
  }
}

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  passphrase?: string;
  /** The pinned OpenSSH public key line, or null. */
  hostKey: string | null;
}

export interface SshConnectOptions {
  /** TCP connect and handshake together settle within this. */
  timeoutMs: number;
  /**
   * With no key pinned, go on and authenticate anyway (the connection test does, to report
   * both the offered key and whether the credential works). Otherwise an unpinned host is refused.
   */
  allowUnpinned?: boolean;
  /** SSH keepalive for long-lived connections; 0 turns it off. */
  keepaliveMs?: number;
  /** Called once TCP is connected, before the handshake (a test cut off by its deadline still knows). */
  onReachable?: () => void;
  /** Abandons the attempt (the caller gave up): the socket is closed, the promise rejects. */
  signal?: AbortSignal;
}

/** One TCP connection, told apart as refused/unreachable or silent past the limit. */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: host.replace(/^\[|\]$/g, ''), port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new SshFailure('timeout', `no TCP answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      // Refused, no route, no such name: all say the host cannot be reached from here.
      reject(new SshFailure('unreachable', `cannot reach ${host}:${port}: ${err.code ?? err.message}`));
    });
  });
}

/** An authenticated SSH connection to a Docker host. */
export class SshSession {
  /** Stream-local forwarding refused by the server: Docker is reached by `docker system dial-stdio`. */
  private dialStdio = false;
  readonly closed: Promise<void>;
  private isClosed = false;

  constructor(
    readonly client: Client,
    readonly hostKey: HostKey,
  ) {
    this.closed = new Promise((resolve) => {
      client.once('close', () => {
        this.isClosed = true;
        resolve();
      });
    });
  }

  get alive(): boolean {
    return !this.isClosed;
  }

  /** Runs a command through the user's shell; output is capped at maxBytes per stream. */
  run(
    command: string,
    opts: { timeoutMs: number; maxBytes?: number },
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const max = opts.maxBytes ?? 256 * 1024;
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, ch) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let outLen = 0;
        let errLen = 0;
        let code: number | null = null;
        const timer = setTimeout(() => {
          ch.close();
          reject(new SshFailure('timeout', `command did not finish within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
        ch.on('data', (d: Buffer) => {
          if (outLen < max) out.push(d);
          outLen += d.length;
        });
        ch.stderr.on('data', (d: Buffer) => {
          if (errLen < max) errOut.push(d);
          errLen += d.length;
        });
        ch.on('exit', (c: number | null) => {
          code = c;
        });
        ch.on('close', () => {
          clearTimeout(timer);
          resolve({
            code,
            stdout: Buffer.concat(out).subarray(0, max).toString('utf8'),
            stderr: Buffer.concat(errOut).subarray(0, max).toString('utf8'),
          });
        });
      });
    });
  }

  /**
   * A byte stream to the remote Docker engine's API: the OpenSSH stream-local forward of its
   * socket (no process on either side per request), or, where the server forbids forwarding,
   * `docker system dial-stdio` on an exec channel.
   */
  async openDockerStream(): Promise<Duplex> {
    if (this.dialStdio) return this.execDialStdio();
    try {
      return await this.forwardStreamLocal(REMOTE_DOCKER_SOCKET);
    } catch (forwardErr) {
      // sshd answers "open failed" with the same reason whether it forbids the forward
      // (AllowStreamLocalForwarding/AllowTcpForwarding no) or the socket cannot be opened: try
      // dial-stdio, and keep using it only if it works.
      try {
        const stream = await this.execDialStdio();
        this.dialStdio = true;
        return stream;
      } catch (dialErr) {
        throw new SshFailure(
          'docker_unavailable',
          `no Docker engine for ${REMOTE_DOCKER_SOCKET}: forwarding: ${(forwardErr as Error).message}; docker system dial-stdio: ${(dialErr as Error).message}`,
          { reachable: true, hostKey: this.hostKey },
        );
      }
    }
  }

  private forwardStreamLocal(path: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.openssh_forwardOutStreamLocal(path, (err, ch) => (err ? reject(err) : resolve(ch)));
    });
  }

  /**
   * `docker system dial-stdio` on an exec channel: the CLI relays the channel to the engine.
   * Resolves once the engine answered a ping through it, so a missing CLI or engine is an error
   * here rather than a broken HTTP response later.
   */
  private execDialStdio(): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.exec('docker system dial-stdio', (err, ch) => {
        if (err) return reject(err);
        let stderr = '';
        let settled = false;
        ch.stderr.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-2000);
        });
        const fail = (why: string) => {
          if (settled) {
            // The HTTP request on it then fails with this instead of a bare "socket hang up".
            ch.emit('error', new Error(why));
            return;
          }
          settled = true;
          ch.close();
          reject(new Error(why));
        };
        ch.on('exit', (code: number | null) => {
          if (code) fail(`exited ${code}: ${stderr.trim()}`);
        });
        ch.on('close', () => {
          if (!settled) fail(`closed: ${stderr.trim()}`);
        });
        // A HEAD /_ping: its short answer proves the relay before the channel is handed out.
        ch.write('HEAD /_ping HTTP/1.1\r\nHost: docker\r\n\r\n');
        let head = '';
        const onData = (d: Buffer) => {
          head += d.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          // Left flowing: nothing more arrives until the HTTP client, which reads with a
          // 'data' listener of its own, writes its request (an explicit pause would stall it).
          ch.off('data', onData);
          if (!/^HTTP\/1\.[01] 200/.test(head)) return fail(`the engine answered ${head.split('\r\n')[0]}`);
          settled = true;
          resolve(ch);
        };
        ch.on('data', onData);
      });
    });
  }

  close(): Promise<void> {
    if (!this.isClosed) this.client.end();
    return this.closed;
  }
}

/**
 * Connects and authenticates, verifying the host key against the pinned one. Fails with an
 * SshFailure whose code says which step failed; never waits past `timeoutMs`.
 */
export async function openSsh(target: SshTarget, opts: SshConnectOptions): Promise<SshSession> {
  const deadline = Date.now() + opts.timeoutMs;
  const pinned = target.hostKey === null ? null : parsePublicKeyLine(target.hostKey);
  if (target.hostKey !== null && !pinned) {
    throw new SshFailure('invalid_config', 'the pinned host key is not an OpenSSH public key line');
  }
  if (!pinned && !opts.allowUnpinned) {
    throw new SshFailure(
      'host_key_unconfirmed',
      'no host key is pinned for this server: test it and confirm its key first',
    );
  }
  const sock = await connectTcp(target.host, target.port, opts.timeoutMs);
  opts.onReachable?.();
  const client = new Client();
  let presented: HostKey | undefined;
  let authStarted = false;
  const config: ConnectConfig = {
    sock,
    username: target.user,
    privateKey: target.privateKey,
    ...(target.passphrase ? { passphrase: target.passphrase } : {}),
    readyTimeout: Math.max(1, deadline - Date.now()),
    keepaliveInterval: opts.keepaliveMs ?? 0,
    keepaliveCountMax: 3,
    // Only the pinned key's type is offered, so the host presents the key that was pinned.
    ...(pinned ? { algorithms: { serverHostKey: hostKeyAlgorithmsFor(pinned.algorithm) as never } } : {}),
    hostVerifier: (blob: Buffer) => {
      presented = hostKeyFromBlob(Buffer.from(blob));
      authStarted = true;
      return pinned ? presented.blob.equals(pinned.blob) : true;
    },
  };
  return new Promise<SshSession>((resolve, reject) => {
    let failed = false;
    const fail = (err: Error & { level?: string }) => {
      // The client may report more errors while it closes: only the first one counts.
      if (failed) return;
      failed = true;
      opts.signal?.removeEventListener('abort', abort);
      client.removeAllListeners('ready');
      client.end();
      sock.destroy();
      const reached = { reachable: true, ...(presented ? { hostKey: presented } : {}) };
      const msg = err.message;
      if (/Host denied/.test(msg) || (pinned && /no matching host key/i.test(msg))) {
        return reject(
          new SshFailure(
            'host_key_changed',
            presented
              ? `the host presented ${presented.fingerprint}, not the pinned ${pinned?.fingerprint}`
              : `the host offers no key of the pinned type ${pinned?.algorithm}`,
            reached,
          ),
        );
      }
      if (err.level === 'client-authentication') {
        return reject(new SshFailure('auth_failed', `${target.user}: the key was refused (${msg})`, reached));
      }
      if (err.level === 'client-timeout') {
        return reject(
          new SshFailure(
            'timeout',
            authStarted
              ? 'the SSH handshake did not finish in time'
              : 'the host accepted TCP but did not speak SSH in time',
            reached,
          ),
        );
      }
      if (/privateKey|passphrase|Unsupported key format/i.test(msg)) {
        return reject(new SshFailure('invalid_config', `the private key cannot be used: ${msg}`, reached));
      }
      return reject(
        new SshFailure('unreachable', `SSH to ${target.host}:${target.port} failed: ${msg}`, reached),
      );
    };
    const abort = () => fail(Object.assign(new Error('abandoned'), { level: 'client-timeout' }));
    opts.signal?.addEventListener('abort', abort, { once: true });
    client.once('ready', () => {
      opts.signal?.removeEventListener('abort', abort);
      client.removeAllListeners('error');
      // Later errors (a dropped connection) end in 'close', which the session watches.
      client.on('error', () => {});
      const session = new SshSession(client, presented as HostKey);
      if (opts.signal?.aborted) {
        void session.close();
        return reject(new SshFailure('timeout', 'abandoned', { reachable: true }));
      }
      resolve(session);
    });
    client.on('error', fail);
    try {
      client.connect(config);
    } catch (err) {
      fail(err as Error);
    }
  });
}

/**
 * One SSH connection to a Docker host for a driver, with the agent that dockerode uses over it;
 * the connection is made again when it dropped.
 */
export class SshDockerLink {
  readonly agent: http.Agent;
  private current: Promise<SshSession> | undefined;
  private closing = false;

  constructor(
    private readonly target: SshTarget,
    private readonly opts: { connectTimeoutMs: number; keepaliveMs: number },
  ) {
    this.agent = sshDockerAgent(() => this.session());
  }

  session(): Promise<SshSession> {
    if (this.closing) return Promise.reject(new SshFailure('unreachable', 'the connection is closed'));
    const existing = this.current;
    if (existing) {
      return existing.then(
        (s) => (s.alive ? s : this.reconnect(existing)),
        () => this.reconnect(existing),
      );
    }
    return this.reconnect(undefined);
  }

  private reconnect(previous: Promise<SshSession> | undefined): Promise<SshSession> {
    // Concurrent callers that saw the same dead session share one new connection.
    if (this.current !== previous && this.current) return this.current;
    const next = openSsh(this.target, {
      timeoutMs: this.opts.connectTimeoutMs,
      keepaliveMs: this.opts.keepaliveMs,
    });
    this.current = next;
    next.then(
      (s) => s.closed.then(() => this.agent.destroy()),
      () => {},
    );
    return next;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.agent.destroy();
    const s = await this.current?.catch(() => undefined);
    await s?.close();
  }
}

/**
 * An http.Agent whose connections are streams to the Docker socket of the session's host, so that
 * dockerode speaks HTTP through SSH; idle API connections are kept for reuse like a local socket's.
 */
export function sshDockerAgent(session: () => Promise<SshSession>): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 8 });
  // Node calls createConnection(options, callback) and waits for the callback when it returns
  // nothing: the stream is opened asynchronously on the SSH connection.
  (agent as unknown as { createConnection: unknown }).createConnection = (
    _options: unknown,
    cb: (err: Error | null, socket?: Duplex) => void,
  ) => {
    session()
      .then(async (s) => {
        const stream = await s.openDockerStream();
        void s.closed.then(() => closeWithConnection(stream));
        return stream;
      })
      .then(
        (stream) => cb(null, asSocket(stream)),
        (err: Error) => cb(err),
      );
    return undefined;
  };
  return agent;
}

/**
 * A channel whose connection dropped ends only once its end is read, and ssh2's destroy() only
 * asks the (gone) peer to close it: a kept-alive channel the HTTP agent holds idle would never
 * say 'close', and the next request sent on it would wait forever. It is destroyed as a stream
 * instead, which says 'close' and takes it out of the agent's pool.
 */
function closeWithConnection(stream: Duplex): void {
  let closed = false;
  stream.once('close', () => {
    closed = true;
  });
  // After what the connection's end set off in this turn (a flowing channel closes by itself).
  setImmediate(() => {
    if (!closed && !stream.destroyed) Duplex.prototype.destroy.call(stream);
  });
}

/**
 * An SSH channel stands in for a net.Socket in Node's HTTP client: the agent and the client call
 * these on their sockets; a channel has no TCP options to set, and the SSH connection's own
 * socket decides whether the process may exit.
 */
function asSocket(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof s[name] !== 'function') s[name] = () => s;
  }
  return s;
}
