import type { WorkloadDriver, WorkloadSpec } from '../../../runners/src/workloads/types.ts';
import { type Rig, startRig } from '../../harness/runner-rig.ts';
import type { DriverTarget } from '../target.ts';

/**
 * What every suite of one conformance run shares: the target's driver (made once), a whole
 * Keel whose runner drives it (started when an API-level suite first asks), and the
 * driver-level workspaces to remove at the end, whatever the tests left.
 */
export class Stand {
  #made: Awaited<ReturnType<DriverTarget['make']>> | undefined;
  #rig: Promise<Rig> | undefined;
  readonly #ids = new Set<string>();
  // Unique per run: several checkouts share the Docker engine.
  readonly #prefix = `cf${process.pid.toString(36)}-`;

  constructor(readonly target: DriverTarget) {}

  get kind(): string {
    return this.target.kind;
  }

  async open(): Promise<void> {
    this.#made = await this.target.make();
    if (this.#made.driver.kind !== this.target.kind) {
      throw new Error(`the ${this.target.kind} target made a ${this.#made.driver.kind} driver`);
    }
  }

  driver(): WorkloadDriver {
    if (!this.#made) throw new Error(`the ${this.target.kind} target was not made`);
    return this.#made.driver;
  }

  lacks(what: 'network' | 'hostDir'): boolean {
    return this.target.lacks?.includes(what) ?? false;
  }

  /** A workspace id of this run; `close` removes it, whatever state the test left it in. */
  id(name: string): string {
    const id = `${this.#prefix}${name}`;
    this.#ids.add(id);
    return id;
  }

  /** A small workload spec with the given id. */
  spec(id: string, over: Partial<WorkloadSpec> = {}): WorkloadSpec {
    return {
      workspaceId: id,
      cpus: 0.5,
      memoryMb: 256,
      pidsLimit: 64,
      network: false,
      storage: { kind: 'volume' },
      ...over,
    };
  }

  /** A created and started workload of this run. */
  async running(name: string, over: Partial<WorkloadSpec> = {}): Promise<string> {
    const id = this.id(name);
    await this.driver().create(this.spec(id, over));
    await this.driver().start(id);
    return id;
  }

  /** The edge and runner on this target's driver, shared by the API-level suites. */
  rig(): Promise<Rig> {
    this.#rig ??= startRig(this.target.kind, { driver: this.driver() });
    return this.#rig;
  }

  async close(): Promise<void> {
    const rig = await this.#rig?.catch(() => undefined);
    await rig?.close();
    if (!this.#made) return;
    for (const id of this.#ids) await this.#made.driver.remove(id, { keepData: false }).catch(() => {});
    await this.#made.cleanup();
  }
}
