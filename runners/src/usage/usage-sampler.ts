import { randomUUID } from 'node:crypto';
import { MAX_USAGE_SAMPLES, type UsageSample, type UsageSampleReport } from '@keel/contract/usage';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { log } from '../log.ts';
import { splitAtHours } from './hour-split.ts';

/** One reading of a running workspace; absent figures are unknown (counted as nothing). */
export interface WorkspaceReading {
  /** The CPU counter (seconds since the workload started). */
  cpuSeconds?: number;
  memoryBytes?: number;
  storageBytes?: number;
}

/**
 * The verdict on one report: `retry` keeps it (same id) for the next round; `refused` (the whole
 * report, a 4xx) drops it; `delivered` is done. `{ refusedWorkspaces }` is delivered too, but the
 * edge wrote nothing for those workspaces (not, or no longer, on this runner): never sent again.
 */
export type ReportOutcome = 'delivered' | 'refused' | 'retry' | { refusedWorkspaces: string[] };

export interface UsageSamplerSources {
  /** This runner's running workspaces, each with what can be read of it now. */
  read(): Promise<Map<string, WorkspaceReading>>;
  send(report: UsageSampleReport): Promise<ReportOutcome>;
  /** Where the last readings are kept across restarts, so none is counted twice or lost. */
  state?: {
    load(): Promise<Record<string, PreviousReading>>;
    save(state: Record<string, PreviousReading>): Promise<void>;
  };
  now?: () => number;
}

/** Reports kept for a retry at most; past that the oldest go (an edge away for hours). */
const MAX_PENDING_REPORTS = 120;

/** A workspace's last reading: when, and its counters then. */
export interface PreviousReading {
  at: number;
  cpuSeconds?: number | undefined;
  memoryBytes?: number | undefined;
}

/**
 * Samples the runner's running workspaces every interval and reports what each used since the
 * previous sample: the CPU counter's increase, memory integrated over the interval (the mean of
 * the two readings), disk held at the end, and the seconds it ran, each interval cut at UTC hour
 * boundaries. A report that could not be delivered is sent again, same id, so the edge counts it
 * once; a refused one (4xx) is dropped and logged, and so are the samples the edge refused one by
 * one (workspaces no longer on this runner). The last readings are kept on disk, so a
 * restarted runner neither counts a CPU counter twice nor loses it; a workspace seen for the
 * first time counts its whole counter. One that stops loses at most the interval since its last
 * reading.
 */
export class UsageSampler {
  readonly #previous = new Map<string, PreviousReading>();
  readonly #pending: UsageSampleReport[] = [];
  /** Workspaces the edge refused and that were logged: each is logged once while it is read. */
  readonly #refusedLogged = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;
  #loaded = false;

  constructor(
    private readonly sources: UsageSamplerSources,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => void this.tick(), this.intervalMs);
    void this.tick();
  }

  /** Stops the timer and waits (bounded by the caller) for a round in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /** One round: sample, then send what is pending. Rounds never overlap. */
  tick(): Promise<void> {
    this.#round ??= this.#sampleAndSend()
      .catch((err: unknown) => log('warn', 'usage round failed', { error: String(err) }))
      .finally(() => {
        this.#round = undefined;
      });
    return this.#round;
  }

  /** Reports waiting for delivery (tests). */
  get pending(): number {
    return this.#pending.length;
  }

  async #sampleAndSend(): Promise<void> {
    if (!this.#loaded) {
      this.#loaded = true;
      const saved = await this.sources.state?.load().catch(() => undefined);
      for (const [id, prev] of Object.entries(saved ?? {})) this.#previous.set(id, prev);
    }
    const readings = await this.sources.read();
    const now = (this.sources.now ?? Date.now)();
    const samples = this.#samples(readings, now);
    await this.sources.state?.save(Object.fromEntries(this.#previous)).catch((err: unknown) => {
      log('warn', 'usage state not saved', { error: String(err) });
    });
    for (let i = 0; i < samples.length; i += MAX_USAGE_SAMPLES) {
      this.#pending.push({
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: samples.slice(i, i + MAX_USAGE_SAMPLES),
      });
    }
    if (this.#pending.length > MAX_PENDING_REPORTS) {
      const dropped = this.#pending.splice(0, this.#pending.length - MAX_PENDING_REPORTS);
      log('warn', 'usage reports dropped: the edge took none for too long', { reports: dropped.length });
    }
    while (this.#pending.length > 0 && !this.#stopped) {
      const report = this.#pending[0]!;
      const outcome = await this.sources.send(report).catch((): ReportOutcome => 'retry');
      if (outcome === 'retry') return;
      this.#pending.shift();
      if (outcome === 'refused') log('warn', 'usage report refused', { samples: report.samples.length });
      else if (typeof outcome === 'object') this.#logRefused(report, outcome.refusedWorkspaces);
    }
  }

  /**
   * Logs (ids only) the workspaces the edge refused, each once: a workspace moved away while this
   * runner still ran it would otherwise be named every round. Only ids this report carried.
   */
  #logRefused(report: UsageSampleReport, refused: string[]): void {
    const sent = new Set(report.samples.map((s) => s.workspaceId));
    const fresh = [...new Set(refused)].filter((id) => sent.has(id) && !this.#refusedLogged.has(id));
    for (const id of fresh) this.#refusedLogged.add(id);
    if (fresh.length > 0)
      log('warn', 'usage samples refused: the workspaces are not on this runner', { workspaces: fresh });
  }

  #samples(readings: Map<string, WorkspaceReading>, now: number): UsageSample[] {
    for (const id of this.#previous.keys()) if (!readings.has(id)) this.#previous.delete(id);
    for (const id of this.#refusedLogged) if (!readings.has(id)) this.#refusedLogged.delete(id);
    const out: UsageSample[] = [];
    for (const [workspaceId, r] of readings) {
      const prev = this.#previous.get(workspaceId);
      // First seen (not in the kept state either): it started since, so all of its CPU counter
      // is new, counted at the next reading; its running time counts from now.
      this.#previous.set(workspaceId, {
        at: now,
        cpuSeconds: prev ? (r.cpuSeconds ?? prev.cpuSeconds) : 0,
        memoryBytes: r.memoryBytes,
      });
      // A gap far longer than the interval (a suspended host, a stalled engine): start again.
      if (!prev || now <= prev.at || now - prev.at > Math.max(10 * this.intervalMs, 600_000)) continue;
      const seconds = (now - prev.at) / 1000;
      const cpu = cpuIncrease(prev.cpuSeconds, r.cpuSeconds);
      const memory =
        r.memoryBytes === undefined
          ? 0
          : prev.memoryBytes === undefined
            ? r.memoryBytes
            : (r.memoryBytes + prev.memoryBytes) / 2;
      const storageBytes = Math.max(0, Math.round(r.storageBytes ?? 0));
      for (const [from, to] of splitAtHours(prev.at, now)) {
        const share = (to - from) / 1000 / seconds;
        out.push({
          workspaceId,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          cpuSeconds: Math.max(0, cpu * share),
          memoryByteSeconds: Math.max(0, memory * ((to - from) / 1000)),
          storageBytes,
          runningSeconds: Math.round((to - from) / 1000),
        });
      }
    }
    return out;
  }
}

/** The CPU counter's increase; a counter that went back is a restarted workload, all of it new. */
function cpuIncrease(before: number | undefined, now: number | undefined): number {
  if (before === undefined || now === undefined) return 0;
  return now < before ? now : now - before;
}
