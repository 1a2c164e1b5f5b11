import {
  LSP_STREAM_TTL_SECONDS,
  type LspError,
  type LspLanguage,
  type LspOpenJob,
  lspKeys,
  lspWorkspaceConnectionsKey,
} from '@keel/contract/lsp';
import { lspOutputStream } from '@keel/contract/streams';
import type { Redis } from 'ioredis';
import { StreamAppender } from '../streams/appender.ts';
import { type WorkloadDriver, WorkloadError } from '../workloads/types.ts';
import { LspConnection } from './lsp-connection.ts';
import { LspServer } from './lsp-server.ts';
import { startServerProcess } from './server-process.ts';

export interface LanguageServersOptions {
  redis: Redis;
  keys: { base: string };
  driverFor(workspaceId: string): Promise<WorkloadDriver>;
  /** A server with no connection for this long stops. */
  idleMs: number;
  onActivity(workspaceId: string): void;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/**
 * The runner's language servers: one per workspace and language, started by the first connection
 * (an `lsp.open` job), shared by the ones after it, stopped once none has been attached for the idle
 * time, and when the workspace stops.
 */
export class LanguageServers {
  readonly #servers = new Map<string, LspServer>();
  readonly #idle = new Map<string, NodeJS.Timeout>();
  readonly #starting = new Map<string, Promise<LspServer>>();

  constructor(private readonly o: LanguageServersOptions) {}

  async open(job: LspOpenJob): Promise<{ attached: boolean; duplicate?: true }> {
    const { redis } = this.o;
    const keys = lspKeys(this.o.keys, job.connectionId);
    // A job is delivered again when its runner died before finishing it: one attachment, ever.
    if ((await redis.set(keys.claimed, '1', 'EX', LSP_STREAM_TTL_SECONDS, 'NX')) !== 'OK') {
      return { attached: false, duplicate: true };
    }
    let server: LspServer;
    try {
      server = await this.#serverFor(job.workspaceId, job.language);
    } catch (err) {
      const notRunning = err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_RUNNING';
      await this.#refuse(job, {
        code: notRunning ? 'workspace_not_running' : 'server_unavailable',
        message: notRunning
          ? 'The workspace is not running; start it first.'
          : `The language server could not start: ${err instanceof Error ? err.message : String(err)}`,
      });
      return { attached: false };
    }
    const key = serverKey(job.workspaceId, job.language);
    clearTimeout(this.#idle.get(key));
    this.#idle.delete(key);
    const connection = new LspConnection({
      redis,
      base: this.o.keys.base,
      connectionId: job.connectionId,
      onMessage: (peer, message) => server.fromPeer(peer, message),
      onEnd: (peer) => {
        server.detach(peer.id);
        connection.end({ code: 'idle', message: 'The connection closed.' });
        void redis
          .zrem(lspWorkspaceConnectionsKey(this.o.keys, job.workspaceId), job.connectionId)
          .catch(() => {});
        if (server.peers.size === 0) this.#idleLater(key, server);
      },
      onActivity: () => this.o.onActivity(job.workspaceId),
    });
    server.attach(connection);
    this.o.onActivity(job.workspaceId);
    return { attached: true };
  }

  /** Servers running now, by workspace and language (tests and metrics). */
  running(): Array<{ workspaceId: string; language: LspLanguage; connections: number; state: string }> {
    return [...this.#servers.values()].map((s) => ({
      workspaceId: s.workspaceId,
      language: s.language,
      connections: s.peers.size,
      state: s.state,
    }));
  }

  /** Workspaces with a connected language server: in use, so not idle. */
  workspaces(): Set<string> {
    return new Set([...this.#servers.values()].filter((s) => s.peers.size > 0).map((s) => s.workspaceId));
  }

  /** Before a workspace stops: its servers end, and their connections say why. */
  async endWorkspace(workspaceId: string): Promise<void> {
    await Promise.all(
      [...this.#servers.values()]
        .filter((s) => s.workspaceId === workspaceId)
        .map((s) => s.stop({ code: 'workspace_stopped', message: 'The workspace stopped.' })),
    );
  }

  /** The runner is shutting down. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.#servers.values()].map((s) =>
        s.stop({ code: 'runner_unavailable', message: 'The workspace runner stopped.' }),
      ),
    );
  }

  /** The server for a workspace and language: the running one, or one started now (once, however many ask at once). */
  #serverFor(workspaceId: string, language: LspLanguage): Promise<LspServer> {
    const key = serverKey(workspaceId, language);
    const existing = this.#servers.get(key);
    // One told to stop (its idle time ran out while this connection was being claimed) is not
    // joined: a new one starts beside it, and the stopping one leaves the map when it exits.
    if (existing && existing.state !== 'failed' && existing.state !== 'stopped' && !existing.stopping)
      return Promise.resolve(existing);
    let starting = this.#starting.get(key);
    if (!starting) {
      starting = this.#start(workspaceId, language).finally(() => this.#starting.delete(key));
      this.#starting.set(key, starting);
    }
    return starting;
  }

  async #start(workspaceId: string, language: LspLanguage): Promise<LspServer> {
    const key = serverKey(workspaceId, language);
    const driver = await this.o.driverFor(workspaceId);
    if ((await driver.status(workspaceId)) !== 'running') {
      throw new WorkloadError('WORKLOAD_NOT_RUNNING', `workspace ${workspaceId} is not running`);
    }
    const server = new LspServer(
      workspaceId,
      language,
      startServerProcess(driver, workspaceId, language),
      (msg, extra) => this.o.log?.(msg, { workspaceId, language, ...extra }),
    );
    this.#servers.set(key, server);
    void server.done.finally(() => {
      // Only this server's own entries: a newer one may already hold the key and its idle timer.
      if (this.#servers.get(key) !== server) return;
      this.#servers.delete(key);
      clearTimeout(this.#idle.get(key));
      this.#idle.delete(key);
    });
    return server;
  }

  #idleLater(key: string, server: LspServer): void {
    clearTimeout(this.#idle.get(key));
    const timer = setTimeout(() => {
      this.#idle.delete(key);
      if (server.peers.size > 0 || this.#servers.get(key) !== server) return;
      const seconds = Math.round(this.o.idleMs / 1000);
      const unused = seconds < 60 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
      void server.stop({ code: 'idle', message: `The language server stopped after ${unused} unused.` });
    }, this.o.idleMs);
    timer.unref();
    this.#idle.set(key, timer);
  }

  async #refuse(job: LspOpenJob, reason: LspError): Promise<void> {
    const keys = lspKeys(this.o.keys, job.connectionId);
    const out = new StreamAppender(this.o.redis, keys.output, lspOutputStream, {
      coalesce: false,
      renewTtl: true,
      entryPerAppend: true,
    });
    await out.end([['end', JSON.stringify(reason)]]);
    await this.o.redis
      .multi()
      .del(keys.input, keys.attached)
      .zrem(lspWorkspaceConnectionsKey(this.o.keys, job.workspaceId), job.connectionId)
      .exec();
  }
}

function serverKey(workspaceId: string, language: LspLanguage): string {
  return `${workspaceId}\u0000${language}`;
}
