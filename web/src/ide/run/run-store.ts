import type { ExitEvent } from '@keel/contract/workspaces';
import { type Accessor, createSignal, type Setter } from 'solid-js';
import type { Timers } from '../../api/browser-timers.ts';
import type { ExecutionsApi } from '../../api/executions-api.ts';
import { type ExecutionFollower, followExecution, type OutputStream } from '../../api/follow-execution.ts';
import { type AnsiReader, type AnsiStyle, createAnsiReader } from './ansi.ts';

export interface OutputChunk {
  stream: OutputStream;
  text: string;
  style: AnsiStyle;
}

export type RunState = 'starting' | 'running' | 'reconnecting' | 'exited' | 'failed';

export interface Run {
  /** Local id: the execution id is only known once the server accepted the command. */
  id: string;
  executionId: string | undefined;
  command: string;
  startedAt: number;
  /** When the exit (or the failure) arrived. */
  endedAt: number | undefined;
  state: RunState;
  exit: ExitEvent | undefined;
  /** Why the command could not be started or followed. */
  error: unknown;
  cancelling: boolean;
  /** The oldest output was dropped to keep the page responsive. */
  truncated: boolean;
}

export interface RunStore {
  /** Every run of this session, oldest first. */
  runs: Accessor<readonly Run[]>;
  selected: Accessor<string | undefined>;
  select(id: string): void;
  output(id: string): readonly OutputChunk[];
  /** Starts a command (through `/bin/sh -c` in the workspace root) and follows its output. */
  run(command: string): Promise<void>;
  cancel(id: string): Promise<void>;
  /** Removes finished runs from the history. */
  clearFinished(): void;
  /** Stops following (the commands keep running on the server). */
  dispose(): void;
}

export interface RunStoreOptions {
  executions: ExecutionsApi;
  workspaceId: string;
  timers?: Timers;
  /** Output kept per run, in characters; older output is dropped past it. */
  maxOutputChars?: number;
  now?: () => number;
}

interface RunOutput {
  chunks: OutputChunk[];
  chars: number;
  read: Accessor<OutputChunk[]>;
  write: Setter<OutputChunk[]>;
  readers: Record<OutputStream, AnsiReader>;
}

/**
 * The run panel's state: a history of commands, each with its live output. Output is appended in place to
 * a signal that always notifies, so a chatty command costs one array push per event rather than a copy.
 */
export function createRunStore(options: RunStoreOptions): RunStore {
  const maxChars = options.maxOutputChars ?? 2_000_000;
  const now = options.now ?? Date.now;
  const [runs, setRuns] = createSignal<readonly Run[]>([]);
  const [selected, setSelected] = createSignal<string>();
  const outputs = new Map<string, RunOutput>();
  const followers = new Map<string, ExecutionFollower>();
  let counter = 0;

  function update(id: string, change: Partial<Run>): void {
    setRuns((list) => list.map((run) => (run.id === id ? { ...run, ...change } : run)));
  }

  function append(id: string, stream: OutputStream, text: string): void {
    const output = outputs.get(id);
    if (output === undefined) return;
    for (const piece of output.readers[stream].push(text)) {
      const last = output.chunks[output.chunks.length - 1];
      if (
        last !== undefined &&
        last.stream === stream &&
        last.style === piece.style &&
        last.text.length < 4096
      ) {
        // Replaced, not mutated: the view keys chunks by identity and redraws only this one.
        output.chunks[output.chunks.length - 1] = { ...last, text: last.text + piece.text };
      } else {
        output.chunks.push({ stream, text: piece.text, style: piece.style });
      }
      output.chars += piece.text.length;
    }
    if (output.chars > maxChars) {
      let drop = 0;
      while (output.chars > maxChars * 0.8 && drop < output.chunks.length - 1) {
        output.chars -= output.chunks[drop]!.text.length;
        drop += 1;
      }
      output.chunks.splice(0, drop);
      update(id, { truncated: true });
    }
    output.write(output.chunks);
  }

  async function run(command: string): Promise<void> {
    counter += 1;
    const id = `run-${counter}`;
    const [read, write] = createSignal<OutputChunk[]>([], { equals: false });
    outputs.set(id, {
      chunks: [],
      chars: 0,
      read,
      write,
      readers: { stdout: createAnsiReader(), stderr: createAnsiReader() },
    });
    setRuns((list) => [
      ...list,
      {
        id,
        executionId: undefined,
        command,
        startedAt: now(),
        endedAt: undefined,
        state: 'starting',
        exit: undefined,
        error: undefined,
        cancelling: false,
        truncated: false,
      },
    ]);
    setSelected(id);

    let executionId: string;
    try {
      executionId = await options.executions.execute(options.workspaceId, { command });
    } catch (error) {
      update(id, { state: 'failed', error, endedAt: now() });
      return;
    }
    update(id, { executionId, state: 'running' });
    const follower = followExecution(
      {
        open: (lastEventId, signal) =>
          options.executions.openEvents(options.workspaceId, executionId, lastEventId, signal),
        timers: options.timers,
      },
      {
        onOutput: (stream, text) => append(id, stream, text),
        onExit: (exit) => update(id, { state: 'exited', exit, cancelling: false, endedAt: now() }),
        onStateChange: (state) => {
          if (state === 'reconnecting') update(id, { state: 'reconnecting' });
          else if (state === 'streaming') update(id, { state: 'running' });
        },
        onFailure: (error) => update(id, { state: 'failed', error, cancelling: false, endedAt: now() }),
      },
    );
    followers.set(id, follower);
    await follower.done;
    followers.delete(id);
  }

  return {
    runs,
    selected,
    select: setSelected,
    output: (id) => outputs.get(id)?.read() ?? [],
    run,
    async cancel(id) {
      const current = runs().find((r) => r.id === id);
      if (current?.executionId === undefined || current.state === 'exited' || current.state === 'failed')
        return;
      update(id, { cancelling: true });
      try {
        await options.executions.cancel(options.workspaceId, current.executionId);
      } catch (error) {
        update(id, { cancelling: false });
        throw error;
      }
    },
    clearFinished() {
      const finished = runs().filter((r) => r.state === 'exited' || r.state === 'failed');
      for (const r of finished) outputs.delete(r.id);
      const remaining = runs().filter((r) => !finished.includes(r));
      setRuns(remaining);
      if (!remaining.some((r) => r.id === selected())) setSelected(remaining[remaining.length - 1]?.id);
    },
    dispose() {
      for (const follower of followers.values()) follower.stop();
      followers.clear();
    },
  };
}
