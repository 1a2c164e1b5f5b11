import type { ApiClient } from './api.ts';
import { mapLimit } from './api.ts';
import { type EchoFigures, EchoTerminal, TICK_MS } from './echo-terminal.ts';
import { driveIde, type IdeFigures, type IdeOp } from './ide-client.ts';
import { createPeople, type ScalePerson } from './people.ts';
import { type Percentiles, percentiles } from './percentiles.ts';
import { type ProcessFigures, type WatchedProcess, watchProcesses } from './process-stats.ts';
import {
  deleteWorkspaces,
  type StartedWorkspace,
  startWorkspaces,
  type WorkspaceSize,
} from './workspaces.ts';

/** The Keel under test: where it answers, an administrator's token, and its processes to measure. */
export interface ScaleTarget {
  base: string;
  admin: ApiClient;
  watched: WatchedProcess[];
}

export interface StepSettings {
  people: number;
  concurrency: number;
  seconds: number;
  rate: number;
  ideClients: number;
  ideIntervalMs: number;
  workspace: WorkspaceSize;
  limits: Limits;
}

/** Small workspaces, as Coder's scale test template is: placement admits many on one host. */
export const SCALE_WORKSPACE: WorkspaceSize = { cpus: 0.25, memoryMb: 256 };

/** What holds: the issue's limits (Coder's), and no byte lost or out of order. */
export const LIMITS = { throughputRatio: 0.9, disconnectRatio: 0.01, echoP99Ms: 100 };
export type Limits = typeof LIMITS;

export interface StepResult {
  settings: StepSettings;
  /** Every terminal's figures summed, and their echoes as percentiles. */
  terminals: Omit<EchoFigures, 'echoMs'> & {
    opened: number;
    failedToOpen: number;
    targetBytesPerSecond: number;
    achievedBytesPerSecond: number;
    throughputRatio: number;
    echoMs: Percentiles;
  };
  ide: { clients: number; ms: Record<IdeOp, Percentiles>; errorCount: number; errors: string[] };
  workspaceStartMs: Percentiles;
  processes: ProcessFigures[];
  held: boolean;
  /** The limits this step broke, in words. */
  broke: string[];
}

/** People and workspaces made so far: a ramp's next step adds only the difference. */
export class ScalePopulation {
  readonly people: ScalePerson[] = [];
  readonly workspaces: StartedWorkspace[] = [];
  private startMs: number[] = [];

  constructor(private readonly target: ScaleTarget) {}

  /** Grows to `n` people with a running workspace each; returns the start times of the new ones. */
  async growTo(n: number, concurrency: number, size: WorkspaceSize): Promise<number[]> {
    const more = n - this.people.length;
    if (more <= 0) return this.startMs;
    const people = await createPeople(this.target.admin, more);
    this.people.push(...people);
    const started = await startWorkspaces(people, concurrency, size, this.workspaces.length);
    this.workspaces.push(...started);
    this.startMs = started.map((w) => w.startMs);
    return this.startMs;
  }
}

const terminalUrl = (base: string, workspaceId: string) =>
  new URL(`/api/workspaces/${workspaceId}/terminal?cols=200&rows=50`, base.replace(/^http/, 'ws')).toString();

const firstFew = (xs: string[]) => [...new Set(xs)].slice(0, 10);

/** One step: N people's workspaces running, N terminals and the IDE clients driven for the set time. */
export async function runStep(
  target: ScaleTarget,
  population: ScalePopulation,
  settings: StepSettings,
  log: (line: string) => void = () => {},
): Promise<StepResult> {
  log(`scale: ${settings.people} people, workspaces ${settings.concurrency} at a time…`);
  const startMs = await population.growTo(settings.people, settings.concurrency, settings.workspace);
  const workspaces = population.workspaces.slice(0, settings.people);

  log(`scale: opening ${workspaces.length} terminals…`);
  const terminals: EchoTerminal[] = [];
  const openErrors: string[] = [];
  await mapLimit(workspaces, settings.concurrency, async (w) => {
    const term = new EchoTerminal(terminalUrl(target.base, w.id), w.person.api.token);
    try {
      await term.open();
      terminals.push(term);
    } catch (err) {
      openErrors.push((err as Error).message);
      await term.stop();
    }
  });

  log(`scale: driving ${terminals.length} terminals at ${settings.rate} B/s for ${settings.seconds} s…`);
  // The load itself shares the host: its own share of the CPU says how much was left.
  const watch = watchProcesses([
    ...target.watched,
    { role: 'scale test client', pid: process.pid, tree: false },
  ]);
  const t = performance.now();
  // Spread evenly over a tick, each terminal its own phase (see EchoTerminal.drive).
  for (const [i, term] of terminals.entries()) term.drive(settings.rate, (i * TICK_MS) / terminals.length);
  const ides = workspaces
    .slice(0, settings.ideClients)
    .map((w) => driveIde(w.person.api, w.id, settings.ideIntervalMs));
  await new Promise((r) => setTimeout(r, settings.seconds * 1000));
  const seconds = (performance.now() - t) / 1000;
  const [echo, ide] = await Promise.all([
    Promise.all(terminals.map((term) => term.stop())),
    Promise.all(ides.map((c) => c.stop())),
  ]);
  const processes = watch.stop();
  return summarizeStep(settings, seconds, echo, openErrors, ide, startMs, processes);
}

function summarizeStep(
  settings: StepSettings,
  seconds: number,
  echo: EchoFigures[],
  openErrors: string[],
  ide: IdeFigures[],
  startMs: number[],
  processes: ProcessFigures[],
): StepResult {
  const sum = (f: (e: EchoFigures) => number) => echo.reduce((n, e) => n + f(e), 0);
  const targetBps = settings.people * settings.rate;
  const achievedBps = Math.round(sum((e) => e.echoed) / seconds);
  const terminals = {
    opened: echo.length,
    failedToOpen: openErrors.length,
    targetBytesPerSecond: targetBps,
    achievedBytesPerSecond: achievedBps,
    throughputRatio: Math.round((achievedBps / targetBps) * 1000) / 1000,
    sent: sum((e) => e.sent),
    echoed: sum((e) => e.echoed),
    lost: sum((e) => e.lost),
    outOfOrder: sum((e) => e.outOfOrder),
    disconnects: sum((e) => e.disconnects),
    reconnects: sum((e) => e.reconnects),
    echoMs: percentiles(echo.flatMap((e) => e.echoMs)),
    errors: firstFew([...openErrors, ...echo.flatMap((e) => e.errors)]),
  };
  const ops: IdeOp[] = ['list', 'write', 'read', 'run'];
  const ideErrors = ide.flatMap((c) => c.errors);
  const result: StepResult = {
    settings,
    terminals,
    ide: {
      clients: ide.length,
      ms: Object.fromEntries(ops.map((op) => [op, percentiles(ide.flatMap((c) => c.ms[op]))])) as Record<
        IdeOp,
        Percentiles
      >,
      errorCount: ideErrors.length,
      errors: firstFew(ideErrors),
    },
    workspaceStartMs: percentiles(startMs),
    processes,
    held: false,
    broke: [],
  };
  result.broke = brokenLimits(result, settings.limits);
  result.held = result.broke.length === 0;
  return result;
}

export function brokenLimits(r: StepResult, limits: Limits = LIMITS): string[] {
  const t = r.terminals;
  const broke: string[] = [];
  if (t.lost > 0) broke.push(`${t.lost} bytes lost`);
  if (t.outOfOrder > 0) broke.push(`${t.outOfOrder} bytes out of order`);
  if (t.failedToOpen > 0) broke.push(`${t.failedToOpen} terminals did not open`);
  if (t.throughputRatio < limits.throughputRatio)
    broke.push(
      `throughput ${Math.round(t.throughputRatio * 100)}% of target (< ${limits.throughputRatio * 100}%)`,
    );
  if (t.disconnects / r.settings.people >= limits.disconnectRatio)
    broke.push(`${t.disconnects} disconnects (≥ ${limits.disconnectRatio * 100}% of terminals)`);
  if (t.echoMs.p99 > limits.echoP99Ms) broke.push(`p99 echo ${t.echoMs.p99} ms (> ${limits.echoP99Ms} ms)`);
  if (r.ide.errorCount > 0) broke.push(`${r.ide.errorCount} IDE operations failed`);
  return broke;
}

export interface RampResult {
  /** The largest N whose step held; 0 when none did. */
  largestHeld: number;
  /** What broke at the first step that did not hold. */
  brokeAt?: { people: number; broke: string[] };
  steps: StepResult[];
}

/** Runs a step for each N in turn, stopping at the first that breaks a limit. */
export async function runRamp(
  target: ScaleTarget,
  steps: number[],
  settings: Omit<StepSettings, 'people' | 'ideClients' | 'limits' | 'workspace'> & {
    ideClients?: number;
    limits?: Limits;
    workspace?: WorkspaceSize;
  },
  log: (line: string) => void = () => {},
): Promise<RampResult> {
  const population = new ScalePopulation(target);
  const ramp: RampResult = { largestHeld: 0, steps: [] };
  try {
    await rampSteps();
  } finally {
    await deleteWorkspaces(population.workspaces);
  }
  return ramp;

  async function rampSteps() {
    for (const people of steps) {
      let step: StepResult;
      try {
        step = await runStep(
          target,
          population,
          {
            ...settings,
            people,
            ideClients: Math.min(settings.ideClients ?? people, people),
            limits: settings.limits ?? LIMITS,
            workspace: settings.workspace ?? SCALE_WORKSPACE,
          },
          log,
        );
      } catch (err) {
        // Making the people or starting their workspaces failed: that is where it broke.
        ramp.brokeAt = { people, broke: [(err as Error).message] };
        break;
      }
      ramp.steps.push(step);
      log(`scale: N=${people} ${step.held ? 'held' : `broke: ${step.broke.join('; ')}`}`);
      if (!step.held) {
        ramp.brokeAt = { people, broke: step.broke };
        break;
      }
      ramp.largestHeld = people;
    }
  }
}
