import type { ServerAccess } from '@keel/contract/servers';
import type { WorkloadDriver } from '../workloads/types.ts';
import type { AssignedServer } from './access.ts';
import type { DockerAccess } from './docker-test.ts';
import type { KubernetesAccess } from './kubernetes-test.ts';

/** A driver for one infrastructure server; `close` ends its connection. */
export type ServerDriver = WorkloadDriver & { close(): Promise<void> };

/** How a server's driver is made from its access, by kind; tests pass their own. */
export interface ServerDriverFactories {
  docker(access: DockerAccess, opts: { defaultImage?: string }): Promise<ServerDriver>;
  kubernetes(access: KubernetesAccess, opts: { defaultImage?: string }): Promise<ServerDriver>;
}

/**
 * Loaded on first use: a runner with no servers never evaluates the SSH and Kubernetes clients
 * (most of the runner bundle's size).
 */
export const remoteServerDriverFactories: ServerDriverFactories = {
  docker: async (access, opts) =>
    (await import('../workloads/remote-docker.ts')).makeRemoteDockerDriver(access, opts),
  kubernetes: async (access, opts) =>
    (await import('../workloads/kubernetes.ts')).makeKubernetesDriver(access, opts),
};

/** A workspace's server cannot be driven now (not assigned, access refused, unreachable). */
export class ServerUnavailableError extends Error {
  override name = 'ServerUnavailableError';
  constructor(
    readonly serverId: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ServerDriversOptions {
  /** The servers assigned to this runner now, from the edge. */
  assigned(): Promise<AssignedServer[]>;
  /** A server's access for its workspaces, from the edge; handed to the factory and not kept. */
  access(serverId: string): Promise<ServerAccess>;
  factories: ServerDriverFactories;
  defaultImage?: string;
  /** A server's driver was closed or replaced: what was built on the old one (file roots) is stale. */
  onClosed?(serverId: string): void;
  /**
   * A failure to make a driver is answered as is for this long before trying again (default
   * 10 s), doubled at each failure in a row up to 5 minutes: every try fetches the access, and
   * the edge audits each fetch.
   */
  retryMs?: number;
  /** A server missing from a list older than this makes a lookup ask the edge again (default 2 s). */
  relistMs?: number;
  /** A list older than this is asked again at the next lookup (default 60 s). */
  listMaxAgeMs?: number;
}

const MAX_RETRY_MS = 5 * 60_000;

interface Entry {
  server: AssignedServer;
  driver: Promise<ServerDriver>;
}

/**
 * One open driver per assigned server, made on demand from the server's access. A server's
 * access lives only inside its driver: it is fetched again when the server changes (its
 * `updatedAt` moves: a new credential or endpoint), and dropped with the driver when the
 * server is no longer assigned to this runner.
 */
export class ServerDrivers {
  private readonly entries = new Map<string, Entry>();
  private readonly failures = new Map<
    string,
    { at: number; updatedAt: string; message: string; waitMs: number }
  >();
  private assigned: Map<string, AssignedServer> | undefined;
  private listedAt = 0;
  private listing: Promise<Map<string, AssignedServer>> | undefined;
  private closed = false;

  constructor(private readonly o: ServerDriversOptions) {}

  /** The driver of an assigned server; throws ServerUnavailableError saying why there is none. */
  async driver(serverId: string): Promise<ServerDriver> {
    if (this.closed) throw new ServerUnavailableError(serverId, 'the runner is stopping');
    const server = await this.lookup(serverId);
    const entry = this.entries.get(serverId);
    if (entry && entry.server.updatedAt === server.updatedAt) return this.settled(serverId, entry.driver);
    if (entry) this.drop(serverId);
    return this.settled(serverId, this.open(server));
  }

  /** Servers with an open (or opening) driver. */
  openServers(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Takes the edge's current list: drivers of servers no longer assigned are closed, those of
   * servers changed since their driver was made are closed too (the next use makes a fresh one).
   */
  sync(servers: AssignedServer[]): void {
    this.assigned = new Map(servers.map((s) => [s.id, s]));
    this.listedAt = Date.now();
    for (const [id, entry] of this.entries) {
      const now = this.assigned.get(id);
      if (!now || now.updatedAt !== entry.server.updatedAt || now.kind !== entry.server.kind) this.drop(id);
    }
    for (const [id, failure] of this.failures) {
      if (this.assigned.get(id)?.updatedAt !== failure.updatedAt) this.failures.delete(id);
    }
  }

  /** Asks the edge for the list and takes it; the list is returned. */
  async refresh(): Promise<AssignedServer[]> {
    this.listing ??= (async () => {
      try {
        this.sync(await this.o.assigned());
        return this.assigned ?? new Map();
      } finally {
        this.listing = undefined;
      }
    })();
    return [...(await this.listing).values()];
  }

  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(open.map((e) => e.driver.then((d) => d.close()).catch(() => {})));
  }

  private async lookup(serverId: string): Promise<AssignedServer> {
    const known = this.assigned?.get(serverId);
    const age = Date.now() - this.listedAt;
    const stale = !known ? age >= (this.o.relistMs ?? 2_000) : age >= (this.o.listMaxAgeMs ?? 60_000);
    if (!stale && known) return known;
    if (stale) {
      try {
        await this.refresh();
      } catch (err) {
        // The edge is out of reach: a server this runner drives keeps being driven meanwhile.
        const open = this.entries.get(serverId);
        if (open) return open.server;
        if (known) return known;
        throw new ServerUnavailableError(serverId, `its server's access cannot be fetched: ${message(err)}`);
      }
    }
    const server = this.assigned?.get(serverId);
    if (!server)
      throw new ServerUnavailableError(serverId, `its server ${serverId} is not assigned to this runner`);
    return server;
  }

  private open(server: AssignedServer): Promise<ServerDriver> {
    const failed = this.failures.get(server.id);
    if (
      failed &&
      failed.updatedAt === server.updatedAt &&
      Date.now() - failed.at < (this.o.retryMs ?? 10_000)
    ) {
      return Promise.reject(new ServerUnavailableError(server.id, failed.message));
    }
    const opts = this.o.defaultImage ? { defaultImage: this.o.defaultImage } : {};
    const driver = (async () => {
      const access = await this.o.access(server.id);
      if (access.kind !== server.kind) {
        throw new Error(`the server is listed as ${server.kind} but its access is for ${access.kind}`);
      }
      return access.kind === 'kubernetes'
        ? this.o.factories.kubernetes(access, opts)
        : this.o.factories.docker(access, opts);
    })();
    const entry: Entry = { server, driver };
    this.entries.set(server.id, entry);
    driver.then(
      (made) => {
        this.failures.delete(server.id);
        // Dropped or closed while it was being made: nobody will use it.
        if (this.entries.get(server.id) !== entry) void made.close().catch(() => {});
      },
      (err) => {
        if (this.entries.get(server.id) === entry) this.entries.delete(server.id);
        const before = this.failures.get(server.id);
        const first = this.o.retryMs ?? 10_000;
        const waitMs =
          before?.updatedAt === server.updatedAt ? Math.min(before.waitMs * 2, MAX_RETRY_MS) : first;
        this.failures.set(server.id, {
          at: Date.now(),
          updatedAt: server.updatedAt,
          message: reason(err),
          waitMs,
        });
      },
    );
    return driver;
  }

  private drop(serverId: string): void {
    const entry = this.entries.get(serverId);
    if (!entry) return;
    this.entries.delete(serverId);
    void entry.driver.then((d) => d.close()).catch(() => {});
    this.o.onClosed?.(serverId);
  }

  private async settled(serverId: string, driver: Promise<ServerDriver>): Promise<ServerDriver> {
    try {
      return await driver;
    } catch (err) {
      throw err instanceof ServerUnavailableError ? err : new ServerUnavailableError(serverId, reason(err));
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function reason(err: unknown): string {
  return `its server cannot be reached: ${message(err)}`;
}
