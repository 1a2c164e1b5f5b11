/*
 * The direct path to a workspace's ports, for workspaces on this runner's host (a local Docker
 * engine, the process driver as root). A helper enters only the workspace's network namespace
 * (`nsenter --net`, then uid and gid 65534), connects to 127.0.0.1:<port> there (or [::1]) and
 * hands the connected socket to the runner over Node's IPC channel (SCM_RIGHTS). From then on the
 * bytes go between the workspace's server and the runner through the kernel alone. Through the
 * forwarder (./forwarder.ts) they crossed a process inside the workspace and the engine's exec
 * relay twice: about 3 ms of CPU per MiB in the relay alone, and a relay hop each way per request.
 *
 * Why the helper is safe to run: it shares nothing with the workspace but the network namespace
 * (not its files, processes or users), runs as nobody with no capability and an empty
 * environment, listens on nothing, and only connects to the loopback port it is asked for. The
 * workspace cannot see or signal it (another PID namespace). The namespace is one the driver
 * opened and checked (Docker: the pid's cgroup names the container), and before each connection
 * the runner checks that the witness path still names it, so a workspace that stopped or restarted
 * never gets a connection through a namespace it no longer has.
 *
 * Drivers that cannot offer this (remote engines, Kubernetes, SSH, a runner without root) keep the
 * forwarder, as does a workspace whose helper would not start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, fstatSync, statSync } from 'node:fs';
import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ListeningPort, PREVIEW_MAX_PORTS } from '@keel/contract/preview';
import { z } from 'zod';
import type { WorkspaceNetns } from '../workloads/types.ts';
import { ForwarderError } from './forwarder.ts';
import { LISTENING_SOURCE } from './forwarder-program.ts';

/** nobody: the helper needs no user of its own, and none of the runner's. */
const HELPER_UID = 65534;
const READY_TIMEOUT_MS = 5_000;
const ASK_TIMEOUT_MS = 10_000;
/** Idle kept-alive connections per port, and how long one waits for the next request. */
const FREE_SOCKETS_PER_PORT = 8;
const FREE_SOCKET_MS = 4_000;
/** Ports with a pool of their own, at most (a pool is dropped when it has no connection). */
const MAX_POOLS = 64;
/** A helper nobody asked anything for this long ends (it would hold a stopped workspace's namespace). */
const HELPER_IDLE_MS = 5 * 60_000;

const HELPER_PROGRAM = `
const net = require('net');
const fs = require('fs');
${LISTENING_SOURCE}
let idle;
const rest = () => { clearTimeout(idle); idle = setTimeout(() => process.exit(0), ${HELPER_IDLE_MS}); };
rest();
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  rest();
  if (!m || typeof m.id !== 'number') return;
  if (m.op === 'ports') { process.send({ id: m.id, ports: listening() }); return; }
  if (m.op !== 'open' || !Number.isInteger(m.port) || m.port < 1 || m.port > 65535) return;
  const tryHost = (host, fallback) => {
    const s = net.connect({ host, port: m.port });
    s.once('connect', () => {
      s.removeAllListeners('error');
      s.on('error', () => {});
      process.send({ id: m.id, ok: true }, s);
    });
    s.once('error', (err) => {
      if (fallback && err.code === 'ECONNREFUSED') return tryHost(fallback);
      process.send({ id: m.id, ok: false, code: String(err.code || err.message).slice(0, 100) });
    });
  };
  tryHost('127.0.0.1', '::1');
});
process.send({ ready: true });
`;

const FromHelper = z.union([
  z.object({ ready: z.literal(true) }),
  z.object({ id: z.number().int(), ok: z.literal(true) }),
  z.object({ id: z.number().int(), ok: z.literal(false), code: z.string().max(100) }),
  z.object({ id: z.number().int(), ports: z.array(ListeningPort).max(PREVIEW_MAX_PORTS) }),
]);
type Answer = { socket: Socket } | { ports: z.infer<typeof ListeningPort>[] } | ForwarderError;

export class NetnsPorts {
  over = false;
  private readonly asks = new Map<number, (a: Answer) => void>();
  private readonly pools = new Map<number, Agent>();
  private nextId = 1;

  private constructor(
    private readonly child: ChildProcess,
    private readonly witness: string,
    private readonly ns: { dev: number; ino: number },
  ) {
    child.on('message', (raw: unknown, handle: unknown) => this.answered(raw, handle));
    child.on('exit', () => this.end('the helper ended'));
    child.on('error', () => this.end('the helper could not start'));
  }

  /** Starts the helper in the namespace; takes (and closes) its descriptor. Rejects when it does not start. */
  static async enter(target: WorkspaceNetns): Promise<NetnsPorts> {
    let child: ChildProcess;
    let ns: { dev: number; ino: number };
    try {
      const st = fstatSync(target.fd);
      ns = { dev: st.dev, ino: st.ino };
      child = spawn(
        'nsenter',
        [
          '--net=/proc/self/fd/4',
          '-S',
          String(HELPER_UID),
          '-G',
          String(HELPER_UID),
          '--',
          process.execPath,
          '-e',
          HELPER_PROGRAM,
        ],
        // fd 3 the IPC channel, fd 4 the namespace; nothing of the runner's environment.
        { stdio: ['ignore', 'ignore', 'ignore', 'ipc', target.fd], env: { PATH: '/usr/bin:/bin' } },
      );
    } finally {
      closeSync(target.fd);
    }
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
      child.once('message', () => {
        clearTimeout(timer);
        resolve(true);
      });
      child.once('exit', () => resolve(false));
      child.once('error', () => resolve(false));
    });
    if (!ready) {
      child.kill('SIGKILL');
      throw new ForwarderError('bad_gateway', 'the namespace helper did not start');
    }
    // Idle helpers keep no runner (or test) alive.
    child.unref();
    child.channel?.unref();
    return new NetnsPorts(child, target.witness, ns);
  }

  /** The helper's pid (for checks of what it is and may do). */
  get helperPid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the namespace is still the workspace's (not stopped, not restarted into a new one). */
  current(): boolean {
    if (this.over) return false;
    try {
      const st = statSync(this.witness);
      return st.dev === this.ns.dev && st.ino === this.ns.ino;
    } catch {
      return false;
    }
  }

  /** A connection to `port` in the workspace; rejects with ForwarderError ('port_closed' when nothing listens). */
  async connect(port: number): Promise<Duplex> {
    const got = await this.ask({ op: 'open', port });
    if (got instanceof ForwarderError) throw got;
    if (!('socket' in got))
      throw new ForwarderError('bad_gateway', 'the namespace helper answered out of turn');
    got.socket.setNoDelay(true);
    return got.socket;
  }

  /**
   * Kept-alive connections for plain HTTP requests to `port`, as a reverse proxy keeps its upstream
   * connections: a request then costs no new connection (the helper's round trip and the
   * server's accept). The idle ones close before a Node server's 5 s keep-alive would close them.
   */
  agentFor(port: number): Agent {
    let agent = this.pools.get(port);
    if (agent) return agent;
    if (this.pools.size >= MAX_POOLS) {
      for (const [p, a] of this.pools) {
        if (Object.keys(a.sockets).length || Object.keys(a.freeSockets).length) continue;
        a.destroy();
        this.pools.delete(p);
      }
    }
    agent = new Agent({ keepAlive: true, maxFreeSockets: FREE_SOCKETS_PER_PORT, timeout: FREE_SOCKET_MS });
    agent.createConnection = ((_opts: unknown, made: (err: Error | null, socket?: Duplex) => void) => {
      this.connect(port).then(
        (socket) => made(null, socket),
        (err: Error) => made(err),
      );
      return undefined;
    }) as unknown as Agent['createConnection'];
    if (this.pools.size < MAX_POOLS) this.pools.set(port, agent);
    return agent;
  }

  async ports(): Promise<z.infer<typeof ListeningPort>[]> {
    const got = await this.ask({ op: 'ports' });
    if (got instanceof ForwarderError) throw got;
    if (!('ports' in got))
      throw new ForwarderError('bad_gateway', 'the namespace helper answered out of turn');
    return got.ports;
  }

  end(_why: string): void {
    if (this.over) return;
    this.over = true;
    for (const ask of this.asks.values())
      ask(new ForwarderError('bad_gateway', 'the namespace helper ended'));
    this.asks.clear();
    for (const agent of this.pools.values()) agent.destroy();
    this.pools.clear();
    this.child.kill('SIGKILL');
  }

  private ask(message: { op: 'open'; port: number } | { op: 'ports' }): Promise<Answer> {
    if (this.over) return Promise.resolve(new ForwarderError('bad_gateway', 'the namespace helper ended'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fff_fff0 ? 1 : this.nextId + 1;
    return new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => {
        this.asks.delete(id);
        resolve(new ForwarderError('bad_gateway', 'the namespace helper did not answer'));
      }, ASK_TIMEOUT_MS);
      this.asks.set(id, (a) => {
        clearTimeout(timer);
        this.asks.delete(id);
        resolve(a);
      });
      this.child.channel?.ref();
      this.child.send({ id, ...message }, (err) => {
        if (err) this.asks.get(id)?.(new ForwarderError('bad_gateway', 'the namespace helper is gone'));
      });
    }).finally(() => {
      if (!this.asks.size) this.child.channel?.unref();
    });
  }

  private answered(raw: unknown, handle: unknown): void {
    const parsed = FromHelper.safeParse(raw);
    const isSocket =
      handle !== undefined && handle !== null && typeof (handle as Socket).destroy === 'function';
    if (!parsed.success || 'ready' in parsed.data) {
      if (isSocket) (handle as Socket).destroy();
      return;
    }
    const m = parsed.data;
    const ask = this.asks.get(m.id);
    if ('ports' in m) {
      ask?.({ ports: m.ports });
      return;
    }
    if (m.ok && isSocket) {
      if (ask) ask({ socket: handle as Socket });
      else (handle as Socket).destroy();
      return;
    }
    if (isSocket) (handle as Socket).destroy();
    const refused = !m.ok && (m.code === 'ECONNREFUSED' || m.code === 'EADDRNOTAVAIL');
    ask?.(
      refused
        ? new ForwarderError('port_closed', 'nothing listens on that port')
        : new ForwarderError('bad_gateway', m.ok ? 'the namespace helper sent no socket' : m.code),
    );
  }
}
